"""The fake WhatsApp Cloud API as a Graph client sees it: /messages with Meta's checks, limits and errors, status
webhooks back on the workspace clock, the 24-hour window (131047 as a failed status), templates from the sandbox
template store, and media upload / retrieval."""

import datetime
import itertools

import httpx
import pytest

from tidings.channels.http import http_client
from tidings.channels.meta import GRAPH_VERSION
from tidings.channels.models import WebhookEvent
from tidings.core import clock
from tidings.sandbox.fake_graph.whatsapp_webhooks import (
    wa_message_button,
    wa_message_interactive_reply,
    wa_message_order,
    wa_message_text,
    wa_webhook_messages,
    wa_webhook_statuses,
    wa_webhook_template_status,
)
from tidings.sandbox.models import Persona, SandboxDelivery, SandboxTemplate
from tidings.timers.services import clock_advance

pytestmark = pytest.mark.django_db(transaction=True)

_numbers = itertools.count(1)


def make_persona(workspace, *, in_window=True, name="陳美玲"):
    wa_id = f"8526{next(_numbers):07d}"
    last = clock.now(workspace) - datetime.timedelta(hours=1) if in_window else None
    return Persona.objects.create(workspace=workspace, name=name, phone=f"+{wa_id}", whatsapp_id=wa_id,
                                  whatsapp_last_message_at=last)


class Graph:
    """A bare Graph client for the fake (what any WhatsApp SDK would send)."""

    def __init__(self, account, token=None):
        self.account = account
        self.token = account.credentials["access_token"] if token is None else token

    def url(self, *parts):
        return "/".join([self.account.base_url, GRAPH_VERSION, *parts])

    def post(self, path_parts, json=None, **kwargs) -> httpx.Response:
        with http_client() as client:
            return client.post(self.url(*path_parts), json=json, headers={"Authorization": f"Bearer {self.token}"},
                               **kwargs)

    def get(self, url, params=None) -> httpx.Response:
        with http_client() as client:
            return client.get(url, params=params, headers={"Authorization": f"Bearer {self.token}"})

    def send(self, to, message: dict, **extra) -> httpx.Response:
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **message, **extra}
        return self.post([self.account.external_id, "messages"], body)


def text(body="Your tea is ready"):
    return {"type": "text", "text": {"body": body}}


def approved_template(account, name="order_ready", language="zh_TW", status="APPROVED", category="UTILITY"):
    return SandboxTemplate.objects.create(
        account=account, template_id=str(next(_numbers) + 10 ** 14), name=name, language=language, category=category,
        status=status, components=[
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} is ready."},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"},
                                            {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}"}]},
        ])


def template_message(name="order_ready", language="zh_TW", *, header=("A12",), body=("Mei", "A12"), url=("A12",),
                     url_index="1"):
    components = []
    if header is not None:
        components.append({"type": "header", "parameters": [{"type": "text", "text": v} for v in header]})
    if body is not None:
        components.append({"type": "body", "parameters": [{"type": "text", "text": v} for v in body]})
    if url is not None:
        components.append({"type": "button", "sub_type": "url", "index": url_index,
                           "parameters": [{"type": "text", "text": v} for v in url]})
    return {"type": "template", "template": {"name": name, "language": {"policy": "deterministic", "code": language},
                                             "components": components}}


def error_of(response):
    return response.json()["error"]


def statuses_received(account):
    return [e.payload["status"] for e in WebhookEvent.objects.filter(account=account).order_by("id")
            if "status" in e.payload]


def later(workspace, seconds):
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=seconds))


def test_a_text_in_the_window_is_accepted_delivered_and_reported_sent_then_delivered(workspace, whatsapp_account):
    persona = make_persona(workspace)
    response = Graph(whatsapp_account).send(f"+{persona.whatsapp_id}", text(), biz_opaque_callback_data="42")
    assert response.status_code == 200
    body = response.json()
    wamid = body["messages"][0]["id"]
    assert body == {"messaging_product": "whatsapp", "contacts": [{"input": f"+{persona.whatsapp_id}",
                                                                  "wa_id": persona.whatsapp_id}],
                    "messages": [{"id": wamid}]}
    assert wamid.startswith("wamid.")
    [delivery] = SandboxDelivery.objects.filter(persona=persona)
    assert delivery.delivered and delivery.provider_message_id == wamid and delivery.kind == "push"
    assert delivery.payload == {"type": "text", "text": {"body": "Your tea is ready"}, "biz_opaque_callback_data": "42"}
    assert statuses_received(whatsapp_account) == []  # webhooks are timers on the workspace clock
    later(workspace, 0.5)
    assert [(s["status"], s["id"], s["biz_opaque_callback_data"]) for s in statuses_received(whatsapp_account)] == [
        ("sent", wamid, "42")]
    later(workspace, 2)
    sent, delivered = statuses_received(whatsapp_account)
    assert delivered["status"] == "delivered" and int(delivered["timestamp"]) - int(sent["timestamp"]) == 2
    assert delivered["recipient_id"] == persona.whatsapp_id


