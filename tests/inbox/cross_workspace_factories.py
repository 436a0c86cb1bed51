"""Objects of the inbox in a given workspace, for the cross-workspace 404 checks and the API permission matrix."""

import itertools

from tests.support.cross_workspace import register_object_factory, register_request_body, register_valid_body

_seq = itertools.count(1)


def make_conversation(workspace):
    from tidings.channels.models import ChannelAccount
    from tidings.channels.services import account_create
    from tidings.contacts.services import identity_upsert
    from tidings.inbox.services import conversation_ensure

    account = (ChannelAccount.objects.filter(workspace=workspace, channel="line").first()
               or account_create(workspace=workspace, actor=None, channel="line", name="Inbox LINE"))
    identity, _created = identity_upsert(workspace=workspace, account=account, external_id=f"U{next(_seq):032x}",
                                         display_name="陳美玲")
    conversation, _created = conversation_ensure(identity=identity)
    _show_to_the_newest_salesperson(workspace, conversation)
    return conversation


def _show_to_the_newest_salesperson(workspace, conversation):
    """A salesperson sees only conversations assigned to them (until staff binding comes with OMO). The permission
    matrix calls each route as a fresh member of one role, made before the object: when that is a sales role, they
    follow the conversation, so their allowed calls can succeed. Other roles see it unassigned."""
    from tidings.core.models import Membership
    from tidings.core.roles import SALES_ROLES
    from tidings.inbox.services import conversation_follow

    newest = (Membership.objects.for_workspace(workspace).filter(role__in=SALES_ROLES, is_active=True)
              .order_by("-id").first())
    if newest is not None:
        conversation_follow(conversation=conversation, membership=newest)
        conversation.refresh_from_db()


def whatsapp_start_body(workspace):
    """A number to start a WhatsApp conversation with, on a WhatsApp account the workspace gets if it has none."""
    from tidings.channels.models import ChannelAccount
    from tidings.channels.services import account_create

    if not ChannelAccount.objects.filter(workspace=workspace, channel="whatsapp").exists():
        account_create(workspace=workspace, actor=None, channel="whatsapp", name="Inbox WhatsApp")
    return {"phone": f"+85261{next(_seq):06d}", "name": "陳大文"}


def make_keyword_rule(workspace):
    from tidings.inbox.models import KeywordRule

    return KeywordRule.objects.create(workspace=workspace, kind="reply", name="Opening hours",
                                      keywords=["hours"], reply_contents=[{"type": "text", "text": "10-22"}])


def make_saved_reply(workspace):
    from tidings.inbox.models import SavedReply

    return SavedReply.objects.create(workspace=workspace, title="Greeting", text="Hi {name}!")


def make_conversation_export(workspace):
    import datetime

    from tidings.inbox.models import ConversationExport

    return ConversationExport.objects.create(workspace=workspace, date_from=datetime.date(2026, 1, 1),
                                             date_to=datetime.date(2026, 1, 31), language="en")


register_object_factory("conversation_id", make_conversation)
register_object_factory("keyword_rule_id", make_keyword_rule)
register_object_factory("saved_reply_id", make_saved_reply)
register_object_factory("conversation_export_id", make_conversation_export)

# POST bodies valid enough to reach the conversation lookup (cross-workspace 404) and to succeed for an allowed role.
REPLY_BODY = {"messages": [{"type": "text", "text": "Thanks, we are on it."}]}
register_request_body("POST", "/api/v1/conversations/{conversation_id}/messages", REPLY_BODY)
register_request_body("POST", "/api/v1/conversations/{conversation_id}/follow", {"takeover": False})
register_valid_body("POST", "/api/v1/conversations/whatsapp", whatsapp_start_body)
