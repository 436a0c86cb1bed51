"""WhatsApp webhooks end to end: every official sample, signed with the account's app secret and POSTed to the real
receiver, is stored once and mapped (inbound messages, statuses on our messages, orders with decimal prices);
unknown kinds are stored and ignored; bad signatures and the hub.challenge handshake."""

import json
from decimal import Decimal

import pytest
from django.test import Client

from tidings.channels.meta import signature_header
from tidings.channels.models import WebhookEvent
from tidings.contacts.models import ChannelIdentity
from tidings.messaging.models import Direction, Message, MessageEvent

from tests.support.reference import REFERENCE

SAMPLES = REFERENCE / "meta" / "samples"
SAMPLE_FILES = sorted(
    [f"whatsapp_webhooks/{p.name}" for p in (SAMPLES / "whatsapp_webhooks").glob("*.json")]
    + [f"whatsapp_webhooks_docs/{p.name}" for p in (SAMPLES / "whatsapp_webhooks_docs").glob("*.json")]
)

# What particular samples must become (content of the inbound message, by sample file).
EXPECTED_CONTENT = {
    "whatsapp_webhooks/order_message.json": {
        "type": "order", "catalog_id": "194836987003835", "text": "", "total": "85.00", "items": [
            {"product_retailer_id": "di9ozbzfi4", "quantity": 2, "item_price": "30.00", "currency": "USD"},
            {"product_retailer_id": "nqryix03ez", "quantity": 1, "item_price": "25.00", "currency": "USD"}]},
    "whatsapp_webhooks/button_message.json": {"type": "button_reply", "payload": "Unsubscribe", "text": "Unsubscribe"},
    "whatsapp_webhooks/text_message.json": {"type": "text"},
    "whatsapp_webhooks/interactive_button_reply_message.json": {"type": "button_reply"},
    "whatsapp_webhooks/interactive_list_reply_message.json": {"type": "list_reply"},
    "whatsapp_webhooks/image_message.json": {"type": "image"},
    "whatsapp_webhooks/location_message.json": {"type": "location"},
    "whatsapp_webhooks/contact_sharing_message.json": {"type": "contacts"},
    "whatsapp_webhooks/reaction_message.json": {"type": "reaction"},
    "whatsapp_webhooks/unsupported_message.json": {"type": "unsupported"},
    "whatsapp_webhooks/system_message.json": {"type": "system", "system_type": "user_changed_number"},
    "whatsapp_webhooks_docs/audio_example_1.json": {"type": "audio"},
    "whatsapp_webhooks_docs/video_example_1.json": {"type": "video"},
    "whatsapp_webhooks_docs/document_example_1.json": {"type": "document"},
    "whatsapp_webhooks_docs/sticker_example_1.json": {"type": "sticker"},
}


def post_whatsapp(account, body, *, signature=None, client=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"X-Hub-Signature-256": signature if signature is not None
               else signature_header(account.credentials["app_secret"], raw)}
    return (client or Client()).post(f"/webhooks/whatsapp/{account.public_id}", data=raw,
                                      content_type="application/json", headers=headers)


def _changes(data: dict):
    for entry in data["entry"]:
        yield from entry.get("changes", [])


def _our_type(message: dict) -> str:
    if message["type"] == "button":
        return "button_reply"
    if message["type"] == "interactive":
        return message["interactive"]["type"]
    return message["type"]


def _assert_order(content: dict, order: dict) -> None:
    """Prices kept as exact decimal strings, quantities as integers, the total their sum."""
    items = order["product_items"]
    assert [i["product_retailer_id"] for i in content["items"]] == [i["product_retailer_id"] for i in items]
    assert [i["quantity"] for i in content["items"]] == [int(i["quantity"]) for i in items]
    for ours, theirs in zip(content["items"], items, strict=True):
        assert isinstance(ours["item_price"], str) and Decimal(ours["item_price"]) == Decimal(str(theirs["item_price"]))
    assert Decimal(content["total"]) == sum(Decimal(str(i["item_price"])) * int(i["quantity"]) for i in items)