def test_outside_the_window_free_text_gets_a_wamid_then_fails_with_131047(workspace, whatsapp_account):
    persona = make_persona(workspace, in_window=False)
    response = Graph(whatsapp_account).send(persona.whatsapp_id, text())
    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    [delivery] = SandboxDelivery.objects.filter(persona=persona)
    assert delivery.delivered is False
    later(workspace, 3)
    [failed] = statuses_received(whatsapp_account)
    assert failed["status"] == "failed" and failed["id"] == wamid
    assert failed["errors"][0]["code"] == 131047 and failed["errors"][0]["title"] == "Re-engagement message"


def test_the_window_is_24_hours_from_the_persons_last_message_on_the_workspace_clock(workspace, whatsapp_account):
    persona = make_persona(workspace)
    graph = Graph(whatsapp_account)
    assert graph.send(persona.whatsapp_id, text()).status_code == 200
    later(workspace, 23 * 3600)  # 1 h + 23 h: just outside
    assert graph.send(persona.whatsapp_id, text("late")).status_code == 200
    assert list(SandboxDelivery.objects.filter(persona=persona).order_by("id").values_list("delivered", flat=True)) \
        == [True, False]


def test_an_approved_template_reaches_a_person_outside_the_window(workspace, whatsapp_account):
    persona = make_persona(workspace, in_window=False)
    approved_template(whatsapp_account)
    response = Graph(whatsapp_account).send(persona.whatsapp_id, template_message())
    assert response.status_code == 200, response.json()
    assert response.json()["messages"][0]["message_status"] == "accepted"
    [delivery] = SandboxDelivery.objects.filter(persona=persona)
    assert delivery.delivered and delivery.payload["type"] == "template"
    later(workspace, 3)
    assert [s["status"] for s in statuses_received(whatsapp_account)] == ["sent", "delivered"]
    assert statuses_received(whatsapp_account)[0]["pricing"]["category"] == "utility"


@pytest.mark.parametrize("status,code", [("PENDING", 132001), ("REJECTED", 132001), ("PAUSED", 132015),
                                         ("DISABLED", 132016), (None, 132001)])
def test_a_template_that_is_not_approved_or_missing_is_refused(workspace, whatsapp_account, status, code):
    persona = make_persona(workspace)
    if status:
        approved_template(whatsapp_account, status=status)
    response = Graph(whatsapp_account).send(persona.whatsapp_id, template_message())
    assert response.status_code in (400, 404) and error_of(response)["code"] == code
    assert not SandboxDelivery.objects.exists()


def test_a_template_in_another_language_does_not_exist(workspace, whatsapp_account):
    persona = make_persona(workspace)
    approved_template(whatsapp_account, language="en")
    response = Graph(whatsapp_account).send(persona.whatsapp_id, template_message(language="zh_TW"))
    assert error_of(response)["code"] == 132001
    assert "does not exist" in error_of(response)["message"]


@pytest.mark.parametrize("changes", [{"body": ("Mei",)}, {"header": None}, {"url": None},
                                     {"body": ("Mei", "A12", "extra")}, {"url_index": "0"}],
                         ids=["body-short", "no-header", "no-url", "body-long", "url-wrong-button"])
def test_a_parameter_count_mismatch_is_132000(workspace, whatsapp_account, changes):
    persona = make_persona(workspace)
    approved_template(whatsapp_account)
    response = Graph(whatsapp_account).send(persona.whatsapp_id, template_message(**changes))
    assert response.status_code == 400 and error_of(response)["code"] == 132000
    assert not SandboxDelivery.objects.exists()


def test_a_number_not_on_whatsapp_is_accepted_then_fails_with_131026(workspace, whatsapp_account):
    response = Graph(whatsapp_account).send("85290000000", text())
    assert response.status_code == 200
    later(workspace, 3)
    [failed] = statuses_received(whatsapp_account)
    assert failed["status"] == "failed" and failed["errors"][0]["code"] == 131026
    assert failed["errors"][0]["title"] == "Message undeliverable"
    assert not SandboxDelivery.objects.exists()


