"""Writing and listing keyword rules (SPEC I4): create, update, switch on/off, delete, every change validated and
audited; and the reads the console shows, with how many times each rule fired in total and per channel.

What firing does is keywords.py. Who may manage which kind: KEYWORD_REPLY_MANAGE (auto-reply) and
KEYWORD_ASSIGN_MANAGE (auto-assign); the services check it too when given the acting member.
"""

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from tidings.channels.content import contents_check_kinds, contents_dump, contents_parse
from tidings.channels.models import ChannelAccount
from tidings.channels.registry import adapter_for
from tidings.contacts.models import Channel
from tidings.contacts.services import tag_names_clean
from tidings.core import clock
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import Membership, Workspace
from tidings.core.permissions import CS_ROLES, Permission
from tidings.core.roles import SALES_ROLES, Role
from tidings.core.selectors import member_can
from tidings.core.services import audit_record

from .keywords import rules_in_priority
from .models import AssignOrder, KeywordRule, KeywordTrigger, MatchType, RuleKind

NAME_MAX = 100
KEYWORD_MAX = 100
KEYWORDS_MAX = 20
TAGS_MAX = 10
REPLY_CONTENTS_MAX = 5  # LINE answers with at most five messages at once
# A team is a role: the customer-service roles or the sales roles (指定客服權限 / 指定銷售權限).
ASSIGNABLE_ROLES = tuple(r for r in Role if r in CS_ROLES or r in SALES_ROLES)
REPLY_KINDS = frozenset({"text", "image"})

PERMISSION_OF = {RuleKind.REPLY: Permission.KEYWORD_REPLY_MANAGE, RuleKind.ASSIGN: Permission.KEYWORD_ASSIGN_MANAGE}
RULE_FIELDS = ("name", "match_type", "keywords", "channels", "reply_contents", "include_in_progress",
               "assign_member", "assign_role", "assign_order", "tags", "is_active")


def may_manage(membership: Membership | None, kind: str) -> bool:
    return kind in PERMISSION_OF and member_can(membership, PERMISSION_OF[kind])


def _check_may_manage(by: Membership | None, kind: str) -> None:
    if by is not None and not may_manage(by, kind):
        raise ServiceError(_("Your role cannot manage these keyword rules."), code="forbidden")


# --- validation -------------------------------------------------------------------------------------------------


def _clean_keywords(match_type: str, raw) -> list[str]:
    if match_type == MatchType.ANYTHING:
        return []
    if isinstance(raw, str):
        raw = raw.splitlines()
    keywords, seen = [], set()
    for item in raw or []:
        keyword = str(item or "").strip()
        if not keyword or keyword.lower() in seen:
            continue
        if len(keyword) > KEYWORD_MAX:
            raise ServiceError(_("A keyword may be at most %(n)d characters.") % {"n": KEYWORD_MAX}, field="keywords")
        seen.add(keyword.lower())
        keywords.append(keyword)
    if not keywords:
        raise ServiceError(_("Give at least one keyword, or choose “Any text”."), field="keywords")
    if match_type == MatchType.EXACT and len(keywords) > 1:
        raise ServiceError(_("“Exactly matches” takes one keyword; use “Contains any” for several."),
                           field="keywords")
    if len(keywords) > KEYWORDS_MAX:
        raise ServiceError(_("At most %(n)d keywords per rule.") % {"n": KEYWORDS_MAX}, field="keywords")
    return keywords


def _clean_channels(raw) -> list[str]:
    raw = [raw] if isinstance(raw, str) else list(raw or [])
    unknown = [c for c in raw if c not in Channel.values]
    if unknown:
        raise ServiceError(_("Unknown channel %(channel)s.") % {"channel": unknown[0]}, field="channels")
    return [c for c in Channel.values if c in raw]


def _clean_reply(workspace: Workspace, channels: list[str], raw) -> list[dict]:
    """Text or image contents (none: tag only), checked against every channel the rule answers on — the chosen
    ones, or when none is chosen, every channel the workspace has connected."""
    if not raw:
        return []
    if len(raw) > REPLY_CONTENTS_MAX:
        raise ServiceError(_("At most %(n)d messages per reply.") % {"n": REPLY_CONTENTS_MAX}, field="reply_contents")
    parsed = contents_parse(raw, field="reply_contents")
    for i, content in enumerate(parsed):
        if content.type not in REPLY_KINDS:
            raise ServiceError(_("A keyword reply is a text or an image."), field=f"reply_contents[{i}].type")
        if content.type == "image" and not content.url.startswith("https://"):
            raise ServiceError(_("Give the image as an https:// address."), field=f"reply_contents[{i}].url")
    targets = channels or sorted(set(ChannelAccount.objects.for_workspace(workspace).filter(is_active=True)
                                     .values_list("channel", flat=True)))
    for channel in targets:
        try:
            adapter = adapter_for(channel)
        except LookupError:
            continue
        try:
            adapter.validate(parsed)
        except ServiceError as exc:  # the adapter names its fields messages[…]
            raise ServiceError(exc.message, field=(exc.field or "").replace("messages", "reply_contents", 1),
                               code=exc.code) from None
        contents_check_kinds(parsed, supported=adapter.supported_kinds, channel_name=Channel(channel).label,
                             field="reply_contents")
    return contents_dump(parsed)