def test_the_folders_hold_every_kind_we_map():
    kinds, fields, statuses = set(), set(), set()
    for name in SAMPLE_FILES:
        for change in _changes(json.loads((SAMPLES / name).read_text())):
            fields.add(change["field"])
            kinds |= {m["type"] for m in change["value"].get("messages", [])}
            statuses |= {s["status"] for s in change["value"].get("statuses", [])}
    assert {"text", "image", "button", "interactive", "order", "reaction", "system", "unsupported"} <= kinds
    assert {"sent", "failed"} <= statuses
    assert {"messages", "message_template_status_update", "group_lifecycle_update"} <= fields


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sample", SAMPLE_FILES)
def test_every_official_sample_is_stored_and_mapped(sample, whatsapp_account):
    from tidings.contacts.models import Contact

    body = (SAMPLES / sample).read_bytes()  # the official bytes, signed as Meta signs them
    data = json.loads(body)
    reported = {}
    for change in _changes(data):
        for status in change["value"].get("statuses", []):
            contact = Contact.objects.create(workspace=whatsapp_account.workspace, name="Sheena")
            identity = ChannelIdentity.objects.create(
                workspace=whatsapp_account.workspace, contact=contact, account=whatsapp_account, channel="whatsapp",
                external_id=status["recipient_id"])
            reported[status["id"]] = Message.objects.create(
                workspace=whatsapp_account.workspace, contact=contact, identity=identity, account=whatsapp_account,
                channel="whatsapp", content={"type": "text", "text": "hi"}, status="sent",
                provider_message_id=status["id"])

    response = post_whatsapp(whatsapp_account, body)

    assert response.status_code == 200, response.content
    rows = list(WebhookEvent.objects.filter(account=whatsapp_account))
    assert rows and all(r.status != "failed" for r in rows), [(r.event_type, r.error) for r in rows]
    for change in _changes(data):
        value = change["value"]
        for message in value.get("messages", []) if change["field"] == "messages" else []:
            inbound = Message.objects.get(account=whatsapp_account, direction=Direction.INBOUND,
                                          provider_message_id=message["id"])
            assert inbound.identity.external_id == message["from"]
            expected = EXPECTED_CONTENT.get(sample, {"type": _our_type(message)})
            assert {k: inbound.content.get(k) for k in expected} == expected, inbound.content
            if message["type"] == "order":
                _assert_order(inbound.content, message["order"])
            contact_names = [c["profile"]["name"] for c in value.get("contacts", []) if "profile" in c]
            if contact_names:
                assert inbound.identity.display_name == contact_names[0]
        for status in value.get("statuses", []):
            message = reported[status["id"]]
            event = MessageEvent.objects.get(message=message, kind=status["status"])
            if status["status"] == "failed":
                message.refresh_from_db()
                assert message.status == "failed"
                assert event.data["code"] == status["errors"][0]["code"]
                assert message.error["title"] == status["errors"][0]["title"]
        if not value.get("messages") and not value.get("statuses"):
            # template status updates go to the templates app; quality, groups, preferences… are kept and ignored
            expected_status = "processed" if change["field"] == "message_template_status_update" else "ignored"
            assert [r.status for r in rows] == [expected_status]
            assert not Message.objects.filter(account=whatsapp_account).exclude(
                provider_message_id__in=list(reported)).exists()


@pytest.mark.django_db(transaction=True)
def test_a_click_to_whatsapp_ad_keeps_its_referral_and_the_product_context(whatsapp_account):
    from tidings.channels.registry import adapter_for

    adapter = adapter_for("whatsapp")
    for name, key in (("text_message_from_click_to_whatsapp_ad.json", "referral"),
                      ("text_message_with_context_product_inquiry.json", "context")):
        body = (SAMPLES / "whatsapp_webhooks" / name).read_bytes()
        assert post_whatsapp(whatsapp_account, body).status_code == 200
        [item] = adapter.split_webhook(whatsapp_account, None, body)
        event = adapter.parse_event(whatsapp_account, item.payload)
        assert event.kind == "message" and event.data[key] == json.loads(body)["entry"][0]["changes"][0]["value"][
            "messages"][0][key]
    assert Message.objects.filter(account=whatsapp_account, direction="in").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_webhook_is_stored_once(whatsapp_account):
    body = (SAMPLES / "whatsapp_webhooks" / "text_message.json").read_bytes()
    assert post_whatsapp(whatsapp_account, body).status_code == 200
    assert post_whatsapp(whatsapp_account, body).status_code == 200
    assert WebhookEvent.objects.filter(account=whatsapp_account).count() == 1
    assert Message.objects.filter(account=whatsapp_account, direction="in").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "sha1=abc"], ids=["missing", "wrong", "scheme"])
def test_a_wrong_or_missing_signature_is_401_and_nothing_is_stored(whatsapp_account, signature):
    body = (SAMPLES / "whatsapp_webhooks" / "text_message.json").read_bytes()
    raw_client = Client()
    if signature:
        response = post_whatsapp(whatsapp_account, body, signature=signature, client=raw_client)
    else:
        response = raw_client.post(f"/webhooks/whatsapp/{whatsapp_account.public_id}", data=body,
                                   content_type="application/json")
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_body_signed_with_another_accounts_secret_is_refused(whatsapp_account):
    body = (SAMPLES / "whatsapp_webhooks" / "text_message.json").read_bytes()
    assert post_whatsapp(whatsapp_account, body, signature=signature_header("not-the-secret", body)).status_code == 401
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"entry": {}}', b'{"entry": [{"changes": ["x"]}]}'])
def test_a_malformed_body_is_400_and_nothing_is_stored(whatsapp_account, raw):
    assert post_whatsapp(whatsapp_account, raw).status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_the_hub_challenge_is_echoed_only_with_the_right_verify_token(whatsapp_account):
    client = Client()
    url = f"/webhooks/whatsapp/{whatsapp_account.public_id}"
    token = whatsapp_account.credentials["verify_token"]
    ok = client.get(url, {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444"
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "4242424242"},
                   {"hub.mode": "subscribe", "hub.challenge": "4242424242"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": token, "hub.challenge": "4242424242"}):
        refused = client.get(url, params)
        assert refused.status_code == 403 and b"4242424242" not in refused.content
