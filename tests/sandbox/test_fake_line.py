"""The fake LINE Messaging API answers as LINE does: auth, limits, documented errors, retry keys, deliveries."""

import uuid

import pytest

from tidings.channels.adapters.line.signature import pnp_phone_hash
from tidings.channels.services import account_create
from tidings.sandbox.fake_line import views as fake_views
from tidings.sandbox.models import SandboxDelivery, SandboxRequest, SandboxRetryKey
from tidings.sandbox.services import sandbox_fault_inject

from .line_support import *  # noqa: F403
from .line_support import LineClient, new_user_id, text

pytestmark = pytest.mark.django_db

PUSH = "/v2/bot/message/push"
MULTICAST = "/v2/bot/message/multicast"
PNP = "/bot/pnp/push"


def deliveries(**filters):
    return list(SandboxDelivery.objects.filter(**filters).order_by("id"))


# --- auth and routing --------------------------------------------------------------------------------------------


def test_bad_or_missing_token_is_401_with_lines_message(line_account, make_persona):
    persona = make_persona()
    for client in (LineClient(line_account, token="wrong"), LineClient(line_account, token="")):
        r = client.post(PUSH, {"to": persona.line_user_id, "messages": [text()]})
        assert r.status_code == 401
        assert r.json() == {
            "message": "Authentication failed. Confirm that the access token in the authorization header is valid."
        }
    assert deliveries() == []


def test_unknown_account_is_404_and_live_accounts_are_not_served(workspace, line_account):
    r = LineClient(line_account).client.post(f"/sandbox/line/{uuid.uuid4()}{PUSH}", data="{}",
                                             content_type="application/json")
    assert r.status_code == 404
    live = account_create(workspace=workspace, actor=None, channel="line", name="Live", mode="live",
                          external_id="123", credentials={"channel_secret": "s", "access_token": "t"})
    r = LineClient(live, token="t").post(PUSH, {"to": new_user_id(), "messages": [text()]})
    assert r.status_code == 404


def test_every_request_is_logged_with_the_token_masked(line, make_persona):
    persona = make_persona()
    line.post(PUSH, {"to": persona.line_user_id, "messages": [text()]})
    LineClient(line.account, token="nope").post(PUSH, {"to": persona.line_user_id, "messages": [text()]})
    logged = list(SandboxRequest.objects.order_by("id"))
    assert [(r.path, r.response_status) for r in logged] == [(PUSH, 200), (PUSH, 401)]
    assert logged[0].headers["Authorization"] == "Bearer ***"
    assert line.token not in str(logged[0].headers)
    assert logged[0].body == {"to": persona.line_user_id, "messages": [text()]}
    assert logged[0].response_body["sentMessages"][0]["id"]


# --- push --------------------------------------------------------------------------------------------------------


def test_push_delivers_each_message_to_a_friend_and_returns_sent_messages(line, make_persona):
    persona = make_persona()
    r = line.post(PUSH, {"to": persona.line_user_id, "messages": [text("one"), text("two")]})
    assert r.status_code == 200
    sent = r.json()["sentMessages"]
    assert len(sent) == 2 and all(s["id"].isdigit() and s["quoteToken"] for s in sent)
    got = deliveries(persona=persona)
    assert [d.payload["text"] for d in got] == ["one", "two"]
    assert [d.provider_message_id for d in got] == [s["id"] for s in sent]
    assert all(d.delivered and d.kind == "push" and d.request.path == PUSH for d in got)
    assert r.headers["X-Line-Request-Id"]


def test_push_to_a_blocker_or_non_friend_is_200_and_nothing_delivered(line, make_persona):
    for persona in (make_persona("Blocker", blocked=True), make_persona("Stranger", friend=False)):
        r = line.post(PUSH, {"to": persona.line_user_id, "messages": [text()]})
        assert r.status_code == 200 and r.json()["sentMessages"]
        assert [d.delivered for d in deliveries(persona=persona)] == [False]
    assert not SandboxDelivery.objects.filter(delivered=True).exists()


def test_push_to_an_unknown_user_is_400_failed_to_send(line):
    r = line.post(PUSH, {"to": new_user_id(), "messages": [text()]})
    assert r.status_code == 400
    assert r.json() == {"message": "Failed to send messages"}


def test_more_than_five_messages_is_400(line, make_persona):
    persona = make_persona()
    r = line.post(PUSH, {"to": persona.line_user_id, "messages": [text()] * 6})
    assert r.status_code == 400
    assert r.json() == {"message": "The request body has 1 error(s)",
                        "details": [{"message": "Size must be between 1 and 5", "property": "messages"}]}
    assert deliveries() == []


