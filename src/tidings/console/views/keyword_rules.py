"""Keyword rules (SPEC I4): the auto-reply and auto-assign lists (tabs, search, each rule's trigger count), the
condition page — the rule's form with its trigger count in total and per channel — switching on/off and deleting.

Auto-reply needs KEYWORD_REPLY_MANAGE, auto-assign KEYWORD_ASSIGN_MANAGE; a rule's own pages ask for its kind's.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from tidings.channels.models import ChannelAccount
from tidings.contacts.models import Channel
from tidings.core.errors import ServiceError
from tidings.core.roles import Role
from tidings.inbox.keyword_rules import (
    ASSIGNABLE_ROLES,
    assignable_members,
    keyword_rule_create,
    keyword_rule_delete,
    keyword_rule_get,
    keyword_rule_set_active,
    keyword_rule_update,
    keyword_rules_list,
    may_manage,
    rule_kind_counts,
    trigger_counts_by_channel,
)
from tidings.inbox.models import AssignOrder, MatchType, RuleKind
from tidings.inbox.services import member_label

PER_PAGE = 20
LIST_URL = {RuleKind.REPLY: "console:keyword_rules", RuleKind.ASSIGN: "console:keyword_rules_assign"}
ADD_URL = {RuleKind.REPLY: "console:keyword_rule_add", RuleKind.ASSIGN: "console:keyword_rule_add_assign"}
REPLY_TEXT, REPLY_IMAGE, REPLY_NONE = "text", "image", "none"


def _radios():
    return forms.RadioSelect(attrs={"class": "choice-row"})


class KeywordRuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("For your team, e.g. “Opening hours”. Search finds it by name or "
                                                  "keyword."))
    is_active = forms.BooleanField(label=gettext_lazy("On"), required=False)
    match_type = forms.ChoiceField(label=gettext_lazy("The customer's message"), choices=MatchType.choices,
                                   widget=_radios())
    keywords = forms.CharField(
        label=gettext_lazy("Keywords"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line. Upper and lower case match each other; full-width and half-width "
                               "letters do not (ＡＢＣ is not ABC). “Exactly matches” takes one keyword."))
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("Channels"), choices=Channel.choices, required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choice-row"}),
        help_text=gettext_lazy("None ticked: every channel."))
    reply_type = forms.ChoiceField(label=gettext_lazy("Reply with"), widget=_radios(), choices=[
        (REPLY_TEXT, gettext_lazy("Text")), (REPLY_IMAGE, gettext_lazy("Image")),
        (REPLY_NONE, gettext_lazy("No reply (only add the tags)"))])
    reply_text = forms.CharField(label=gettext_lazy("Reply text"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 4}))
    reply_image_url = forms.CharField(label=gettext_lazy("Image address"), required=False,
                                      widget=forms.URLInput(attrs={"placeholder": "https://"}),
                                      help_text=gettext_lazy("An https:// address of a JPEG or PNG image."))
    include_in_progress = forms.BooleanField(
        label=gettext_lazy("Also answer conversations in progress"), required=False,
        help_text=gettext_lazy("Off: it answers pending and closed conversations only, since someone already follows "
                               "a conversation in progress."))
    assign_target = forms.ChoiceField(label=gettext_lazy("Assign to"), widget=_radios(), choices=[
        ("member", gettext_lazy("A team member")), ("role", gettext_lazy("A team (everyone with a role)"))])
    assign_member = forms.ChoiceField(label=gettext_lazy("Member"), required=False)
    assign_role = forms.ChoiceField(label=gettext_lazy("Team"), required=False,
                                    choices=[("", "—")] + [(r.value, r.label) for r in ASSIGNABLE_ROLES])
    assign_order = forms.ChoiceField(
        label=pgettext_lazy("assignment order", "Order"), choices=AssignOrder.choices, widget=_radios(),
        help_text=gettext_lazy("In turn follows the order members joined; deactivated members are skipped."))
    tags = forms.CharField(label=gettext_lazy("Add tags to the customer"), required=False,
                           help_text=gettext_lazy("Optional; separate several with commas."))

    REPLY_ONLY = ("reply_type", "reply_text", "reply_image_url", "include_in_progress")
    ASSIGN_ONLY = ("assign_target", "assign_member", "assign_role", "assign_order")

    def __init__(self, *args, kind: str, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name in self.ASSIGN_ONLY if kind == RuleKind.REPLY else self.REPLY_ONLY:
            del self.fields[name]
        if kind == RuleKind.ASSIGN:
            self.fields["assign_member"].choices = [("", "—")] + [
                (str(m.pk), f"{member_label(m)} · {Role(m.role).label}") for m in assignable_members(workspace)]

    def data_for_service(self) -> dict:
        data = self.cleaned_data
        values = {"name": data["name"], "is_active": data["is_active"], "match_type": data["match_type"],
                  "keywords": data["keywords"].splitlines(), "channels": data["channels"],
                  "tags": [t.strip() for t in data["tags"].replace("，", ",").split(",") if t.strip()]}
        if self.kind == RuleKind.REPLY:
            text, url = data["reply_text"].strip(), data["reply_image_url"].strip()
            values["reply_contents"] = {
                REPLY_TEXT: [{"type": "text", "text": text}] if text else [],
                REPLY_IMAGE: [{"type": "image", "url": url}] if url else [],
            }.get(data["reply_type"], [])
            values["include_in_progress"] = data["include_in_progress"]
            if data["reply_type"] != REPLY_NONE and not values["reply_contents"]:
                field = "reply_text" if data["reply_type"] == REPLY_TEXT else "reply_image_url"
                raise ServiceError(_("Write the reply, or choose “No reply”."), field=field)
        else:
            member = data["assign_target"] == "member"
            values["assign_member"] = data["assign_member"] if member else None
            values["assign_role"] = "" if member else data["assign_role"]
            values["assign_order"] = data["assign_order"]
            if member and not values["assign_member"]:
                raise ServiceError(_("Choose the member to assign to."), field="assign_member")
            if not member and not values["assign_role"]:
                raise ServiceError(_("Choose the team to assign to."), field="assign_role")
        return values

    @staticmethod
    def initial_of(rule) -> dict:
        first = (rule.reply_contents or [{}])[0]
        return {
            "name": rule.name, "is_active": rule.is_active, "match_type": rule.match_type,
            "keywords": "\n".join(rule.keywords or []), "channels": rule.channels, "tags": ", ".join(rule.tags or []),
            "reply_type": first.get("type", REPLY_NONE), "reply_text": first.get("text", ""),
            "reply_image_url": first.get("url", ""), "include_in_progress": rule.include_in_progress,
            "assign_target": "role" if rule.assign_role else "member",
            "assign_member": str(rule.assign_member_id or ""), "assign_role": rule.assign_role,
            "assign_order": rule.assign_order,
        }

    def show_error(self, exc: ServiceError) -> None:
        field = exc.field or ""
        if field.startswith("reply_contents") and "reply_type" in self.fields:
            kind = self.data.get("reply_type")
            field = {REPLY_TEXT: "reply_text", REPLY_IMAGE: "reply_image_url"}.get(kind, "reply_type")
        elif field == "assign_member" and self.data.get("assign_target") == "role":
            field = "assign_role"
        self.add_error(field if field in self.fields else None, str(exc.message))


def _require_kind(request, kind: str) -> None:
    if not may_manage(request.membership, kind):
        raise PermissionDenied


def _rule(request, keyword_rule_id):
    """The rule of this workspace (else 404), if the member may manage its kind (else 403)."""
    rule = keyword_rule_get(request.workspace, keyword_rule_id)
    if rule is None:
        raise Http404
    _require_kind(request, rule.kind)
    return rule


def _channel_label(channel: str) -> str:
    try:
        return str(Channel(channel).label)
    except ValueError:
        return channel


def _breakdown(counts: dict[str, int], connected: set[str]) -> list[dict]:
    """Per-channel counts in the channels' usual order; a channel no longer connected says so."""
    order = {c: i for i, c in enumerate(Channel.values)}
    return [{"channel": c, "label": _channel_label(c), "count": n, "connected": c in connected}
            for c, n in sorted(counts.items(), key=lambda item: order.get(item[0], 99))]


