"""The simulated phone pages: who may open them, what they show, and that their buttons act through webhooks."""

import re

import pytest

from tidings.core.roles import Role
from tidings.messaging.services import message_send
from tidings.sandbox.models import SandboxInteraction

from .persona_support import *  # noqa: F403
from .persona_support import inbound
from .test_personas import CAROUSEL

pytestmark = pytest.mark.django_db(transaction=True)

RICH = [
    {"type": "text", "text": "Hi 陳小姐", "quick_replies": [{"type": "message", "label": "Menu", "text": "menu"}]},
    {"type": "image", "url": "https://cdn.example.test/tea.jpg", "preview_url": "https://cdn.example.test/tea-s.jpg"},
    {"type": "imagemap", "base_url": "https://cdn.example.test/map", "height": 520, "alt_text": "Menu map",
     "actions": [{"type": "message", "text": "left", "label": "Left", "area": {"x": 0, "y": 0, "width": 520, "height": 520}},
                 {"type": "uri", "uri": "https://shop.example.test/right", "label": "Right",
                  "area": {"x": 520, "y": 0, "width": 520, "height": 520}}]},
    {"type": "coupon", "title": "九折優惠", "description": "10% off any tea", "code": "TEA10",
     "valid_until": "2026-12-31", "button": {"type": "uri", "label": "Claim", "uri": "https://shop.example.test/c"}},
]


@pytest.fixture
def admin_client(workspace, make_member, console_client):
    return console_client(make_member(workspace, Role.ADMIN))


def _tap_value(html, label):
    match = re.search(r'name="button" value="(\d+)"[^>]*>' + re.escape(label), html)
    assert match, f"no button {label!r}"
    return match.group(1)


def test_who_may_open_the_phones(workspace, make_member, console_client, client, accounts, new_persona,
                                 make_workspace):
    persona = new_persona()
    for role, status in ((Role.ADMIN, 200), (Role.SUPERVISOR, 200), (Role.MARKETER, 403), (Role.CS_AGENT, 403)):
        c = console_client(make_member(workspace, role))
        assert c.get("/sandbox/phones").status_code == status
        assert c.get(f"/sandbox/phone/{persona.pk}").status_code == status
    assert client.get("/sandbox/phones").status_code == 302
    live_admin = console_client(make_member(make_workspace(sandbox=False), Role.ADMIN))
    assert live_admin.get("/sandbox/phones").status_code == 404


def test_list_shows_flags(admin_client, accounts, new_persona):
    new_persona("Friend Fay")
    new_persona("Blocked Bo", blocked=True)
    new_persona("Stranger Sue", friend=False)
    new_persona("Landline Lam", line=False)
    html = admin_client.get("/sandbox/phones").content.decode()
    for name, flag in (("Friend Fay", "Friend"), ("Blocked Bo", "Blocked"), ("Stranger Sue", "Not a friend"),
                       ("Landline Lam", "No LINE account")):
        row = re.search(re.escape(name) + r".*?</tr>", html, re.S).group(0)
        assert flag in row