def test_another_phone_number_id_is_an_unknown_object(workspace, whatsapp_account):
    persona = make_persona(workspace)
    graph = Graph(whatsapp_account)
    response = graph.post(["111111111111111", "messages"], {"messaging_product": "whatsapp", "to": persona.whatsapp_id,
                                                            **text()})
    assert response.status_code == 400
    assert error_of(response)["code"] == 100 and error_of(response)["error_subcode"] == 33


def test_a_wrong_token_is_190_and_nothing_is_delivered(workspace, whatsapp_account):
    persona = make_persona(workspace)
    response = Graph(whatsapp_account, token="EAAwrong").send(persona.whatsapp_id, text())
    assert response.status_code == 401 and error_of(response)["code"] == 190
    assert not SandboxDelivery.objects.exists()


@pytest.mark.parametrize("message,code,details", [
    ({"type": "text", "text": {"body": "x" * 4097}}, 131009, "Text body length invalid"),
    ({"type": "text"}, 131008, "text"),
    ({"type": "sms", "sms": {}}, 100, "Unsupported message type"),
    ({"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pick"}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": str(i), "title": f"B{i}"}} for i in range(4)]}}}, 131009, "Buttons count"),
    ({"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pick"}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": "1", "title": "x" * 21}}]}}}, 131009, "Button title length"),
    ({"type": "interactive", "interactive": {"type": "list", "body": {"text": "Menu"}, "action": {
        "button": "Open", "sections": [{"title": f"S{s}", "rows": [{"id": f"{s}-{r}", "title": "Row"}
                                                                   for r in range(6)]} for s in range(2)]}}},
     131009, "Total row count"),
    ({"type": "interactive", "interactive": {"type": "list", "body": {"text": "Menu"}, "action": {
        "button": "Open", "sections": [{"rows": [{"id": "1", "title": "x" * 25}]}]}}}, 131009, "Row title length"),
    ({"type": "interactive", "interactive": {"type": "list", "body": {"text": "Menu"}, "action": {
        "button": "x" * 21, "sections": [{"rows": [{"id": "1", "title": "Row"}]}]}}}, 131009, "Button text length"),
    ({"type": "image", "image": {"id": "1234567890123456"}}, 100, "Media id"),
])
def test_bodies_meta_refuses_are_refused_with_its_codes(workspace, whatsapp_account, message, code, details):
    persona = make_persona(workspace)
    response = Graph(whatsapp_account).send(persona.whatsapp_id, message)
    assert response.status_code == 400
    assert error_of(response)["code"] == code and details in error_of(response)["error_data"]["details"]
    assert not SandboxDelivery.objects.exists()


def test_messaging_product_is_required(workspace, whatsapp_account):
    persona = make_persona(workspace)
    response = Graph(whatsapp_account).post([whatsapp_account.external_id, "messages"],
                                            {"to": persona.whatsapp_id, **text()})
    assert response.status_code == 400 and error_of(response)["code"] == 100


def test_throughput_above_the_accounts_tier_is_130429(workspace, whatsapp_account, monkeypatch):
    from tidings.sandbox import services

    monkeypatch.setattr(services, "_epoch_second", lambda: 1_000)  # every request in one wall-clock second
    whatsapp_account.settings = {**whatsapp_account.settings, "rate_limit": 80}
    whatsapp_account.save(update_fields=["settings"])
    persona = make_persona(workspace)
    graph = Graph(whatsapp_account)
    responses = [graph.send(persona.whatsapp_id, text(f"n{i}")) for i in range(81)]
    assert [r.status_code for r in responses[:80]] == [200] * 80
    assert responses[80].status_code == 400 and error_of(responses[80])["code"] == 130429
    assert SandboxDelivery.objects.count() == 80
    monkeypatch.setattr(services, "_epoch_second", lambda: 1_001)  # the next second has room again
    assert graph.send(persona.whatsapp_id, text()).status_code == 200


def test_the_pair_limit_applies_only_when_configured(workspace, whatsapp_account, settings):
    persona = make_persona(workspace)
    graph = Graph(whatsapp_account)
    assert [graph.send(persona.whatsapp_id, text()).status_code for _ in range(2)] == [200, 200]
    settings.RATE_PAIR_INTERVALS = {"whatsapp": 6.0}
    response = graph.send(persona.whatsapp_id, text())
    assert response.status_code == 400 and error_of(response)["code"] == 131056
    other = make_persona(workspace, name="Other")
    assert graph.send(other.whatsapp_id, text()).status_code == 200  # per person, not per number
    later(workspace, 6)
    assert graph.send(persona.whatsapp_id, text()).status_code == 200


def test_media_upload_then_retrieve_then_download_and_send_by_id(workspace, whatsapp_account):
    persona = make_persona(workspace)
    graph = Graph(whatsapp_account)
    png = b"\x89PNG\r\n\x1a\n" + b"tea" * 100
    uploaded = graph.post([whatsapp_account.external_id, "media"], data={"messaging_product": "whatsapp",
                                                                         "type": "image/png"},
                          files={"file": ("tea.png", png, "image/png")})
    assert uploaded.status_code == 200, uploaded.content
    media_id = uploaded.json()["id"]
    described = graph.get(graph.url(media_id))
    assert described.status_code == 200
    info = described.json()
    assert info["id"] == media_id and info["mime_type"] == "image/png" and info["file_size"] == str(len(png))
    assert info["messaging_product"] == "whatsapp" and len(info["sha256"]) == 64
    assert graph.get(info["url"]).content == png
    assert Graph(whatsapp_account, token="EAAwrong").get(info["url"]).status_code == 401
    assert graph.send(persona.whatsapp_id, {"type": "image", "image": {"id": media_id}}).status_code == 200


def test_another_accounts_media_is_not_found(workspace, whatsapp_account, make_workspace):
    from tidings.channels.services import account_create

    other_ws = make_workspace()
    other = account_create(workspace=other_ws, actor=None, channel="whatsapp", name="Other")
    uploaded = Graph(other).post([other.external_id, "media"], data={"messaging_product": "whatsapp"},
                                 files={"file": ("a.jpg", b"jpeg", "image/jpeg")})
    media_id = uploaded.json()["id"]
    response = Graph(whatsapp_account).get(Graph(whatsapp_account).url(media_id))
    assert response.status_code == 400 and error_of(response)["code"] == 100


def test_webhook_builders_produce_bodies_tidings_accepts_and_maps(workspace, whatsapp_account):
    from tidings.messaging.models import Message
    from tidings.sandbox.fake_graph.common import graph_webhook_send

    persona = make_persona(workspace)
    messages = [
        wa_message_text(whatsapp_account, persona, "你好"),
        wa_message_button(whatsapp_account, persona, "wamid.ctx1", "STOP", "Stop promotions"),
        wa_message_interactive_reply(whatsapp_account, persona, "wamid.ctx2", "list_reply", "oolong", "Oolong"),
        wa_message_order(whatsapp_account, persona, "194836987003835", [
            {"product_retailer_id": "tea-1", "quantity": 2, "item_price": 12.5, "currency": "HKD"}]),
    ]
    for message in messages:
        body = wa_webhook_messages(whatsapp_account, persona, message)
        value = body["entry"][0]["changes"][0]["value"]
        assert value["metadata"]["phone_number_id"] == whatsapp_account.external_id
        assert isinstance(message["timestamp"], str) and message["id"].startswith("wamid.")
        assert graph_webhook_send(whatsapp_account, body).status_code == 200
    contents = [m.content for m in Message.objects.filter(direction="in").order_by("id")]
    assert contents[0] == {"type": "text", "text": "你好"}
    assert contents[1] == {"type": "button_reply", "payload": "STOP", "text": "Stop promotions"}
    assert contents[2] == {"type": "list_reply", "id": "oolong", "title": "Oolong"}
    assert contents[3]["items"] == [{"product_retailer_id": "tea-1", "quantity": 2, "item_price": "12.50",
                                     "currency": "HKD"}] and contents[3]["total"] == "25.00"
    identity = Message.objects.filter(direction="in").first().identity
    assert identity.external_id == persona.whatsapp_id and identity.display_name == persona.name
    status_body = wa_webhook_statuses(whatsapp_account, [{"id": "wamid.x", "status": "read", "timestamp": "1",
                                                          "recipient_id": persona.whatsapp_id}])
    template_body = wa_webhook_template_status(whatsapp_account, "123456789012345", "order_ready", "zh_TW",
                                               "APPROVED")
    for body in (status_body, template_body):
        assert graph_webhook_send(whatsapp_account, body).status_code == 200
    kinds = list(WebhookEvent.objects.order_by("id").values_list("event_type", flat=True))
    assert kinds[-2:] == ["status.read", "template_status"]
    assert WebhookEvent.objects.latest("id").payload["value"]["event"] == "APPROVED"
