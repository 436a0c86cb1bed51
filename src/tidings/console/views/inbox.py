"""The inbox (SPEC I1-I3): every channel's conversations in one list with state tabs, filters and search; one
conversation's history with delivery ticks and activity lines; following, taking over and closing; and a new
WhatsApp conversation by phone number (I2).

One page in three columns — list | conversation | customer panel. htmx swaps the columns; the composer and the
panel are served by inbox_compose.py and loaded into their slots; static/console/inbox.js keeps everything live
from the real-time stream (realtime.js turns each event into `rt:<type>` on <body>).
"""

import datetime
from urllib.parse import urlencode

import phonenumbers
from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tidings.channels.models import ChannelAccount
from tidings.contacts.models import Channel
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.core.roles import SALES_ROLES, Role
from tidings.core.selectors import member_can, members_list
from tidings.inbox import realtime
from tidings.inbox.errors import FollowedByAnother
from tidings.inbox.models import ActivityKind, ConversationState
from tidings.inbox.selectors import (
    SEARCH_COUNT_CAP,
    conversation_activities,
    conversation_get,
    conversation_get_for_takeover,
    conversation_messages,
    conversations_page,
    reply_window_remaining,
)
from tidings.inbox.services import (
    DEFAULT_WHATSAPP_REGION,
    conversation_close,
    conversation_follow,
    conversation_mark_read,
    member_label,
    whatsapp_conversation_start,
)
from tidings.message_templates.render import template_bubble
from tidings.message_templates.selectors import templates_list
from tidings.messaging.models import Direction, Message, MessageStatus, Purpose

from .. import contact_selectors
from ..access import form_error, require

LIST_PAGE = 50
LIST_MAX = 500  # "show more" grows the list by LIST_PAGE up to this many rows
THREAD_PAGE = 40
# Omnichat marks a waiting customer at 30 minutes, 1 hour and 2 hours without a reply.
WAITING_LEVELS = ((datetime.timedelta(hours=2), "long"), (datetime.timedelta(hours=1), "mid"),
                  (datetime.timedelta(minutes=30), "short"))
WINDOW_CHANNELS = ("whatsapp", "messenger", "instagram")
# The country-code picker (I2): Hong Kong first and the default, then the markets the product serves.
REGIONS = (
    ("HK", gettext_lazy("Hong Kong")), ("TW", gettext_lazy("Taiwan")), ("MO", gettext_lazy("Macau")),
    ("CN", gettext_lazy("Mainland China")), ("SG", gettext_lazy("Singapore")), ("MY", gettext_lazy("Malaysia")),
    ("JP", gettext_lazy("Japan")), ("KR", gettext_lazy("South Korea")), ("TH", gettext_lazy("Thailand")),
    ("PH", gettext_lazy("Philippines")), ("ID", gettext_lazy("Indonesia")), ("VN", gettext_lazy("Vietnam")),
    ("IN", gettext_lazy("India")), ("AU", gettext_lazy("Australia")), ("US", gettext_lazy("United States")),
    ("CA", gettext_lazy("Canada")), ("GB", gettext_lazy("United Kingdom")),
)


# --- the list ----------------------------------------------------------------------------------------------------


def _filters(request) -> dict:
    """The list's tab, filters and search from the query string; unknown values fall back to "all"."""
    data = request.GET
    state = data.get("state", "")
    channel = data.get("channel", "")
    assignee = data.get("assignee", "")
    if assignee not in ("me", "unassigned") and not assignee.isdigit():
        assignee = ""
    return {
        "state": state if state in ConversationState.values else ConversationState.PENDING,
        "channel": channel if channel in Channel.values else "",
        "assignee": assignee,
        "tag": data.get("tag", "").strip()[:100],
        "q": " ".join(data.get("q", "").split())[:100],
    }


def _list_limit(request) -> int:
    try:
        limit = int(request.GET.get("limit", LIST_PAGE))
    except ValueError:
        limit = LIST_PAGE
    return min(max(limit, LIST_PAGE), LIST_MAX)


def _query(filters: dict, **extra) -> str:
    return urlencode({k: v for k, v in {**filters, **extra}.items() if v not in ("", None)})