def test_phone_renders_line_kinds_and_taps_them(workspace, admin_client, accounts, new_persona):
    persona = new_persona()
    message_send(workspace=workspace, contact=persona.contact, channel="line", contents=[CAROUSEL], purpose="chat")
    message_send(workspace=workspace, contact=persona.contact, channel="line", contents=RICH, purpose="chat")
    html = admin_client.get(f"/sandbox/phone/{persona.pk}").content.decode()
    assert 'data-type="carousel"' in html and "烏龍茶" in html and "Buy oolong" in html
    assert 'data-type="image"' in html and "tea-s.jpg" in html
    assert 'data-type="imagemap"' in html and "https://cdn.example.test/map/1040" in html
    assert 'data-type="flex"' in html and "九折優惠" in html and "TEA10" in html
    assert 'class="quick-reply"' not in html  # chips belong to the latest message only: the coupon has none
    # Showing the messages counted one impression each for LINE's statistics, however often the phone is opened.
    admin_client.get(f"/sandbox/phone/{persona.pk}")
    assert SandboxInteraction.objects.filter(kind="impression").count() == 5

    carousel_id = re.search(r'data-delivery="(\d+)" data-type="carousel"', html).group(1)
    response = admin_client.post(f"/sandbox/phone/{persona.pk}/act", {
        "tab": "line", "action": "tap", "delivery": carousel_id, "button": _tap_value(html, "Buy green"),
    }, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert inbound(persona)[-1].content == {"type": "postback", "data": "buy=green"}
    assert "I&#x27;ll take green" in response.content.decode()  # LINE shows the display text as the user's words

    flex_id = re.search(r'data-delivery="(\d+)" data-type="flex"', html).group(1)
    response = admin_client.post(f"/sandbox/phone/{persona.pk}/act", {
        "tab": "line", "action": "tap", "delivery": flex_id, "button": _tap_value(html, "Claim"),
    }, headers={"HX-Request": "true"})
    assert "data-opened-link" in response.content.decode() and "https://shop.example.test/c" in response.content.decode()
    assert SandboxInteraction.objects.filter(kind="click").count() == 1


def test_composer_toolbar_and_states(workspace, admin_client, accounts, new_persona):
    persona = new_persona()
    url = f"/sandbox/phone/{persona.pk}/act"
    admin_client.post(url, {"tab": "line", "action": "send", "text": "早晨"}, headers={"HX-Request": "true"})
    assert inbound(persona)[-1].content == {"type": "text", "text": "早晨"}
    response = admin_client.post(url, {"tab": "line", "action": "block"}, headers={"HX-Request": "true"})
    assert 'data-state="blocked"' in response.content.decode()
    response = admin_client.post(url, {"tab": "line", "action": "send", "text": "hi"}, headers={"HX-Request": "true"})
    assert "toast-error" in response.content.decode()
    response = admin_client.post(url, {"tab": "line", "action": "follow"}, headers={"HX-Request": "true"})
    assert 'data-state="blocked"' not in response.content.decode()
    response = admin_client.post(url, {"tab": "line", "action": "consent_pnp"}, headers={"HX-Request": "true"})
    assert 'data-state="pnp"' in response.content.decode()
    # Without htmx the form posts and comes back to the phone.
    response = admin_client.post(url, {"tab": "sms", "action": "send", "text": "Yes"})
    assert response.status_code == 302 and response["Location"] == f"/sandbox/phone/{persona.pk}?tab=sms"
    html = admin_client.get(f"/sandbox/phone/{persona.pk}?tab=sms").content.decode()
    assert "chat-sms" in html and ">Yes<" in html


def test_not_friend_and_no_line_banners(admin_client, accounts, new_persona):
    stranger = new_persona(friend=False)
    assert 'data-state="not-friend"' in admin_client.get(f"/sandbox/phone/{stranger.pk}").content.decode()
    no_line = new_persona(line=False)
    assert 'data-state="no-line"' in admin_client.get(f"/sandbox/phone/{no_line.pk}").content.decode()


def test_polling_answers_204_until_something_changes(workspace, admin_client, accounts, new_persona):
    persona = new_persona()
    html = admin_client.get(f"/sandbox/phone/{persona.pk}").content.decode()
    version = re.search(r'data-version="([^"]+)"', html).group(1)
    chat = f"/sandbox/phone/{persona.pk}/chat?tab=line&v={version}"
    assert admin_client.get(chat).status_code == 204
    message_send(workspace=workspace, contact=persona.contact, channel="line",
                 contents=[{"type": "text", "text": "New!"}], purpose="chat")
    response = admin_client.get(chat)
    assert response.status_code == 200 and "New!" in response.content.decode()


def test_another_workspaces_delivery_cannot_be_tapped(workspace, admin_client, accounts, new_persona):
    persona, other = new_persona(), new_persona()
    [message] = message_send(workspace=workspace, contact=other.contact, channel="line", contents=[CAROUSEL],
                             purpose="chat")
    from tidings.sandbox.models import SandboxDelivery

    delivery = SandboxDelivery.objects.get(persona=other)
    response = admin_client.post(f"/sandbox/phone/{persona.pk}/act", {
        "tab": "line", "action": "tap", "delivery": delivery.pk, "button": "0"})
    assert response.status_code == 404
