"""The pipeline's check before a WhatsApp template send: known and approved for this WABA, the right number of
parameters, and system-notification templates only for notifications (never chat, broadcasts or journeys)."""

import pytest

from tidings.contacts.models import ChannelIdentity, Contact
from tidings.core.errors import ServiceError
from tidings.message_templates.models import TemplateStatus
from tidings.message_templates.selectors import templates_selectable
from tidings.messaging.models import Message, MessageStatus
from tidings.messaging.services import message_send, message_send_bulk

from .support import BODY_TWO_VARIABLES, approved_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(workspace, wa):
    contact = Contact.objects.create(workspace=workspace, name="Mei")
    identity = ChannelIdentity.objects.create(workspace=workspace, contact=contact, channel="whatsapp", account=wa,
                                              external_id="85261234567", subscribed=True)
    return contact, identity


def send(workspace, contact, purpose="chat", **template):
    content = {"type": "template", "name": "order_ready", "language": "en", "parameters": ["Mei", "#1024"],
               **template}
    return message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=[content], purpose=purpose)


@pytest.mark.django_db(transaction=True)
def test_an_approved_general_template_goes_out(workspace, wa, customer):
    approved_template(wa)
    [message] = send(workspace, customer[0])
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def refusal(workspace, contact, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        send(workspace, contact, **kwargs)
    assert not Message.objects.exists()
    return caught.value


def test_unknown_template_is_refused(workspace, wa, customer):
    error = refusal(workspace, customer[0])
    assert (error.field, str(error.message)) == (
        "messages[0].name", "There is no template “order_ready” in en for this WhatsApp account.")


def test_a_template_not_approved_yet_is_refused(workspace, wa, customer):
    approved_template(wa, status="PENDING")
    error = refusal(workspace, customer[0])
    assert str(error.message) == "The template “order_ready” is in review; only approved templates can be sent."


def test_wrong_parameter_count_is_refused(workspace, wa, customer):
    approved_template(wa)
    error = refusal(workspace, customer[0], parameters=["Mei"])
    assert (error.field, str(error.message)) == (
        "messages[0].parameters", "The template “order_ready” has 2 body variable(s); 1 given.")


@pytest.mark.parametrize("purpose", ["chat", "broadcast", "journey"])
def test_system_notification_templates_are_refused_for_chat_broadcasts_and_journeys(workspace, wa, customer,
                                                                                     purpose):
    template = approved_template(wa)
    template.audience = "system_notification"
    template.save()
    error = refusal(workspace, customer[0], purpose=purpose)
    assert error.code == "template_system_notification"
    assert str(error.message) == ("The template “order_ready” is for system notifications only; it cannot be used "
                                  "in chats, broadcasts or journeys.")


def test_system_notification_templates_go_out_as_notifications(workspace, wa, customer):
    template = approved_template(wa)
    template.audience = "system_notification"
    template.save()
    assert send(workspace, customer[0], purpose="notification")


def test_bulk_sends_are_checked_too(workspace, wa, customer):
    template = approved_template(wa)
    template.audience = "system_notification"
    template.save()
    with pytest.raises(ServiceError) as caught:
        message_send_bulk(workspace=workspace, identities=[customer[1]], channel="whatsapp", contents=[
            {"type": "template", "name": "order_ready", "language": "en", "parameters": ["a", "b"]}])
    assert caught.value.code == "template_system_notification"
    assert not Message.objects.exists()


def test_another_wabas_template_is_unknown(workspace, wa, customer):
    template = approved_template(wa)
    template.waba_id = "111111111111111"
    template.save()
    assert refusal(workspace, customer[0]).code == "template_unknown"


def test_pickers_leave_out_system_notification_templates(workspace, wa):
    general = approved_template(wa, name="general_one")
    notice = approved_template(wa, name="notice_one")
    notice.audience = "system_notification"
    notice.save()
    approved_template(wa, name="pending_one", status="PENDING")
    for purpose in ("chat", "broadcast", "journey"):
        assert list(templates_selectable(workspace, purpose=purpose, account=wa)) == [general]
    assert set(templates_selectable(workspace, purpose="notification")) == {general, notice}
    assert TemplateStatus.APPROVED == general.status


@pytest.mark.django_db(transaction=True)
def test_a_dynamic_url_button_is_named_by_its_position_among_all_the_buttons(workspace, wa, customer):
    from tidings.sandbox.models import SandboxRequest

    buttons = {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "Thanks"},
        {"type": "URL", "text": "Shop", "url": "https://shop.example.com/"},
        {"type": "URL", "text": "Track", "url": "https://shop.example.com/track/{{1}}",
         "example": ["https://shop.example.com/track/A1"]},
    ]}
    approved_template(wa, components=[*BODY_TWO_VARIABLES, buttons])
    [message] = send(workspace, customer[0], url_parameters=["A-1024"])
    request = SandboxRequest.objects.filter(provider="whatsapp", path__endswith="/messages").get()
    url_button = [c for c in request.body["template"]["components"] if c["type"] == "button"]
    assert url_button == [{"type": "button", "sub_type": "url", "index": "2",
                           "parameters": [{"type": "text", "text": "A-1024"}]}]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
