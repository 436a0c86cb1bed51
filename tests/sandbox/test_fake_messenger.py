"""The fake Messenger / Instagram Send API on its own: what it accepts and records, Meta's errors for what Meta
refuses, the window and tags, the delivery webhook back, and the webhook builders' shapes."""

import datetime
import json

import pytest
from django.test import Client

from tidings.channels.models import WebhookEvent
from tidings.core import clock
from tidings.sandbox.fake_graph import messenger_webhooks as mw
from tidings.sandbox.models import Persona, SandboxDelivery, SandboxRequest
from tidings.timers.services import clock_advance

from tests.support.reference import REFERENCE

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLES = REFERENCE / "meta" / "samples" / "messenger_docs_fragments"
PSID, IGSID = "1000000000000001", "17841400000000001"


@pytest.fixture
def persona(workspace):
    now = clock.now(workspace)
    return Persona.objects.create(workspace=workspace, name="Mei", phone="+85261234567", messenger_psid=PSID,
                                  messenger_last_message_at=now, instagram_igsid=IGSID, instagram_last_message_at=now)


def post(account, body, *, page=None, token=None):
    headers = {"Authorization": f"Bearer {token if token is not None else account.credentials['access_token']}"}
    url = f"/sandbox/graph/{account.public_id}/v23.0/{page or account.external_id}/messages"
    raw = body if isinstance(body, bytes) else json.dumps(body)
    return Client().post(url, data=raw, content_type="application/json", headers=headers)


def text_body(account, text="Hi", **extra):
    recipient = IGSID if account.channel == "instagram" else PSID
    return {"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": {"text": text}, **extra}


def error_of(response) -> tuple:
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("error_subcode"), error["message"]


@pytest.fixture(params=["messenger", "instagram"])
def account(request):
    return request.getfixturevalue(f"{request.param}_account")


def test_a_text_is_accepted_recorded_and_reported_delivered(messenger_account, persona):
    response = post(messenger_account, text_body(messenger_account))
    assert response.status_code == 200
    body = response.json()
    assert body["recipient_id"] == PSID and body["message_id"].startswith("m_")
    delivery = SandboxDelivery.objects.get()
    assert (delivery.persona, delivery.provider, delivery.channel, delivery.kind) == (
        persona, "messenger", "messenger", "push")
    assert delivery.payload == {"message": {"text": "Hi"}, "messaging_type": "RESPONSE"}
    assert delivery.provider_message_id == body["message_id"]
    logged = SandboxRequest.objects.get(account=messenger_account)
    assert (logged.provider, logged.path, logged.response_status) == (
        "messenger", f"/v23.0/{messenger_account.external_id}/messages", 200)

    clock_advance(workspace=messenger_account.workspace, by=datetime.timedelta(seconds=2))
    [event] = WebhookEvent.objects.filter(account=messenger_account)
    assert event.provider_event_id == f"{body['message_id']}:delivery" and event.event_type == "delivery"
    assert event.payload["delivery"]["mids"] == [body["message_id"]]
    assert event.payload["sender"] == {"id": PSID}


def test_instagram_answers_but_sends_no_delivery_webhook(instagram_account, persona):
    response = post(instagram_account, text_body(instagram_account))
    assert response.status_code == 200 and response.json()["recipient_id"] == IGSID
    assert SandboxDelivery.objects.get().channel == "instagram"
    clock_advance(workspace=instagram_account.workspace, by=datetime.timedelta(seconds=5))
    assert not WebhookEvent.objects.exists()


def test_me_is_the_page_of_the_token(account, persona):
    assert post(account, text_body(account), page="me").status_code == 200


def test_another_object_id_is_graphs_unsupported_request(account, persona):
    status, code, subcode, message = error_of(post(account, text_body(account), page="123456"))
    assert (status, code, subcode) == (400, 100, 33) and "Object with ID '123456' does not exist" in message


def test_a_bad_token_is_190(account, persona):
    status, code, _sub, _msg = error_of(post(account, text_body(account), token="EAAwrong"))
    assert (status, code) == (401, 190)
    assert not SandboxDelivery.objects.exists()