def _target(rule) -> str:
    """Who an auto-assign rule hands conversations to, as the list says it."""
    if rule.assign_member_id:
        return member_label(rule.assign_member)
    if rule.assign_role:
        return str(Role(rule.assign_role).label)
    return ""


def _connected_channels(workspace) -> set[str]:
    return set(ChannelAccount.objects.for_workspace(workspace).filter(is_active=True)
               .values_list("channel", flat=True))


@login_required
def keyword_rules_page(request, kind: str):
    """One tab of rules, in the order they get their chance, with their trigger counts."""
    _require_kind(request, kind)
    q = request.GET.get("q", "").strip()
    page = Paginator(keyword_rules_list(request.workspace, kind=kind, q=q), PER_PAGE).get_page(request.GET.get("page"))
    per_channel = trigger_counts_by_channel(r.pk for r in page.object_list)
    connected = _connected_channels(request.workspace)
    rows = [{"rule": r, "channels": [_channel_label(c) for c in r.channels], "target": _target(r),
             "reply": (r.reply_contents or [None])[0], "breakdown": _breakdown(per_channel.get(r.pk, {}), connected)}
            for r in page.object_list]
    return render(request, "console/keyword_rules/list.html", {
        "kind": kind, "rows": rows, "page": page, "q": q, "counts": rule_kind_counts(request.workspace),
        "can_reply": may_manage(request.membership, RuleKind.REPLY),
        "can_assign": may_manage(request.membership, RuleKind.ASSIGN),
        "add_url": ADD_URL[kind],
    })