def test_invalid_message_objects_are_400_with_property_paths(line, make_persona):
    persona = make_persona()
    buttons = {"type": "template", "altText": "x", "template": {
        "type": "buttons", "text": "Pick", "actions": [{"type": "uri", "label": "L" * 21, "uri": "ftp://x"}]}}
    r = line.post(PUSH, {"to": persona.line_user_id,
                         "messages": [{"type": "text", "text": ""}, {"type": "gif"}, buttons, text("x" * 5001)]})
    assert r.status_code == 400
    body = r.json()
    props = {d["property"]: d["message"] for d in body["details"]}
    assert body["message"] == f"The request body has {len(body['details'])} error(s)"
    assert props["messages[0].text"] == "May not be empty"
    assert props["messages[1].type"].startswith("Must be one of the following values: [text")
    assert props["messages[2].template.actions[0].label"] == "Length must be between 1 and 20"
    assert props["messages[2].template.actions[0].uri"] == "invalid uri scheme"
    assert props["messages[3].text"] == "Length must be between 1 and 5000"


def test_bad_json_and_wrong_content_type(line, make_persona):
    r = line.post(PUSH, "{not json", content_type="application/json")
    assert r.status_code == 400 and r.json()["message"].startswith("The request body could not be parsed as JSON")
    r = line.post(PUSH, "to=x", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415


# --- retry keys ----------------------------------------------------------------------------------------------------


def test_retry_key_repeat_is_409_with_original_sent_messages_and_no_second_delivery(line, make_persona):
    persona = make_persona()
    key = str(uuid.uuid4())
    body = {"to": persona.line_user_id, "messages": [text()]}
    first = line.post(PUSH, body, headers={"X-Line-Retry-Key": key})
    again = line.post(PUSH, body, headers={"X-Line-Retry-Key": key})
    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json() == {"message": "The retry key is already accepted", **first.json()}
    assert again.headers["X-Line-Accepted-Request-Id"] == first.headers["X-Line-Request-Id"]
    assert len(deliveries(persona=persona)) == 1


def test_retry_key_on_multicast_repeat_is_409_without_sent_messages(line, make_persona):
    persona = make_persona()
    key = str(uuid.uuid4())
    body = {"to": [persona.line_user_id], "messages": [text()]}
    assert line.post(MULTICAST, body, headers={"X-Line-Retry-Key": key}).status_code == 200
    again = line.post(MULTICAST, body, headers={"X-Line-Retry-Key": key})
    assert again.status_code == 409 and again.json() == {"message": "The retry key is already accepted"}
    assert len(deliveries(persona=persona)) == 1


def test_retry_key_must_be_a_uuid_and_is_refused_on_reply_and_pnp(line, make_persona):
    persona = make_persona()
    r = line.post(PUSH, {"to": persona.line_user_id, "messages": [text()]}, headers={"X-Line-Retry-Key": "abc"})
    assert r.status_code == 400
    r = line.post("/v2/bot/message/reply", {"replyToken": "x", "messages": [text()]},
                  headers={"X-Line-Retry-Key": str(uuid.uuid4())})
    assert r.status_code == 400
    r = line.post(PNP, {"to": pnp_phone_hash(persona.phone), "messages": [text()]},
                  headers={"X-Line-Retry-Key": str(uuid.uuid4())})
    assert r.status_code == 400
    assert deliveries() == []


def test_retry_key_is_forgotten_after_24_hours_on_the_workspace_clock(line, make_persona, workspace):
    import datetime

    from tidings.timers.services import clock_advance

    persona = make_persona()
    key = str(uuid.uuid4())
    body = {"to": persona.line_user_id, "messages": [text()]}
    assert line.post(PUSH, body, headers={"X-Line-Retry-Key": key}).status_code == 200
    clock_advance(workspace=workspace, by=datetime.timedelta(hours=24, minutes=1))
    assert line.post(PUSH, body, headers={"X-Line-Retry-Key": key}).status_code == 200
    assert len(deliveries(persona=persona)) == 2


def test_a_refused_request_does_not_spend_its_retry_key(line, make_persona):
    persona = make_persona()
    key = str(uuid.uuid4())
    assert line.post(PUSH, {"to": persona.line_user_id, "messages": []},
                     headers={"X-Line-Retry-Key": key}).status_code == 400
    assert not SandboxRetryKey.objects.exists()
    assert line.post(PUSH, {"to": persona.line_user_id, "messages": [text()]},
                     headers={"X-Line-Retry-Key": key}).status_code == 200


# --- multicast -----------------------------------------------------------------------------------------------------


def test_multicast_reaches_friends_only_and_answers_empty_object(line, make_persona):
    friend, blocker, stranger = make_persona("A"), make_persona("B", blocked=True), make_persona("C", friend=False)
    unknown = new_user_id()
    r = line.post(MULTICAST, {"to": [friend.line_user_id, blocker.line_user_id, stranger.line_user_id, unknown,
                                     friend.line_user_id], "messages": [text("hi"), text("there")]})
    assert r.status_code == 200 and r.json() == {}
    assert [d.payload["text"] for d in deliveries(persona=friend, delivered=True)] == ["hi", "there"]
    assert not SandboxDelivery.objects.filter(delivered=True).exclude(persona=friend).exists()
    assert all(d.kind == "multicast" for d in deliveries())


def test_multicast_over_500_recipients_is_400(line, make_persona):
    persona = make_persona()
    r = line.post(MULTICAST, {"to": [persona.line_user_id] + [new_user_id() for _ in range(500)],
                              "messages": [text()]})
    assert r.status_code == 400
    assert r.json()["details"] == [{"message": "Size must be between 1 and 500", "property": "to"}]
    assert deliveries() == []


def test_multicast_malformed_user_id_is_400_naming_it(line, make_persona):
    persona = make_persona()
    r = line.post(MULTICAST, {"to": [persona.line_user_id, "C123"], "messages": [text()]})
    assert r.status_code == 400
    assert r.json() == {"message": "The property, to[1], in the request body is invalid (line: -, column: -)"}


# --- PNP -----------------------------------------------------------------------------------------------------------


def test_pnp_with_a_bad_hash_is_400(line):
    for bad in ("+85291234567", "A" * 64, "a" * 63):
        r = line.post(PNP, {"to": bad, "messages": [text()]})
        assert r.status_code == 400
        assert r.json() == {"message": "The request body has 1 error(s)",
                            "details": [{"message": "The value must be a valid SHA-256 digest.", "property": "to"}]}


def test_pnp_to_a_number_with_no_line_user_is_422(line, make_persona):
    no_line = make_persona("No LINE", line=False)
    refused = make_persona("Refused", pnp_consent=False)
    for digest in (pnp_phone_hash("+85290000000"), pnp_phone_hash(no_line.phone), pnp_phone_hash(refused.phone)):
        r = line.post(PNP, {"to": digest, "messages": [text()]})
        assert r.status_code == 422 and r.json() == {"message": "Failed to send messages"}
    assert deliveries() == []


def test_pnp_delivery_tag_must_be_16_to_100_chars(line, make_persona):
    persona = make_persona()
    for tag in ("short", "x" * 101):
        r = line.post(PNP, {"to": pnp_phone_hash(persona.phone), "messages": [text()]},
                      headers={"X-Line-Delivery-Tag": tag})
        assert r.status_code == 400 and r.json()["details"][0]["property"] == "X-Line-Delivery-Tag"


def test_pnp_refuses_images(line, make_persona):
    persona = make_persona()
    image = {"type": "image", "originalContentUrl": "https://x/a.jpg", "previewImageUrl": "https://x/b.jpg"}
    r = line.post(PNP, {"to": pnp_phone_hash(persona.phone), "messages": [image]})
    assert r.status_code == 400 and r.json()["details"][0]["property"] == "messages[0].type"


def test_pnp_reaches_friends_and_non_friends_by_phone(line, make_persona):
    stranger = make_persona("Stranger", friend=False)
    r = line.post(PNP, {"to": pnp_phone_hash(stranger.phone), "messages": [text("Your order shipped")]})
    assert r.status_code == 200 and r.json() == {}
    got = deliveries(persona=stranger)
    assert [(d.kind, d.delivered, d.payload["text"]) for d in got] == [("pnp", True, "Your order shipped")]


# --- reply, profile, link token --------------------------------------------------------------------------------


def test_profile_of_a_friend_and_404_for_others(line, make_persona):
    friend = make_persona("Mei Chan")
    r = line.get(f"/v2/bot/profile/{friend.line_user_id}")
    assert r.status_code == 200
    assert r.json() == {"userId": friend.line_user_id, "displayName": "Mei Chan", "language": "en"}
    for other in (make_persona("S", friend=False), make_persona("B", blocked=True)):
        assert line.get(f"/v2/bot/profile/{other.line_user_id}").status_code == 404
    r = line.get(f"/v2/bot/profile/{new_user_id()}")
    assert r.status_code == 404 and r.json() == {"message": "Not found"}


def test_link_token_is_issued_once_per_call_and_spendable_once(line, make_persona):
    from tidings.sandbox.fake_line.services import line_link_token_use

    persona = make_persona()
    r = line.post(f"/v2/bot/user/{persona.line_user_id}/linkToken")
    assert r.status_code == 200
    token = r.json()["linkToken"]
    assert len(token) == 32
    assert line_link_token_use(line.account, token) == persona
    assert line_link_token_use(line.account, token) is None
    assert line.post(f"/v2/bot/user/{new_user_id()}/linkToken").status_code == 404


def test_reply_with_an_unknown_token_is_400(line):
    r = line.post("/v2/bot/message/reply", {"replyToken": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", "messages": [text()]})
    assert r.status_code == 400 and r.json() == {"message": "Invalid reply token"}


# --- rate limits and faults ------------------------------------------------------------------------------------


def test_rate_limit_per_account_and_endpoint_is_429(line, make_persona, monkeypatch):
    persona = make_persona()
    monkeypatch.setitem(fake_views.RATE_LIMITS, "multicast", 3)
    monkeypatch.setattr("tidings.sandbox.services._epoch_second", lambda: 1_700_000_000)
    body = {"to": [persona.line_user_id], "messages": [text()]}
    statuses = [line.post(MULTICAST, body).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert line.post(MULTICAST, body).json() == {"message": "The API rate limit has been exceeded. Try again later."}
    # Push has its own budget.
    assert line.post(PUSH, {"to": persona.line_user_id, "messages": [text()]}).status_code == 200
    # The next second has a fresh budget.
    monkeypatch.setattr("tidings.sandbox.services._epoch_second", lambda: 1_700_000_001)
    assert line.post(MULTICAST, body).status_code == 200
    assert len(deliveries(persona=persona)) == 5


def test_the_real_push_limit_is_2000_a_second_and_multicast_200():
    assert fake_views.RATE_LIMITS["push"] == 2000 and fake_views.RATE_LIMITS["multicast"] == 200


def test_injected_faults_answer_the_next_n_calls_then_stop(line, make_persona, workspace):
    persona = make_persona()
    sandbox_fault_inject(workspace=workspace, account=line.account, path=PUSH, status=500, times=2)
    body = {"to": persona.line_user_id, "messages": [text()]}
    statuses = [line.post(PUSH, body).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert len(deliveries(persona=persona)) == 1
    sandbox_fault_inject(workspace=workspace, account=line.account, path=MULTICAST, status=429)
    assert line.post(MULTICAST, {"to": [persona.line_user_id], "messages": [text()]}).status_code == 429


def test_fault_after_processing_delivers_then_fails_and_the_retry_gets_409(line, make_persona, workspace):
    """An accepted request whose answer is lost: the retry with the same key is 409 and nothing is sent twice."""
    persona = make_persona()
    sandbox_fault_inject(workspace=workspace, account=line.account, path=PUSH, status=500, after_processing=True)
    key = str(uuid.uuid4())
    body = {"to": persona.line_user_id, "messages": [text()]}
    assert line.post(PUSH, body, headers={"X-Line-Retry-Key": key}).status_code == 500
    retry = line.post(PUSH, body, headers={"X-Line-Retry-Key": key})
    assert retry.status_code == 409 and retry.json()["sentMessages"]
    assert len(deliveries(persona=persona)) == 1


def test_faults_are_per_account(line, make_persona, workspace):
    from tidings.core.errors import ServiceError

    other = account_create(workspace=workspace, actor=None, channel="line", name="Second OA")
    persona = make_persona()
    sandbox_fault_inject(workspace=workspace, account=other, path=PUSH, status=500)
    assert line.post(PUSH, {"to": persona.line_user_id, "messages": [text()]}).status_code == 200
    with pytest.raises(ServiceError):
        sandbox_fault_inject(workspace=workspace, account=line.account, path=PUSH, status=200)


def test_unimplemented_paths_answer_404_and_are_logged(line):
    r = line.get("/v2/bot/message/quota")
    assert r.status_code == 404 and r.json() == {"message": "Not found"}
    assert SandboxRequest.objects.filter(path="/v2/bot/message/quota", response_status=404).exists()