def test_an_unknown_recipient_is_no_matching_user(account, persona):
    body = {**text_body(account), "recipient": {"id": "999"}}
    assert error_of(post(account, body)) == (400, 100, 2018001, "(#100) No matching user found")


def test_outside_the_window_only_an_allowed_tag_goes(messenger_account, persona):
    Persona.objects.filter(pk=persona.pk).update(messenger_last_message_at=clock.now(persona.workspace)
                                                 - datetime.timedelta(days=3))
    status, code, subcode, message = error_of(post(messenger_account, text_body(messenger_account)))
    assert (status, code, subcode) == (400, 10, 2018278) and "outside of allowed window" in message
    update = text_body(messenger_account, messaging_type="UPDATE")
    assert error_of(post(messenger_account, update))[1:3] == (10, 2018278)
    tagged = text_body(messenger_account, messaging_type="MESSAGE_TAG", tag="POST_PURCHASE_UPDATE")
    assert post(messenger_account, tagged).status_code == 200
    assert SandboxDelivery.objects.get().payload["tag"] == "POST_PURCHASE_UPDATE"
    human = text_body(messenger_account, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    assert post(messenger_account, human).status_code == 200
    Persona.objects.filter(pk=persona.pk).update(messenger_last_message_at=clock.now(persona.workspace)
                                                 - datetime.timedelta(days=8))
    assert error_of(post(messenger_account, human))[1:3] == (10, 2018278)


def test_a_persona_who_never_wrote_is_outside_the_window(messenger_account, persona):
    Persona.objects.filter(pk=persona.pk).update(messenger_last_message_at=None)
    assert error_of(post(messenger_account, text_body(messenger_account)))[1:3] == (10, 2018278)


@pytest.mark.parametrize("channel, extra, words", [
    ("messenger", {"messaging_type": "MESSAGE_TAG"}, "Param tag must be one of {CONFIRMED_EVENT_UPDATE"),
    ("messenger", {"messaging_type": "MESSAGE_TAG", "tag": "PROMOTION"}, "Param tag must be one of"),
    ("instagram", {"messaging_type": "MESSAGE_TAG", "tag": "POST_PURCHASE_UPDATE"},
     "Param tag must be one of {HUMAN_AGENT}"),
    ("messenger", {"tag": "ACCOUNT_UPDATE"}, "only allowed with messaging_type MESSAGE_TAG"),
    ("messenger", {"messaging_type": "PROMO"}, "Param messaging_type must be one of"),
])
def test_wrong_messaging_types_and_tags_are_refused(request, persona, channel, extra, words):
    account = request.getfixturevalue(f"{channel}_account")
    body = text_body(account, **extra)
    if "messaging_type" not in extra:
        body["messaging_type"] = "RESPONSE"
    status, code, _sub, message = error_of(post(account, body))
    assert (status, code) == (400, 100) and words in message
    assert not SandboxDelivery.objects.exists()


def _template(payload):
    return {"attachment": {"type": "template", "payload": payload}}


WEB = {"type": "web_url", "url": "https://acme.test", "title": "Open"}
POSTBACK = {"type": "postback", "title": "Yes", "payload": "yes"}
CALL = {"type": "phone_number", "title": "Call", "payload": "+85230001234"}


@pytest.mark.parametrize("channel, message, words", [
    ("messenger", {"text": "x" * 2001}, "message[text] must be less than or equal to 2000"),
    ("instagram", {"text": "茶" * 334}, "message[text] must be less than or equal to 1000 bytes"),
    ("messenger", {"text": "Hi", "attachment": {"type": "image", "payload": {"url": "https://a.test/i.jpg"}}},
     "exactly one of text or attachment"),
    ("messenger", {}, "exactly one of text or attachment"),
    ("messenger", {"attachment": {"type": "image", "payload": {"url": "not a url"}}}, "must be a valid URL"),
    ("messenger", {"attachment": {"type": "sticker", "payload": {}}}, "message[attachment][type] must be one of"),
    ("messenger", _template({"template_type": "button", "text": "x" * 641, "buttons": [WEB]}), "640"),
    ("messenger", _template({"template_type": "button", "text": "Hi", "buttons": [WEB] * 4}), "1 to 3 buttons"),
    ("messenger", _template({"template_type": "button", "text": "Hi", "buttons": []}), "1 to 3 buttons"),
    ("messenger", _template({"template_type": "button", "text": "Hi", "buttons": [{**WEB, "title": "t" * 21}]}),
     "[title] must be less than or equal to 20"),
    ("messenger", _template({"template_type": "button", "text": "Hi", "buttons": [{**CALL, "payload": "3000"}]}),
     "phone number"),
    ("instagram", _template({"template_type": "button", "text": "Hi", "buttons": [CALL]}),
     "[type] must be one of {web_url, postback}"),
    ("messenger", _template({"template_type": "generic", "elements": [{"title": "t"}] * 11}), "1 to 10 elements"),
    ("messenger", _template({"template_type": "generic", "elements": [{"title": "t" * 81}]}), "80"),
    ("messenger", _template({"template_type": "generic", "elements": [{"title": "t", "subtitle": "s" * 81}]}),
     "[subtitle] must be less than or equal to 80"),
    ("messenger", _template({"template_type": "receipt"}), "must be one of {button, generic} in the sandbox"),
    ("messenger", {"text": "Hi", "quick_replies": [{"content_type": "text", "title": "q", "payload": "q"}] * 14},
     "1 to 13 quick replies"),
    ("messenger", {"text": "Hi", "quick_replies": [{"content_type": "text", "title": "q" * 21, "payload": "q"}]},
     "[title] must be less than or equal to 20"),
    ("instagram", {"text": "Hi", "quick_replies": [{"content_type": "user_email"}]}, "must be one of {text}"),
])
def test_messages_meta_refuses_are_refused(request, persona, channel, message, words):
    account = request.getfixturevalue(f"{channel}_account")
    response = post(account, {**text_body(account), "message": message})
    status, code, _sub, text = error_of(response)
    assert (status, code) == (400, 100) and text.startswith("(#100)") and words in text
    assert not SandboxDelivery.objects.exists()


def test_the_limits_themselves_are_accepted(messenger_account, persona):
    messages = [
        {"text": "x" * 2000, "quick_replies": [{"content_type": "text", "title": "q" * 20, "payload": "q"}] * 13},
        _template({"template_type": "button", "text": "x" * 640, "buttons": [WEB, POSTBACK, CALL]}),
        _template({"template_type": "generic", "elements": [
            {"title": "t" * 80, "subtitle": "s" * 80, "image_url": "https://a.test/i.jpg",
             "buttons": [WEB, POSTBACK, CALL]}] * 10}),
        {"attachment": {"type": "image", "payload": {"url": "https://a.test/i.jpg"}},
         "quick_replies": [{"content_type": "user_phone_number"}]},
    ]
    for message in messages:
        assert post(messenger_account, {**text_body(messenger_account), "message": message}).status_code == 200
    assert SandboxDelivery.objects.count() == 4


def test_a_sender_action_is_answered_and_delivers_nothing(account, persona):
    recipient = text_body(account)["recipient"]
    response = post(account, {"recipient": recipient, "sender_action": "typing_on"})
    assert response.status_code == 200 and response.json() == {"recipient_id": recipient["id"]}
    assert not SandboxDelivery.objects.exists()


def test_a_body_that_is_not_json_is_100(account, persona):
    assert error_of(post(account, b"{oops"))[:2] == (400, 100)


def test_above_300_per_second_is_graphs_throttling_error(account, persona, monkeypatch):
    from tidings.sandbox.fake_graph import messenger

    assert messenger.RATE_LIMIT == 300
    counts = iter([300, 301])
    monkeypatch.setattr("tidings.sandbox.fake_graph.common.sandbox_rate_count", lambda *, key: next(counts))
    assert post(account, text_body(account)).status_code == 200  # the 300th request of this second
    assert error_of(post(account, text_body(account)))[:2] == (429, 4)  # the 301st
    assert SandboxDelivery.objects.count() == 1


def test_the_shared_messages_path_is_answered_by_the_accounts_own_product(client, whatsapp_account,
                                                                          messenger_account):
    """/v23.0/<id>/messages is WhatsApp's and Messenger's send: the account decides which fake answers."""
    from tidings.sandbox.models import SandboxRequest

    for account in (whatsapp_account, messenger_account):
        client.post(f"/sandbox/graph/{account.public_id}/v23.0/{account.external_id}/messages", data={},
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {account.credentials['access_token']}")
    assert list(SandboxRequest.objects.order_by("id").values_list("provider", flat=True)) == ["whatsapp", "messenger"]


# --- webhook builders ------------------------------------------------------------------------------------------


def _shape(value):
    """Keys all the way down (lists by their first element): what a builder must match of an official example."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if not isinstance(value, int) else "int"


def _official(name):
    return json.loads((SAMPLES / name).read_text())


def test_builders_are_shaped_like_the_official_examples(messenger_account, persona):
    def same(built, official, *, drop=()):
        official = {k: v for k, v in official.items() if k not in drop}
        assert _shape(built) == _shape(official)

    text = mw.mg_message_text(messenger_account, persona, "hello")
    assert set(text) == {"sender", "recipient", "timestamp", "message"} and set(text["message"]) == {"mid", "text"}
    same(mw.mg_quick_reply(messenger_account, persona, "Red", "colour=red"),
         _official("messages_text_quick_reply.json"))
    same(mw.mg_referral(messenger_account, persona, "bind-42"), _official("messaging_referrals_mme_link.json"))
    same(mw.mg_delivery(messenger_account, persona, ["m_1"]), _official("message_deliveries.json"))
    same(mw.mg_read(messenger_account, persona), _official("message_reads.json"))
    postback = mw.mg_postback(messenger_account, persona, "Start", "GET_STARTED", ref="bind-42")
    official = _official("messaging_postbacks_with_referral.json")["value"]
    official["sender"] = {"id": "<PSID>"}  # the example is a chat-plugin visitor (user_ref); ours are PSIDs
    official["timestamp"] = 1527459824000
    same(postback, official)
    assert postback["postback"]["referral"]["ref"] == "bind-42"
    assert "referral" not in mw.mg_postback(messenger_account, persona, "Start", "GET_STARTED")["postback"]


def test_builders_use_the_workspace_clock_and_the_channels_ids(instagram_account, persona):
    clock_advance(workspace=instagram_account.workspace, by=datetime.timedelta(days=30))
    instagram_account.workspace.refresh_from_db()
    item = mw.mg_message_text(instagram_account, persona, "hello")
    assert item["sender"] == {"id": IGSID} and item["recipient"] == {"id": instagram_account.external_id}
    expected = clock.now(instagram_account.workspace).timestamp() * 1000
    assert abs(item["timestamp"] - expected) < 5000
    assert mw.mg_read(instagram_account, persona, "m_7")["read"] == {"mid": "m_7"}
    body = mw.mg_webhook_body(instagram_account, [item, mw.mg_referral(instagram_account, persona, "r")])
    assert body["object"] == "instagram" and len(body["entry"]) == 2
    assert body["entry"][0]["id"] == instagram_account.external_id and body["entry"][0]["messaging"] == [item]


def test_built_webhooks_are_accepted_by_tidings(account, persona):
    from tidings.sandbox.fake_graph.common import graph_webhook_send

    items = [mw.mg_message_text(account, persona, "hi"), mw.mg_quick_reply(account, persona, "Red", "red"),
             mw.mg_postback(account, persona, "Start", "GET_STARTED", ref="bind-1"),
             mw.mg_referral(account, persona, "bind-2")]
    assert graph_webhook_send(account, mw.mg_webhook_body(account, items)).status_code == 200
    rows = list(WebhookEvent.objects.filter(account=account).order_by("id"))
    assert [r.event_type for r in rows] == ["message", "message", "postback", "referral"]
    assert {r.status for r in rows} == {"processed"}
