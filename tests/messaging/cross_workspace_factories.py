from tests.support.cross_workspace import register_object_factory


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