def _waiting(conversation, now) -> dict | None:
    """How long the customer has waited for an answer (their message is the last one, and it is not closed)."""
    if conversation.state == ConversationState.CLOSED or conversation.last_message_direction != Direction.INBOUND:
        return None
    waited = now - conversation.last_message_at
    for threshold, level in WAITING_LEVELS:
        if waited >= threshold:
            return {"level": level, "minutes": int(waited.total_seconds() // 60)}
    return None


def customer_name(conversation) -> str:
    contact, identity = conversation.contact, conversation.identity
    return contact.name or identity.display_name or contact.phone or contact.email or _("Customer")


def _rows(conversations, now, zone) -> list[dict]:
    today = timezone.localtime(now, zone).date()
    return [{
        "c": c, "name": customer_name(c), "assignee": member_label(c.assignee), "waiting": _waiting(c, now),
        "today": timezone.localtime(c.last_message_at, zone).date() == today,
    } for c in conversations]


def _zone(workspace):
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(workspace.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def _sees_everyone(membership) -> bool:
    """CS agents and sales roles only see their own and unassigned conversations: no per-member filter for them."""
    return membership.role not in (Role.CS_AGENT, *SALES_ROLES)


def _list_context(request, filters: dict, open_id=None) -> dict:
    membership, workspace = request.membership, request.workspace
    limit = _list_limit(request)
    cap = SEARCH_COUNT_CAP if filters.get("q") else None
    conversations, counts = conversations_page(membership, limit=limit, cap=cap, **filters)
    now = clock.now(workspace)
    filtered = any(filters[k] for k in ("channel", "assignee", "tag", "q"))
    return {
        "filters": filters, "open_id": open_id, "query": _query(filters),
        "tabs": [{"state": s.value, "label": s.label, "count": counts.get(s.value, 0),
                  "capped": cap is not None and counts.get(s.value, 0) > cap, "cap": cap,
                  "query": _query(filters, state=s.value)} for s in ConversationState],
        "rows": _rows(conversations[:limit], now, _zone(workspace)),
        "more_query": _query(filters, limit=limit + LIST_PAGE) if len(conversations) > limit else "",
        "filtered": filtered, "clear_query": _query({"state": filters["state"]}),
        "has_channels": ChannelAccount.objects.for_workspace(workspace).exists(),
        "can_channels": member_can(membership, Permission.CHANNELS_MANAGE),
    }


def _filter_choices(request) -> dict:
    membership, workspace = request.membership, request.workspace
    channels = set(ChannelAccount.objects.for_workspace(workspace).values_list("channel", flat=True))
    members = []
    if _sees_everyone(membership):
        members = [{"id": m.pk, "label": member_label(m)}
                   for m in members_list(workspace, status="active").exclude(pk=membership.pk)
                   .exclude(role=Role.MARKETER).order_by("user__name", "user__email")]
    return {
        "channel_choices": [c for c in Channel if c.value in channels],
        "member_choices": members,
        "tag_choices": contact_selectors.tag_names(workspace),
    }


@require(Permission.CONVERSATIONS_VIEW)
def inbox_list(request):
    """The list column (htmx): tabs with counts, then the conversations; re-fetched on real-time events."""
    filters = _filters(request)
    open_id = request.GET.get("open", "")
    response = render(request, "console/inbox/_list.html",
                      _list_context(request, filters, open_id=int(open_id) if open_id.isdigit() else None))
    # Keep the address bar on the page the list belongs to, so a reload shows the same tab.
    base = (reverse("console:inbox_conversation", kwargs={"conversation_id": int(open_id)}) if open_id.isdigit()
            else reverse("console:inbox"))
    if request.htmx and not request.GET.get("live"):
        response["HX-Replace-Url"] = f"{base}?{_query(filters)}"
    return response


def _page(request, conversation=None):
    filters = _filters(request)
    if conversation is not None and "state" not in request.GET:
        filters["state"] = conversation.state  # open on the tab that holds it
    context = {**_list_context(request, filters, open_id=conversation.pk if conversation else None),
               **_filter_choices(request),
               "can_start_whatsapp": member_can(request.membership, Permission.WHATSAPP_CONVERSATION_START),
               "conversation": conversation,
               # Events from the moment of this render on reach the page, even those before its stream opens.
               "realtime_cursor": realtime.cursor(workspace_id=request.workspace.pk)}
    if context["can_start_whatsapp"]:
        context.update(_whatsapp_context(request, WhatsAppStartForm(request.workspace)))
    if conversation is not None:
        context.update(_conversation_context(request, conversation))
    return render(request, "console/inbox/page.html", context)


@require(Permission.CONVERSATIONS_VIEW)
def inbox_page(request):
    return _page(request)


# --- one conversation --------------------------------------------------------------------------------------------


def _conversation(request, conversation_id):
    conversation = conversation_get(request.membership, conversation_id)
    if conversation is None:
        raise Http404
    return conversation


def _window(conversation, now) -> dict | None:
    """The 24-hour customer-service window of WhatsApp, Messenger and Instagram, for the header."""
    if conversation.channel not in WINDOW_CHANNELS:
        return None
    left = reply_window_remaining(conversation)
    if left is None:
        return {"open": False, "channel": conversation.channel}
    minutes = int(left.total_seconds() // 60)
    return {"open": True, "channel": conversation.channel, "hours": minutes // 60, "minutes": minutes % 60,
            "ends_at": now + left, "soon": left < datetime.timedelta(hours=2)}


def _header_context(request, conversation, **extra) -> dict:
    membership = request.membership
    follower = conversation.assignee
    mine = follower is not None and follower.pk == membership.pk
    followed_by_other = (follower is not None and not mine and follower.is_active
                         and conversation.state == ConversationState.IN_PROGRESS)
    return {
        "conversation": conversation, "name": customer_name(conversation), "follower": member_label(follower),
        "mine": mine and conversation.state == ConversationState.IN_PROGRESS,
        "followed_by_other": followed_by_other,
        "can_follow": not followed_by_other and not (mine and conversation.state == ConversationState.IN_PROGRESS),
        "can_close": conversation.state != ConversationState.CLOSED,
        "window": _window(conversation, clock.now(conversation.workspace)),
        "takeover_question": _("%(name)s follows this conversation. Take it over?") % {
            "name": member_label(follower)} if followed_by_other else "",
        **extra,
    }


def _activity_text(activity) -> str:
    actor, previous, assignee = (member_label(activity.actor), member_label(activity.previous_assignee),
                                 member_label(activity.assignee))
    kind = activity.kind
    if kind == ActivityKind.FOLLOWED:
        return _("%(name)s followed") % {"name": actor} if actor else _("Followed")
    if kind == ActivityKind.TAKEN_OVER:
        if previous:
            return _("%(name)s took over from %(previous)s") % {"name": actor, "previous": previous}
        return _("%(name)s took over") % {"name": actor}
    if kind == ActivityKind.AUTO_ASSIGNED:
        rule = (activity.data or {}).get("rule")
        if rule:
            return _("Assigned to %(name)s by the keyword rule “%(rule)s”") % {"name": assignee, "rule": rule}
        return _("Assigned to %(name)s by a keyword rule") % {"name": assignee}
    if kind == ActivityKind.UNFOLLOWED:
        return _("%(name)s stopped following") % {"name": actor} if actor else _("Unfollowed")
    if kind == ActivityKind.CLOSED:
        return _("Closed by %(name)s") % {"name": actor} if actor else _("Closed")
    if kind == ActivityKind.REOPENED:
        return _("Reopened by a customer message")
    if kind == ActivityKind.STARTED:
        return _("%(name)s started this conversation") % {"name": actor} if actor else _("Conversation started")
    return activity.get_kind_display()


def _sender(message, members: dict) -> str:
    """Who sent an outbound message, as the agent reads it."""
    source = message.source or ""
    if source.startswith("member:"):
        member = members.get(source.split(":", 1)[1])
        return member_label(member) if member else _("A former member")
    if source.startswith("keyword"):
        return _("Keyword auto-reply")
    if source.startswith("api-token:") or message.purpose == Purpose.API:
        return _("API")
    if message.purpose != Purpose.CHAT:
        return message.get_purpose_display()
    return ""


def _error_text(error) -> str:
    if not error:
        return ""
    if isinstance(error, dict):
        parts = [str(error.get(k)) for k in ("message", "title", "details", "code") if error.get(k)]
        return " · ".join(dict.fromkeys(parts)) or str(error)
    return str(error)


def _templates_for(workspace, messages) -> dict:
    wanted = {(m.content.get("name"), m.content.get("language")) for m in messages
              if isinstance(m.content, dict) and m.content.get("type") == "template"}
    if not wanted:
        return {}
    found = templates_list(workspace).filter(name__in={name for name, _lang in wanted})
    return {(t.name, t.language): t for t in found}


def _bubbles(conversation, messages) -> list[dict]:
    """Messages as the thread shows them: content by kind, who sent it, the tick and a failure's reason."""
    from tidings.core.models import Membership

    member_ids = {m.source.split(":", 1)[1] for m in messages if (m.source or "").startswith("member:")}
    members = {str(m.pk): m for m in Membership.objects.filter(
        workspace_id=conversation.workspace_id, pk__in=[i for i in member_ids if i.isdigit()]).select_related("user")}
    templates = _templates_for(conversation.workspace, messages)
    last_inbound = conversation.identity.last_inbound_at
    out = []
    for m in messages:
        content = m.content if isinstance(m.content, dict) else {"type": "unknown"}
        kind = str(content.get("type") or "unknown")
        tpl = None
        if kind == "template":
            template = templates.get((content.get("name"), content.get("language")))
            if template is not None:
                tpl = template_bubble(template, content.get("parameters") or [],
                                      content.get("header_parameters") or None, content.get("url_parameters") or None)
        outbound = m.direction == Direction.OUTBOUND
        # LINE reports no reads: like the original, a customer reply marks what was delivered before it read.
        inferred_read = (outbound and m.channel == Channel.LINE and last_inbound is not None
                         and m.status in (MessageStatus.SENT, MessageStatus.DELIVERED) and last_inbound > m.created_at)
        out.append({"m": m, "content": content, "kind": kind.replace(".", "_"), "out": outbound, "tpl": tpl,
                    "sender": _sender(m, members) if outbound else "",
                    "status": MessageStatus.READ.value if inferred_read else m.status,
                    "inferred_read": inferred_read, "error": _error_text(m.error)})
    return out


def _thread_items(conversation, messages, *, lower=None, upper=None, after_activity=None, zone, day="") -> list:
    """Messages and activity lines in time order, with a day line wherever the date changes."""
    activities = conversation_activities(conversation)
    if after_activity is not None:
        activities = activities.filter(pk__gt=after_activity)
    if lower is not None:
        activities = activities.filter(at__gte=lower)
    if upper is not None:
        activities = activities.filter(at__lt=upper)
    entries = [(a.at, 0, {"type": "activity", "a": a, "text": _activity_text(a)}) for a in activities]
    entries += [(b["m"].created_at, 1, {"type": "message", **b}) for b in _bubbles(conversation, messages)]
    entries.sort(key=lambda e: (e[0], e[1]))
    items, previous = [], day
    for at, _order, item in entries:
        local_day = timezone.localtime(at, zone).date().isoformat()
        if local_day != previous:
            items.append({"type": "day", "day": local_day, "at": at})
            previous = local_day
        item["day"] = local_day
        items.append(item)
    return items


def _int(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _thread_context(conversation, *, before_id=None) -> dict:
    """The latest page of the history (or the page before `before_id`), with a "load earlier" marker when more."""
    messages = conversation_messages(conversation, before_id=before_id, limit=THREAD_PAGE + 1)
    more = len(messages) > THREAD_PAGE
    if more:
        messages = messages[1:]
    upper = None
    if before_id:
        anchor = Message.objects.filter(pk=before_id, identity_id=conversation.identity_id).first()
        upper = anchor.created_at if anchor else None
    lower = messages[0].created_at if more and messages else None
    items = _thread_items(conversation, messages, lower=lower, upper=upper, zone=_zone(conversation.workspace))
    return {"items": items, "earlier_id": messages[0].pk if more and messages else None,
            "conversation": conversation, "no_messages": not messages and not before_id}


def _conversation_context(request, conversation) -> dict:
    conversation_mark_read(conversation=conversation)  # opening it is reading it
    return {**_header_context(request, conversation), **_thread_context(conversation)}


@require(Permission.CONVERSATIONS_VIEW)
def conversation_view(request, conversation_id):
    """The page with this conversation open; htmx asks for the middle column only."""
    conversation = _conversation(request, conversation_id)
    if request.htmx and request.GET.get("part") == "main":
        return render(request, "console/inbox/_conversation.html", _conversation_context(request, conversation))
    return _page(request, conversation)


@require(Permission.CONVERSATIONS_VIEW)
def conversation_thread(request, conversation_id):
    """Parts of the history (htmx): `before` = the page before that message; `after` (+ `after_activity`, `day`) =
    what came since; `only` = one message again (its tick changed)."""
    conversation = _conversation(request, conversation_id)
    zone = _zone(conversation.workspace)
    if _int(request.GET.get("only")):
        message = Message.objects.filter(pk=int(request.GET["only"]), identity_id=conversation.identity_id).first()
        if message is None:
            raise Http404
        [bubble] = _bubbles(conversation, [message])
        return render(request, "console/inbox/_item.html", {"item": {"type": "message", **bubble}})
    if "after" in request.GET:
        after = _int(request.GET.get("after")) or 0
        latest = conversation_messages(conversation, limit=THREAD_PAGE)
        # More arrived than a page since the last look: the client reloads the whole thread.
        gap = bool(after) and len(latest) == THREAD_PAGE and latest[0].pk > after
        fresh = [m for m in latest if m.pk > after]
        items = _thread_items(conversation, fresh, after_activity=_int(request.GET.get("after_activity")) or 0,
                              zone=zone, day=request.GET.get("day", "")[:10])
        return render(request, "console/inbox/_items.html", {"items": items, "gap": gap})
    return render(request, "console/inbox/_thread.html",
                  _thread_context(conversation, before_id=_int(request.GET.get("before"))))


@require(Permission.CONVERSATIONS_VIEW)
def conversation_header(request, conversation_id):
    conversation = _conversation(request, conversation_id)
    return render(request, "console/inbox/_header.html", _header_context(request, conversation))


def _after_action(request, conversation, **extra):
    """htmx: the new header, and a nudge for the list and the thread; a plain form post goes back to the page."""
    if not request.htmx:
        for text in [extra.get("error"), extra.get("takeover_question") if extra.get("confirm_takeover") else ""]:
            if text:
                messages.error(request, text)
        return redirect("console:inbox_conversation", conversation_id=conversation.pk)
    visible = conversation_get(request.membership, conversation.pk)
    if visible is None:  # e.g. an agent closed it while someone else followed it: it left their view
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("console:inbox")
        return response
    response = render(request, "console/inbox/_header.html", _header_context(request, visible, **extra))
    response["HX-Trigger"] = "inbox:refresh"
    return response


@require_POST
@require(Permission.CONVERSATIONS_VIEW)
def conversation_follow_view(request, conversation_id):
    """Follow (跟進); someone else following it → the "take it over?" question, then takeover=1 does it."""
    conversation = conversation_get_for_takeover(request.membership, conversation_id)
    if conversation is None:
        raise Http404
    try:
        conversation = conversation_follow(conversation=conversation, membership=request.membership,
                                           takeover=request.POST.get("takeover") == "1")
    except FollowedByAnother as exc:
        conversation.refresh_from_db()
        return _after_action(request, conversation, confirm_takeover=True, takeover_question=str(exc.message))
    except ServiceError as exc:
        return _after_action(request, conversation, error=str(exc.message))
    return _after_action(request, conversation)


@require_POST
@require(Permission.CONVERSATIONS_VIEW)
def conversation_close_view(request, conversation_id):
    conversation = conversation_close(conversation=_conversation(request, conversation_id),
                                      membership=request.membership)
    return _after_action(request, conversation)


@require_POST
@require(Permission.CONVERSATIONS_VIEW)
def conversation_read_view(request, conversation_id):
    """The open conversation got a customer message while the agent was looking at it."""
    conversation_mark_read(conversation=_conversation(request, conversation_id))
    return HttpResponse(status=204)


# --- new WhatsApp conversation (I2) -------------------------------------------------------------------------------


def region_choices() -> list[tuple[str, str]]:
    # The code first: it is what a narrow select still shows.
    return [(code, f"+{phonenumbers.country_code_for_region(code)} {name}") for code, name in REGIONS]


class WhatsAppStartForm(forms.Form):
    region = forms.ChoiceField(label=gettext_lazy("Country code"), initial=DEFAULT_WHATSAPP_REGION)
    phone = forms.CharField(label=gettext_lazy("WhatsApp phone number"), max_length=40, error_messages={
                                "required": gettext_lazy("Enter the customer's WhatsApp phone number.")},
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off",
                                                          "placeholder": "6123 4567"}))
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False,
                           help_text=gettext_lazy("Optional: the phone number is used when left empty."))
    account = forms.ChoiceField(label=gettext_lazy("From the WhatsApp number"), required=False)
    takeover = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, workspace, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = region_choices()
        self.accounts = list(ChannelAccount.objects.for_workspace(workspace)
                             .filter(channel=Channel.WHATSAPP, is_active=True).order_by("id"))
        self.fields["account"].choices = [(str(a.pk), a.name) for a in self.accounts]
        if len(self.accounts) < 2:
            del self.fields["account"]

    def chosen_account(self):
        wanted = self.cleaned_data.get("account")
        return next((a for a in self.accounts if str(a.pk) == wanted), None)


def _whatsapp_context(request, form, **extra) -> dict:
    return {"wa_form": form, "wa_ready": bool(form.accounts), "can_channels": member_can(
        request.membership, Permission.CHANNELS_MANAGE), **extra}


@require(Permission.WHATSAPP_CONVERSATION_START)
def whatsapp_start(request):
    """GET: the form (a page of its own without JavaScript); POST: start, or ask to take over, or show what is wrong."""
    template = "console/inbox/_whatsapp_form.html" if request.htmx else "console/inbox/whatsapp.html"
    if request.method != "POST":
        return render(request, template, _whatsapp_context(request, WhatsAppStartForm(request.workspace)))
    form = WhatsAppStartForm(request.workspace, request.POST)
    confirm = customer = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            conversation = whatsapp_conversation_start(
                workspace=request.workspace, membership=request.membership, phone=data["phone"], name=data["name"],
                region=data["region"], takeover=bool(data["takeover"]), account=form.chosen_account())
        except FollowedByAnother as exc:
            confirm = str(exc.message)
            found = conversation_get_for_takeover(request.membership, exc.conversation.pk)
            customer = f"{customer_name(found)} · {found.contact.phone or data['phone']}" if found else ""
        except ServiceError as exc:
            form_error(form, exc)
        else:
            url = reverse("console:inbox_conversation", kwargs={"conversation_id": conversation.pk})
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    return render(request, template, _whatsapp_context(request, form, confirm=confirm, confirm_customer=customer))


URLS = [
    path("inbox/", inbox_page, name="inbox"),
    path("inbox/list", inbox_list, name="inbox_list"),
    path("inbox/whatsapp", whatsapp_start, name="inbox_whatsapp_start"),
    path("inbox/<int:conversation_id>/", conversation_view, name="inbox_conversation"),
    path("inbox/<int:conversation_id>/thread", conversation_thread, name="inbox_thread"),
    path("inbox/<int:conversation_id>/header", conversation_header, name="inbox_header"),
    path("inbox/<int:conversation_id>/follow", conversation_follow_view, name="inbox_follow"),
    path("inbox/<int:conversation_id>/close", conversation_close_view, name="inbox_close"),
    path("inbox/<int:conversation_id>/read", conversation_read_view, name="inbox_read"),
]
