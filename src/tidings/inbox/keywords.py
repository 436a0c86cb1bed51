"""Keyword auto-reply and auto-assign 2.0 (SPEC I4): which rule a customer's text message fires, and what firing
does. Rules are written by keyword_rules.py; this module only reads them and records triggers.

As in the original:
- Only text messages match (no stickers, images, postbacks). Letters match case-insensitively; full-width and
  half-width characters stay distinct (`ＡＢＣ` is not `ABC`).
- Per kind, at most one rule fires per message: the newest matching rule wins, "any text" rules come last.
- Auto-reply fires on pending (and reopened closed) conversations, and on in-progress ones only when the rule says
  so; auto-assign never fires on an in-progress conversation. Both kinds are judged on the state the message found.
- An auto-assign to a sales-role member suppresses the auto-reply (the original sends its binding message instead).
- Firing is recorded once per (rule, message) by KeywordTrigger's unique constraint: a redelivered or reprocessed
  message neither counts nor acts twice.
"""

import logging
import random

from django.db import IntegrityError, transaction

from tidings.contacts.services import tags_add
from tidings.core.errors import ServiceError
from tidings.core.models import Membership
from tidings.core.roles import SALES_ROLES
from tidings.messaging.models import Direction, Message

from .models import AssignOrder, Conversation, ConversationState, KeywordRule, KeywordTrigger, MatchType, RuleKind
from .services import conversation_assign, conversation_reply

logger = logging.getLogger(__name__)


def text_of(message: Message) -> str | None:
    """The words a customer typed, or None when the message is not a text message."""
    content = message.content or {}
    if content.get("type") != "text":
        return None
    return str(content.get("text") or "")


def rule_matches(rule: KeywordRule, text: str) -> bool:
    """Does this text fire the rule's condition? (`lower()` folds case but keeps full-width letters full-width.)"""
    if not text.strip():
        return False
    if rule.match_type == MatchType.ANYTHING:
        return True
    keywords = [str(k).lower() for k in rule.keywords or [] if str(k).strip()]
    if not keywords:
        return False
    said = text.lower()
    if rule.match_type == MatchType.EXACT:
        return said.strip() == keywords[0].strip()
    if rule.match_type == MatchType.CONTAINS_ALL:
        return all(k in said for k in keywords)
    return any(k in said for k in keywords)


def rules_in_priority(rules) -> list[KeywordRule]:
    """Newest first, "any text" rules last: the order in which rules get their chance (and the list shows)."""
    newest_first = sorted(rules, key=lambda r: (r.created_at, r.pk), reverse=True)
    return sorted(newest_first, key=lambda r: r.match_type == MatchType.ANYTHING)


def _applies_to(rule: KeywordRule, conversation: Conversation) -> bool:
    return not rule.channels or conversation.channel in rule.channels


# --- who an auto-assign rule hands the conversation to ----------------------------------------------------------


def assign_candidates(rule: KeywordRule) -> list[Membership]:
    """The active members the rule may assign to, in creation order (the "in turn" order)."""
    members = Membership.objects.filter(workspace_id=rule.workspace_id, is_active=True, user__is_active=True)
    if rule.assign_member_id:
        members = members.filter(pk=rule.assign_member_id)
    elif rule.assign_role:
        members = members.filter(role=rule.assign_role)
    else:
        return []
    return list(members.select_related("user").order_by("id"))


def _pick(rule: KeywordRule, members: list[Membership]) -> Membership:
    if len(members) == 1 or rule.assign_order == AssignOrder.RANDOM:
        return random.choice(members)  # noqa: S311 - spreading work, not security
    after = rule.last_assigned_member_id or 0
    return next((m for m in members if m.pk > after), members[0])


def _assignee_take_turn(rule: KeywordRule) -> Membership | None:
    """Choose the member under the rule's row lock, so concurrent messages move the in-turn cursor one at a time."""
    locked = KeywordRule.objects.select_for_update().get(pk=rule.pk)
    members = assign_candidates(locked)
    if not members:
        return None
    member = _pick(locked, members)
    if locked.assign_role and locked.assign_order == AssignOrder.IN_TURN:
        KeywordRule.objects.filter(pk=locked.pk).update(last_assigned_member_id=member.pk)
    return member


# --- firing -----------------------------------------------------------------------------------------------------


def _trigger_once(rule: KeywordRule, conversation: Conversation, message: Message) -> KeywordTrigger | None:
    """Record that the message fired the rule; None when it already had (the unique constraint decides)."""
    try:
        with transaction.atomic():
            return KeywordTrigger.objects.create(
                workspace_id=rule.workspace_id, rule=rule, message=message, channel=conversation.channel,
                account_id=conversation.account_id, at=message.created_at)
    except IntegrityError:
        return None


def _tag(rule: KeywordRule, conversation: Conversation) -> None:
    if rule.tags:
        tags_add(workspace=conversation.workspace, contact_ids=[conversation.contact_id], names=rule.tags)


def _reply(rule: KeywordRule, conversation: Conversation) -> None:
    """Send the rule's answer as the bot (no member: the state stays). A refusal (e.g. the channel cannot carry an
    image, or the account was disconnected) is logged and the message goes on; the trigger still counts, since the
    customer's message did fire the rule."""
    if not rule.reply_contents:
        return
    try:
        conversation_reply(conversation=conversation, membership=None, contents=rule.reply_contents,
                           source=f"keyword-rule:{rule.pk}")
    except ServiceError as exc:
        logger.warning("keyword rule %s could not reply in conversation %s: %s (%s)", rule.pk, conversation.pk,
                       exc.message, exc.field)


def keyword_rules_fire(*, conversation: Conversation, message: Message) -> list[KeywordTrigger]:
    """Run the workspace's active rules on a customer's message (inside the transaction that noted it) and return
    the triggers recorded now: at most one auto-reply and one auto-assign."""
    text = text_of(message)
    if message.direction != Direction.INBOUND or not text or not text.strip():
        return []
    rules = [r for r in KeywordRule.objects.filter(workspace_id=conversation.workspace_id, is_active=True)
             if _applies_to(r, conversation)]
    if not rules:
        return []
    already = set(KeywordTrigger.objects.filter(message=message).values_list("rule__kind", flat=True))
    in_progress = conversation.state == ConversationState.IN_PROGRESS

    assign_rule = None
    if RuleKind.ASSIGN not in already and not in_progress:
        assign_rule = next((r for r in rules_in_priority(rules) if r.kind == RuleKind.ASSIGN
                            and rule_matches(r, text) and assign_candidates(r)), None)
    reply_rule = None
    if RuleKind.REPLY not in already:
        reply_rule = next((r for r in rules_in_priority(rules) if r.kind == RuleKind.REPLY
                           and (r.include_in_progress or not in_progress) and rule_matches(r, text)), None)

    fired = []
    assignee = None
    if assign_rule is not None and (assign_trigger := _trigger_once(assign_rule, conversation, message)):
        assignee = _assignee_take_turn(assign_rule)
        if assignee is None:  # its members left between the match and the lock: it did not fire after all
            assign_trigger.delete()
        else:
            fired.append(assign_trigger)
            if assignee.role in SALES_ROLES:
                reply_rule = None
    if reply_rule is not None and (reply_trigger := _trigger_once(reply_rule, conversation, message)):
        fired.insert(0, reply_trigger)
        _reply(reply_rule, conversation)
        _tag(reply_rule, conversation)
    if assignee is not None:
        conversation_assign(conversation=conversation, membership=assignee, rule_name=assign_rule.name)
        _tag(assign_rule, conversation)
    return fired
