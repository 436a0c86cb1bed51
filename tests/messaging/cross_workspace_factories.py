from tests.support.cross_workspace import register_object_factory, register_valid_body


def make_message(workspace):
    from tidings.channels.models import ChannelAccount
    from tidings.contacts.models import Contact
    from tidings.messaging.models import Message

    account = ChannelAccount.objects.create(workspace=workspace, channel="line", name="XWS LINE",
                                            base_url="https://api.line.me")
    contact = Contact.objects.create(workspace=workspace, name="XWS customer")
    return Message.objects.create(workspace=workspace, contact=contact, account=account, channel="line",
                                  content={"type": "text", "text": "hi"})


register_object_factory("message_id", make_message)


def send_body(workspace) -> dict:
    """A valid POST /api/v1/messages body in `workspace`: a contact with a LINE identity on a sandbox LINE account."""
    from tidings.channels.selectors import account_for_channel
    from tidings.channels.services import account_create
    from tidings.contacts.models import ChannelIdentity, Contact

    account = account_for_channel(workspace, "line") or account_create(
        workspace=workspace, actor=None, channel="line", name="Matrix LINE")
    contact = Contact.objects.create(workspace=workspace, name="Matrix customer")
    ChannelIdentity.objects.create(workspace=workspace, contact=contact, channel="line", account=account,
                                   external_id=f"U{contact.pk:032x}", subscribed=True)
    return {"contact_id": contact.pk, "channel": "line", "messages": [{"type": "text", "text": "Hello"}]}


register_valid_body("POST", "/api/v1/messages", send_body)