def _clean_assignee(workspace: Workspace, member, role: str) -> tuple[Membership | None, str]:
    if member and role:
        raise ServiceError(_("Assign to one member or to a team, not both."), field="assign_member")
    if member:
        member_id = member.pk if isinstance(member, Membership) else member
        try:
            found = Membership.objects.for_workspace(workspace).select_related("workspace").get(pk=int(member_id))
        except (Membership.DoesNotExist, TypeError, ValueError):
            raise ServiceError(_("Choose a member of this workspace."), field="assign_member") from None
        if not found.is_active or not member_can(found, Permission.CONVERSATIONS_VIEW):
            raise ServiceError(_("Choose an active member who uses the inbox."), field="assign_member")
        return found, ""
    if role:
        if role not in ASSIGNABLE_ROLES:
            raise ServiceError(_("Choose a customer-service or sales role as the team."), field="assign_role")
        return None, role
    raise ServiceError(_("Choose the member or the team to assign to."), field="assign_member")


def _clean(workspace: Workspace, kind: str, values: dict) -> dict:
    """The whole rule, validated (after merging a partial change); ServiceError names the first bad field."""
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        raise ServiceError(_("Give the rule a name."), field="name")
    if len(name) > NAME_MAX:
        raise ServiceError(_("The name can be at most %(max)s characters.") % {"max": NAME_MAX}, field="name")
    match_type = values.get("match_type") or MatchType.CONTAINS_ANY
    if match_type not in MatchType.values:
        raise ServiceError(_("Choose how the keywords match."), field="match_type")
    clean = {
        "name": name, "match_type": match_type, "keywords": _clean_keywords(match_type, values.get("keywords")),
        "channels": _clean_channels(values.get("channels")), "is_active": bool(values.get("is_active", True)),
        "reply_contents": [], "include_in_progress": False, "assign_member": None, "assign_role": "",
        "assign_order": AssignOrder.IN_TURN,
    }
    clean["tags"] = tag_names_clean(values.get("tags"), field="tags")
    if len(clean["tags"]) > TAGS_MAX:
        raise ServiceError(_("At most %(n)d tags per rule.") % {"n": TAGS_MAX}, field="tags")
    if kind == RuleKind.REPLY:
        clean["reply_contents"] = _clean_reply(workspace, clean["channels"], values.get("reply_contents"))
        clean["include_in_progress"] = bool(values.get("include_in_progress"))
        if not clean["reply_contents"] and not clean["tags"]:
            raise ServiceError(_("Give a reply, or tags to add when it sends nothing."), field="reply_contents")
    else:
        clean["assign_member"], clean["assign_role"] = _clean_assignee(
            workspace, values.get("assign_member"), str(values.get("assign_role") or ""))
        order = values.get("assign_order") or AssignOrder.IN_TURN
        if order not in AssignOrder.values:
            raise ServiceError(_("Choose random or in turn."), field="assign_order")
        clean["assign_order"] = order
    return clean


def _audit_value(value):
    return value.pk if isinstance(value, Membership) else value


# --- writes -----------------------------------------------------------------------------------------------------


@transaction.atomic
def keyword_rule_create(*, workspace: Workspace, kind: str, data: dict, by: Membership | None = None
                        ) -> KeywordRule:
    if kind not in RuleKind.values:
        raise ServiceError(_("Choose auto-reply or auto-assign."), field="kind")
    _check_may_manage(by, kind)
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ServiceError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), field=sorted(unknown)[0])
    values = _clean(workspace, kind, data)
    rule = KeywordRule.objects.create(workspace=workspace, kind=kind, created_at=clock.now(workspace), **values)
    audit_record(workspace=workspace, actor=by.user if by else None, action="keyword_rule.create", target=rule,
                 changes={k: [None, _audit_value(v)] for k, v in values.items()})
    return rule


def _locked(workspace: Workspace, rule: KeywordRule) -> KeywordRule:
    if rule.workspace_id != workspace.pk:
        raise NotFound(_("Unknown keyword rule."))
    return KeywordRule.objects.select_for_update().get(pk=rule.pk)