def _editor(request, form, kind: str, rule=None):
    context = {"form": form, "kind": kind, "rule": rule, "list_url": LIST_URL[kind]}
    if rule is not None:
        breakdown = _breakdown(trigger_counts_by_channel([rule.pk]).get(rule.pk, {}),
                               _connected_channels(request.workspace))
        context.update(breakdown=breakdown, chart={
            "labels": [b["label"] for b in breakdown], "counts": [b["count"] for b in breakdown],
            "channels": [b["channel"] for b in breakdown], "title": _("Triggered")},
            chart_height=48 + 40 * len(breakdown))
    return render(request, "console/keyword_rules/form.html", context)


@login_required
def keyword_rule_add(request, kind: str):
    _require_kind(request, kind)
    initial = {"is_active": True, "match_type": MatchType.CONTAINS_ANY, "reply_type": REPLY_TEXT,
               "assign_target": "member", "assign_order": AssignOrder.IN_TURN}
    form = KeywordRuleForm(request.POST or None, initial=initial, kind=kind, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            rule = keyword_rule_create(workspace=request.workspace, kind=kind, data=form.data_for_service(),
                                       by=request.membership)
        except ServiceError as exc:
            form.show_error(exc)
        else:
            messages.success(request, _("Keyword rule %(name)s was saved.") % {"name": rule.name})
            return redirect(LIST_URL[kind])
    return _editor(request, form, kind)


@login_required
def keyword_rule_edit(request, keyword_rule_id):
    """The condition page: how many times the rule fired (total and per channel), and its settings."""
    rule = _rule(request, keyword_rule_id)
    form = KeywordRuleForm(request.POST or None, initial=KeywordRuleForm.initial_of(rule), kind=rule.kind,
                           workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            saved = keyword_rule_update(workspace=request.workspace, rule=rule, data=form.data_for_service(),
                                        by=request.membership)
        except ServiceError as exc:
            form.show_error(exc)
        else:
            messages.success(request, _("Keyword rule %(name)s was saved.") % {"name": saved.name})
            return redirect(LIST_URL[rule.kind])
    return _editor(request, form, rule.kind, rule)


@require_POST
@login_required
def keyword_rule_set_active_view(request, keyword_rule_id):
    rule = _rule(request, keyword_rule_id)
    active = request.POST.get("active") == "1"
    keyword_rule_set_active(workspace=request.workspace, rule=rule, active=active, by=request.membership)
    text = _("Keyword rule %(name)s is on.") if active else _("Keyword rule %(name)s is off.")
    messages.success(request, text % {"name": rule.name})
    return redirect(LIST_URL[rule.kind])


@require_POST
@login_required
def keyword_rule_delete_view(request, keyword_rule_id):
    rule = _rule(request, keyword_rule_id)
    keyword_rule_delete(workspace=request.workspace, rule=rule, by=request.membership)
    messages.success(request, _("Keyword rule %(name)s was deleted.") % {"name": rule.name})
    return redirect(LIST_URL[rule.kind])


URLS = [
    path("keyword-rules/", keyword_rules_page, {"kind": RuleKind.REPLY}, name="keyword_rules"),
    path("keyword-rules/assign/", keyword_rules_page, {"kind": RuleKind.ASSIGN}, name="keyword_rules_assign"),
    path("keyword-rules/add", keyword_rule_add, {"kind": RuleKind.REPLY}, name="keyword_rule_add"),
    path("keyword-rules/assign/add", keyword_rule_add, {"kind": RuleKind.ASSIGN}, name="keyword_rule_add_assign"),
    path("keyword-rules/<int:keyword_rule_id>/", keyword_rule_edit, name="keyword_rule"),
    path("keyword-rules/<int:keyword_rule_id>/active", keyword_rule_set_active_view, name="keyword_rule_set_active"),
    path("keyword-rules/<int:keyword_rule_id>/delete", keyword_rule_delete_view, name="keyword_rule_delete"),
]
