"""Saved replies (預存回覆, SPEC I5): prepared answers an agent picks in the composer, personal or team-wide, with
variables such as {name} filled for the conversation's customer when used.

Who: any member who uses the inbox (CONVERSATIONS_VIEW) keeps personal replies that only they see; team-wide
replies, seen by everyone, are written by SAVED_REPLIES_MANAGE (Admin, Supervisor, CS Manager). A member sees their
own personal replies and the team's — nobody else's personal ones, whatever their role (as in the original: a
reply for "only me" is seen by nobody else).
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import Membership
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can
from tidings.core.services import audit_record

from .models import Conversation, SavedReply
from .services import member_label

TITLE_MAX = 100
CATEGORY_MAX = 60
TEXT_MAX = 5000

# {name}: letters, digits and underscores in braces; anything else in braces is left as written.
VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
VARIABLES = {
    "name": gettext_lazy("the customer's name (their name on the channel when the contact has none)"),
    "phone": gettext_lazy("the customer's phone number"),
    "email": gettext_lazy("the customer's email address"),
    "agent": gettext_lazy("your name, as the team sees it"),
    "brand": gettext_lazy("the workspace's (brand's) name"),
}
_https = URLValidator(schemes=["https"])


def variables_help() -> list[tuple[str, str]]:
    """The variables a saved reply may use and what each becomes, for forms and the composer."""
    return [(f"{{{key}}}", str(label)) for key, label in VARIABLES.items()]


def unknown_variables(text: str) -> list[str]:
    seen = []
    for key in VARIABLE.findall(text or ""):
        if key not in VARIABLES and key not in seen:
            seen.append(key)
    return seen


def _clean(*, title: str, category: str, text: str, image_url: str) -> dict:
    title = " ".join((title or "").split())
    category = " ".join((category or "").split())
    text = (text or "").strip()
    image_url = (image_url or "").strip()
    if not title:
        raise ServiceError(_("Give the reply a title, so it can be found by searching."), field="title")
    if len(title) > TITLE_MAX:
        raise ServiceError(_("At most %(n)s characters.") % {"n": TITLE_MAX}, field="title")
    if len(category) > CATEGORY_MAX:
        raise ServiceError(_("At most %(n)s characters.") % {"n": CATEGORY_MAX}, field="category")
    if not text and not image_url:
        raise ServiceError(_("Write the reply's text (or give an image)."), field="text")
    if len(text) > TEXT_MAX:
        raise ServiceError(_("At most %(n)s characters.") % {"n": TEXT_MAX}, field="text")
    unknown = unknown_variables(text)
    if unknown:
        raise ServiceError(
            ngettext("Unknown variable %(unknown)s. Use %(known)s.", "Unknown variables %(unknown)s. Use %(known)s.",
                     len(unknown)) % {"unknown": ", ".join(f"{{{key}}}" for key in unknown),
                                      "known": ", ".join(f"{{{key}}}" for key in VARIABLES)},
            field="text")
    if image_url:
        try:
            _https(image_url)
        except ValidationError:
            raise ServiceError(_("Enter the image's https:// address (the channels fetch it from there)."),
                               field="image_url") from None
    return {"title": title, "category": category, "text": text, "image_url": image_url}


def _may_use(membership: Membership) -> None:
    if not member_can(membership, Permission.CONVERSATIONS_VIEW):
        raise ServiceError(_("Saved replies are for members who use the inbox."), code="forbidden")


def _may_manage_team(membership: Membership) -> None:
    if not member_can(membership, Permission.SAVED_REPLIES_MANAGE):
        raise ServiceError(_("Only Admins, Supervisors and CS Managers can change the team's saved replies."),
                           field="team_wide", code="forbidden")


def can_edit(membership: Membership, reply: SavedReply) -> bool:
    """Personal replies: their owner; team-wide ones: members who manage them."""
    if reply.workspace_id != membership.workspace_id:
        return False
    if reply.owner_id is None:
        return member_can(membership, Permission.SAVED_REPLIES_MANAGE)
    return reply.owner_id == membership.pk and member_can(membership, Permission.CONVERSATIONS_VIEW)


def _check_edit(membership: Membership, reply: SavedReply) -> None:
    if reply.workspace_id != membership.workspace_id or (reply.owner_id not in (None, membership.pk)):
        raise NotFound()  # someone else's personal reply is as good as missing
    if reply.owner_id is None:
        _may_manage_team(membership)
    else:
        _may_use(membership)


def _audit(membership: Membership, action: str, reply: SavedReply, changes: dict | None = None) -> None:
    # Team-wide replies speak for everyone, so who changed them is kept; personal ones are the owner's business.
    audit_record(workspace=membership.workspace, actor=membership.user, action=action, target=reply,
                 changes=changes or {})


@transaction.atomic
def saved_reply_create(*, membership: Membership, title: str, text: str, category: str = "", image_url: str = "",
                       team_wide: bool = False) -> SavedReply:
    _may_use(membership)
    if team_wide:
        _may_manage_team(membership)
    fields = _clean(title=title, category=category, text=text, image_url=image_url)
    reply = SavedReply.objects.create(workspace=membership.workspace, owner=None if team_wide else membership,
                                      created_by=membership, **fields)
    if team_wide:
        _audit(membership, "saved_reply.create", reply, {"title": reply.title})
    return reply


@transaction.atomic
def saved_reply_update(*, membership: Membership, reply: SavedReply, title: str, text: str, category: str = "",
                       image_url: str = "", team_wide: bool | None = None) -> SavedReply:
    """Edit a reply; `team_wide` moves it between personal (the editor's) and team-wide (None keeps its scope)."""
    _check_edit(membership, reply)
    fields = _clean(title=title, category=category, text=text, image_url=image_url)
    was_team = reply.owner_id is None
    team_wide = was_team if team_wide is None else team_wide
    if team_wide != was_team:
        _may_manage_team(membership)
    changes = {key: [getattr(reply, key), value] for key, value in fields.items() if getattr(reply, key) != value}
    for key, value in fields.items():
        setattr(reply, key, value)
    reply.owner = None if team_wide else membership
    reply.save()
    if was_team or team_wide:
        if team_wide != was_team:
            changes["team_wide"] = [was_team, team_wide]
        _audit(membership, "saved_reply.update", reply, changes)
    return reply


@transaction.atomic
def saved_reply_delete(*, membership: Membership, reply: SavedReply) -> None:
    _check_edit(membership, reply)
    if reply.owner_id is None:
        _audit(membership, "saved_reply.delete", reply, {"title": reply.title})
    reply.delete()


# --- selectors -----------------------------------------------------------------------------------------------


def saved_replies_for(membership: Membership, q: str = "", category: str = "", *, scope: str = ""
                      ) -> QuerySet[SavedReply]:
    """The replies this member may use (their own and the team's), by category then title. `q` searches title,
    text and category (every word); `category` keeps one category ("-" for replies without one); `scope` "mine" or
    "team" keeps one kind."""
    replies = SavedReply.objects.for_workspace(membership.workspace).filter(
        Q(owner__isnull=True) | Q(owner=membership))
    if scope == "mine":
        replies = replies.filter(owner=membership)
    elif scope == "team":
        replies = replies.filter(owner__isnull=True)
    q = " ".join((q or "").split())
    for word in q.split(" ") if q else []:
        replies = replies.filter(Q(title__icontains=word) | Q(text__icontains=word) | Q(category__icontains=word))
    if category == "-":
        replies = replies.filter(category="")
    elif category:
        replies = replies.filter(category=category)
    return replies.order_by("category", "title", "id")


def saved_reply_categories(membership: Membership) -> list[str]:
    """The categories among the replies this member may use, for the category filter."""
    return list(saved_replies_for(membership).exclude(category="").order_by("category")
                .values_list("category", flat=True).distinct())


def saved_reply_get(membership: Membership, reply_id) -> SavedReply | None:
    """A reply this member may use, else None (another workspace's, or someone else's personal reply)."""
    try:
        reply_id = int(reply_id)
    except (TypeError, ValueError):
        return None
    return saved_replies_for(membership).filter(pk=reply_id).first()


def _values(conversation: Conversation | None, membership: Membership | None) -> dict[str, str]:
    contact = getattr(conversation, "contact", None)
    identity = getattr(conversation, "identity", None)
    name = (getattr(contact, "name", "") or getattr(identity, "display_name", "") or "").strip()
    workspace = getattr(conversation, "workspace", None) or getattr(membership, "workspace", None)
    return {
        "name": name,
        "phone": getattr(contact, "phone", "") or "",
        "email": getattr(contact, "email", "") or "",
        "agent": member_label(membership),
        "brand": getattr(workspace, "name", "") or "",
    }


def fill_text(text: str, values: dict[str, str]) -> str:
    """Variables replaced by their values (an empty value leaves nothing); unknown ones stay as written."""
    return VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text or "")


def saved_reply_fill(reply: SavedReply, conversation: Conversation | None, membership: Membership | None) -> dict:
    """The reply as it would go to this conversation's customer: {"text": filled text, "image_url": …}."""
    return {"text": fill_text(reply.text, _values(conversation, membership)), "image_url": reply.image_url}