@transaction.atomic
def keyword_rule_update(*, workspace: Workspace, rule: KeywordRule, data: dict, by: Membership | None = None
                        ) -> KeywordRule:
    """Change some fields (the others stay). Its trigger count is kept: the count is of the rule, not its words."""
    rule = _locked(workspace, rule)
    _check_may_manage(by, rule.kind)
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ServiceError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), field=sorted(unknown)[0])
    current = {f: getattr(rule, f) for f in RULE_FIELDS}
    values = _clean(workspace, rule.kind, {**current, **data})
    changes = {k: [_audit_value(current[k]), _audit_value(v)] for k, v in values.items() if current[k] != v}
    if changes:
        for field, value in values.items():
            setattr(rule, field, value)
        if "assign_role" in changes or "assign_member" in changes:
            rule.last_assigned_member_id = None
        rule.save()
        audit_record(workspace=workspace, actor=by.user if by else None, action="keyword_rule.update", target=rule,
                     changes=changes)
    return rule


@transaction.atomic
def keyword_rule_set_active(*, workspace: Workspace, rule: KeywordRule, active: bool,
                            by: Membership | None = None) -> KeywordRule:
    rule = _locked(workspace, rule)
    _check_may_manage(by, rule.kind)
    if rule.is_active != bool(active):
        rule.is_active = bool(active)
        rule.save(update_fields=["is_active", "updated_at"])
        audit_record(workspace=workspace, actor=by.user if by else None, action="keyword_rule.update", target=rule,
                     changes={"is_active": [not rule.is_active, rule.is_active]})
    return rule


@transaction.atomic
def keyword_rule_delete(*, workspace: Workspace, rule: KeywordRule, by: Membership | None = None) -> None:
    """Delete the rule and its trigger records (the messages themselves stay)."""
    rule = _locked(workspace, rule)
    _check_may_manage(by, rule.kind)
    audit_record(workspace=workspace, actor=by.user if by else None, action="keyword_rule.delete", target=rule,
                 changes={"name": [rule.name, None]})
    rule.delete()



def keyword_rules_tag_changed(*, workspace: Workspace, old: str, new: str | None) -> int:
    """A tag was renamed (`new`) or deleted (None): the rules that add it follow, so a rule does not bring back a tag
    someone renamed or removed. Returns how many rules changed. A workspace has a handful of rules: read them all."""
    changed = 0
    for rule in KeywordRule.objects.for_workspace(workspace).exclude(tags=[]).only("pk", "tags"):
        if old not in rule.tags:
            continue
        tags = [name if name != old else new for name in rule.tags]
        KeywordRule.objects.filter(pk=rule.pk).update(tags=list(dict.fromkeys(t for t in tags if t is not None)))
        changed += 1
    return changed

# --- reads ------------------------------------------------------------------------------------------------------


def keyword_rule_get(workspace: Workspace, rule_id) -> KeywordRule | None:
    try:
        rule_id = int(rule_id)
    except (TypeError, ValueError):
        return None
    return (KeywordRule.objects.for_workspace(workspace).select_related("assign_member__user")
            .annotate(trigger_count=Count("triggers")).filter(pk=rule_id).first())


def _matches_search(rule: KeywordRule, q: str) -> bool:
    return q in rule.name.lower() or any(q in str(k).lower() for k in rule.keywords or [])


def keyword_rules_list(workspace: Workspace, *, kind: str, q: str = "") -> list[KeywordRule]:
    """The rules of one kind in the order they get their chance, each with `trigger_count`; `q` searches the name
    and the keywords (in Python: a workspace has tens of rules, and JSON text search differs per database)."""
    rules = list(KeywordRule.objects.for_workspace(workspace).filter(kind=kind)
                 .select_related("assign_member__user").annotate(trigger_count=Count("triggers")))
    q = " ".join((q or "").split()).lower()
    if q:
        rules = [r for r in rules if _matches_search(r, q)]
    return rules_in_priority(rules)


def trigger_counts_by_channel(rule_ids) -> dict[int, dict[str, int]]:
    """{rule id: {channel: triggers}} for many rules in one query."""
    counts: dict[int, dict[str, int]] = {}
    rows = (KeywordTrigger.objects.filter(rule_id__in=list(rule_ids)).order_by()
            .values("rule_id", "channel").annotate(n=Count("id")))
    for row in rows:
        counts.setdefault(row["rule_id"], {})[row["channel"]] = row["n"]
    return counts


def rule_kind_counts(workspace: Workspace) -> dict[str, int]:
    """How many rules each tab holds."""
    rows = KeywordRule.objects.for_workspace(workspace).order_by().values("kind").annotate(n=Count("id"))
    counts = dict.fromkeys(RuleKind.values, 0)
    counts.update({row["kind"]: row["n"] for row in rows})
    return counts


def assignable_members(workspace: Workspace) -> QuerySet[Membership]:
    """Members an auto-assign rule may name: active, and using the inbox (not marketers)."""
    return (Membership.objects.for_workspace(workspace).filter(is_active=True)
            .exclude(role=Role.MARKETER).select_related("user").order_by("user__name", "id"))
