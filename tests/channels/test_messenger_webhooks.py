"""Messenger and Instagram webhooks end to end: every official example, signed, through the real webhook URL,
stored once and mapped; wrong signatures refused; the hub.challenge handshake."""

import copy
import json

import pytest
from django.test import Client

from tidings.channels.meta import signature_header
from tidings.channels.models import WebhookEvent
from tidings.contacts.models import ChannelIdentity
from tidings.messaging.models import Direction, Dispatch, EventKind, Message

from tests.support.reference import REFERENCE

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLES = REFERENCE / "meta" / "samples" / "messenger_docs_fragments"
SAMPLE_FILES = sorted(p.name for p in SAMPLES.glob("*.json"))
OBJECTS = {"messenger": "page", "instagram": "instagram"}
# The attachment example's type is a placeholder listing the kinds; each is sent as its own message.
ATTACHMENT_KINDS = {"image": "image", "video": "video", "audio": "audio", "file": "file", "reel": "video",
                    "ig_reel": "video"}


def post(account, body, *, signature=None, client=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    header = signature if signature is not None else signature_header(account.credentials["app_secret"], raw)
    return (client or Client()).post(f"/webhooks/{account.channel}/{account.public_id}", data=raw,
                                     content_type="application/json", headers={"X-Hub-Signature-256": header})


def wrap(account, items=None, entries=None) -> dict:
    if entries is None:
        entries = [{"id": account.external_id, "time": 1458692752478, "messaging": [item]} for item in items]
    return {"object": OBJECTS[account.channel], "entry": entries}


def sample(name: str):
    return json.loads((SAMPLES / name).read_text())


def outbound(account, mid: str) -> Message:
    """One of our messages, sent earlier, that Meta reports on by its mid."""
    from tidings.contacts.services import identity_upsert

    identity, _ = identity_upsert(workspace=account.workspace, account=account, external_id="<PSID>")
    dispatch = Dispatch.objects.create(workspace=account.workspace, account=account, kind="push", status="sent")
    return Message.objects.create(workspace=account.workspace, contact=identity.contact, identity=identity,
                                  account=account, channel=account.channel, content={"type": "text", "text": "Hi"},
                                  status="sent", dispatch=dispatch, position=0, provider_message_id=mid)


@pytest.fixture(params=["messenger", "instagram"])
def account(request):
    return request.getfixturevalue(f"{request.param}_account")


def test_the_folder_has_every_kind_we_map():
    names = set(SAMPLE_FILES)
    assert names == {"message_deliveries.json", "message_reads.json", "messages_attachment_entry.json",
                     "messages_text_quick_reply.json", "messaging_postbacks_with_referral.json",
                     "messaging_referrals_ad.json", "messaging_referrals_mme_link.json"}


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_official_example_is_accepted_and_mapped(name, account):
    data = sample(name)
    if name == "messages_attachment_entry.json":
        body = wrap(account, entries=[{**data, "id": account.external_id}])
    else:
        body = wrap(account, [data])
    mid = "mid.1458668856218:ed81099e15d3f4f233"
    ours = outbound(account, mid) if name == "message_deliveries.json" else None

    response = post(account, body)

    assert response.status_code == 200
    rows = list(WebhookEvent.objects.filter(account=account))
    assert len(rows) == 1
    row = rows[0]
    assert row.status in ("processed", "ignored"), row.error
    identity = ChannelIdentity.objects.filter(account=account).first()
    if name == "messages_text_quick_reply.json":
        assert row.provider_event_id == data["message"]["mid"]
        message = Message.objects.get(direction=Direction.INBOUND)
        assert message.content == {"type": "quick_reply", "text": "hello, world!",
                                   "payload": "<DEVELOPER_DEFINED_PAYLOAD>"}
        assert message.identity.external_id == "<PSID>" and identity.last_inbound_at is not None
    elif name == "messages_attachment_entry.json":
        message = Message.objects.get(direction=Direction.INBOUND)
        assert message.provider_message_id == data["messaging"][0]["message"]["mid"]
        assert message.content == {"type": "attachment", "attachment_type": "<image|video|audio|file|reel|ig_reel>",
                                   "url": "<ATTACHMENT_URL>"}
    elif name == "messaging_postbacks_with_referral.json":
        # Written as {field, value} in Meta's reference; the sender is a chat-plugin visitor (user_ref).
        message = Message.objects.get(direction=Direction.INBOUND)
        assert message.content == {"type": "postback", "data": "USER-DEFINED-PAYLOAD"}
        assert message.provider_message_id == "m_MESSAGE-ID" == row.provider_event_id
        assert message.identity.external_id == "USER-REF-ID"
        assert message.created_at.year == 2018  # "1527459824" is in seconds
    elif name.startswith("messaging_referrals"):
        assert row.event_type == "referral" and row.status == "processed"
        assert identity.external_id == "<PSID>" and identity.last_inbound_at is not None
        assert not Message.objects.exists()
    elif name == "message_deliveries.json":
        assert row.provider_event_id == f"{mid}:delivery"
        ours.refresh_from_db()
        assert ours.status == "delivered"
        assert ours.events.filter(kind=EventKind.DELIVERED).count() == 1
    elif name == "message_reads.json":
        assert row.provider_event_id == "read:<PSID>:1458668856253" and row.status == "processed"
    else:  # pragma: no cover - the folder gained a file this test does not know yet
        pytest.fail(f"unmapped sample {name}")


@pytest.mark.parametrize("kind", sorted(ATTACHMENT_KINDS))
def test_each_attachment_kind_of_the_example_becomes_content(kind, account):
    entry = sample("messages_attachment_entry.json")
    entry["id"] = account.external_id
    entry["messaging"][0]["message"]["attachments"][0]["type"] = kind
    assert post(account, wrap(account, entries=[entry])).status_code == 200
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.content["type"] == ATTACHMENT_KINDS[kind]
    assert message.content["url"] == "<ATTACHMENT_URL>"


def test_a_postback_keeps_its_referral_ref_for_binding(messenger_account):
    from tidings.channels.adapters.messenger import parser

    event = parser.parse_event(sample("messaging_postbacks_with_referral.json")["value"])
    assert (event.kind, event.user_id, event.provider_message_id) == ("postback", "USER-REF-ID", "m_MESSAGE-ID")
    assert event.data == {"data": "USER-DEFINED-PAYLOAD", "title": "TITLE-FOR-THE-CTA",
                          "ref": "USER-DEFINED-REFERRAL-PARAM", "source": "SHORT-URL", "referral_type": "OPEN_THREAD",
                          "user_ref": True}


@pytest.mark.parametrize("name", ["messaging_referrals_mme_link.json", "messaging_referrals_ad.json"])
def test_a_referral_keeps_ref_and_source(name):
    from tidings.channels.adapters.messenger import parser

    item = sample(name)
    event = parser.parse_event(item)
    assert event.kind == "referral" and event.user_id == "<PSID>"
    assert event.data["ref"] == item["referral"]["ref"]
    assert (event.data["source"], event.data["type"]) == (item["referral"]["source"], "OPEN_THREAD")
    if "ad_id" in item["referral"]:
        assert event.data["ad_id"] == "<ID_OF_THE_AD>"


def test_a_read_watermark_is_a_read_status_with_the_watermark():
    from tidings.channels.adapters.messenger import parser

    event = parser.parse_event(sample("message_reads.json"))
    assert (event.kind, event.status, event.provider_message_id) == ("status", "read", None)
    assert event.data["watermark"] == 1458668856253 and event.user_id == "<PSID>"


def test_an_instagram_seen_names_the_message_and_marks_it_read(instagram_account):
    ours = outbound(instagram_account, "aWdfZAG1faXRlbToxOklHTWVzc2FnZA")
    item = {"sender": {"id": "<PSID>"}, "recipient": {"id": instagram_account.external_id},
            "timestamp": 1458668856463, "read": {"mid": ours.provider_message_id}}
    assert post(instagram_account, wrap(instagram_account, [item])).status_code == 200
    ours.refresh_from_db()
    assert ours.status == "read"


def test_a_delivery_of_several_messages_is_one_event_per_message(messenger_account):
    first, second = outbound(messenger_account, "m_first"), outbound(messenger_account, "m_second")
    item = copy.deepcopy(sample("message_deliveries.json"))
    item["delivery"]["mids"] = ["m_first", "m_second"]
    assert post(messenger_account, wrap(messenger_account, [item])).status_code == 200
    assert set(WebhookEvent.objects.values_list("provider_event_id", flat=True)) == {
        "m_first:delivery", "m_second:delivery"}
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == "delivered"


def test_redelivered_webhooks_are_stored_once(account):
    body = wrap(account, [sample("messages_text_quick_reply.json"), sample("messaging_referrals_mme_link.json")])
    assert post(account, body).status_code == 200
    assert post(account, body).status_code == 200
    assert WebhookEvent.objects.count() == 2
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


def test_echoes_and_unknown_items_are_stored_and_ignored(account):
    echo = {"sender": {"id": account.external_id}, "recipient": {"id": "<PSID>"}, "timestamp": 1458692752478,
            "message": {"is_echo": True, "app_id": 1517776481860111, "mid": "m_echo", "text": "Hi"}}
    reaction = {"sender": {"id": "<PSID>"}, "recipient": {"id": account.external_id}, "timestamp": 1458692752478,
                "reaction": {"mid": "m_x", "action": "react", "reaction": "love", "emoji": "❤"}}
    entries = [{"id": account.external_id, "time": 1, "messaging": [echo, reaction]},
               {"id": account.external_id, "time": 1, "standby": [sample("messages_text_quick_reply.json")]},
               {"id": account.external_id, "time": 1, "changes": [{"field": "comments", "value": {"id": "1"}}]}]
    assert post(account, wrap(account, entries=entries)).status_code == 200
    rows = {r.event_type: r for r in WebhookEvent.objects.all()}
    assert set(rows) == {"message_echo", "reaction", "standby", "change:comments"}
    assert {r.status for r in rows.values()} == {"ignored"}
    assert rows["message_echo"].provider_event_id == "m_echo:echo"
    assert not Message.objects.exists() and not ChannelIdentity.objects.exists()


def test_a_messaging_change_is_read_like_a_messaging_item(account):
    change = {"field": "messages", "value": sample("messages_text_quick_reply.json")}
    entries = [{"id": account.external_id, "time": 1, "changes": [change]}]
    assert post(account, wrap(account, entries=entries)).status_code == 200
    assert Message.objects.get(direction=Direction.INBOUND).content["type"] == "quick_reply"


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, "", "sha1=abc"])
def test_a_wrong_signature_is_401_and_nothing_is_stored(account, signature):
    response = post(account, wrap(account, [sample("messages_text_quick_reply.json")]), signature=signature)
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_another_accounts_secret_does_not_pass(messenger_account, instagram_account):
    raw = json.dumps(wrap(messenger_account, [sample("messages_text_quick_reply.json")])).encode()
    forged = signature_header(instagram_account.credentials["app_secret"], raw)
    assert post(messenger_account, raw, signature=forged).status_code == 401
    assert not WebhookEvent.objects.exists()


def test_the_other_products_object_is_refused(messenger_account, instagram_account):
    page_body = wrap(messenger_account, [sample("messages_text_quick_reply.json")])
    response = post(instagram_account, page_body)
    assert response.status_code == 400 and "'instagram'" in response.json()["error"]["message"]
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"object": "page"}', b'{"object": "page", "entry": [1]}',
                                  b'{"object": "page", "entry": [{"messaging": {}}]}'])
def test_a_malformed_body_is_400(messenger_account, body):
    assert post(messenger_account, body).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_the_hub_challenge_handshake(account):
    url = f"/webhooks/{account.channel}/{account.public_id}"
    token = account.credentials["verify_token"]
    ok = Client().get(url, {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444"
    wrong = Client().get(url, {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1158201444"})
    assert wrong.status_code == 403 and b"1158201444" not in wrong.content
