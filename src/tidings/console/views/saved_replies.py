"""Saved replies (預存回覆, SPEC I5): the list a member may use (their own and the team's) with search and category,
and the form to write one. Every inbox user keeps personal replies; Admins, Supervisors and CS Managers also write
the team's. The composer picks them from the conversation (inbox_compose.py)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tidings.core.errors import NotFound, ServiceError
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can
from tidings.inbox import saved_replies as replies
from tidings.inbox.models import SavedReply

from ..access import form_error, require

PAGE_SIZE = 50
SCOPES = (("", gettext_lazy("Mine and the team's")), ("mine", gettext_lazy("Only mine")),
          ("team", gettext_lazy("The team's")))


class SavedReplyForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=replies.TITLE_MAX, help_text=gettext_lazy(
        "What the team searches for in the composer, e.g. “Opening hours”."))
    category = forms.CharField(label=gettext_lazy("Category"), max_length=replies.CATEGORY_MAX, required=False,
                               widget=forms.TextInput(attrs={"list": "reply-categories", "autocomplete": "off"}),
                               help_text=gettext_lazy("Optional: groups replies in the composer, e.g. “Orders”."))
    text = forms.CharField(label=gettext_lazy("Text"), max_length=replies.TEXT_MAX, required=False,
                           widget=forms.Textarea(attrs={"rows": 6, "data-reply-text": ""}))
    image_url = forms.CharField(label=gettext_lazy("Image address (optional)"), max_length=1000, required=False,
                                widget=forms.URLInput(attrs={"placeholder": "https://"}), help_text=gettext_lazy(
                                    "An https:// image sent with the text, e.g. your menu."))
    team_wide = forms.TypedChoiceField(
        label=gettext_lazy("Who can use it"), coerce=lambda v: v == "team", initial="mine", widget=forms.RadioSelect,
        choices=(("mine", gettext_lazy("Only me")), ("team", gettext_lazy("Everyone on the team"))))

    def __init__(self, *args, can_share: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_share:
            del self.fields["team_wide"]

    def data_for_service(self) -> dict:
        data = self.cleaned_data
        fields = {key: data[key] for key in ("title", "category", "text", "image_url")}
        if "team_wide" in self.fields:
            fields["team_wide"] = data["team_wide"]
        return fields


def text_parts(text: str) -> list[tuple[str, bool]]:
    """The reply's text in pieces, variables flagged, so the list can show them as chips."""
    parts, last = [], 0
    for match in replies.VARIABLE.finditer(text or ""):
        if match.group(1) in replies.VARIABLES:
            parts += [(text[last:match.start()], False), (match.group(0), True)]
            last = match.end()
    parts.append(((text or "")[last:], False))
    return [part for part in parts if part[0]]


def _can_share(request) -> bool:
    return member_can(request.membership, Permission.SAVED_REPLIES_MANAGE)


def _reply(request, saved_reply_id) -> SavedReply:
    reply = replies.saved_reply_get(request.membership, saved_reply_id)
    if reply is None:
        raise Http404
    return reply


def _form_page(request, form, reply=None):
    return render(request, "console/saved_replies/form.html", {
        "form": form, "reply": reply, "variables": replies.variables_help(),
        "categories": replies.saved_reply_categories(request.membership),
        "title": _("Edit saved reply") if reply else _("New saved reply"),
        "sample": {"{name}": _("Chan Tai Man"), "{phone}": "+852 6123 4567", "{email}": "taiman@example.com",
                   "{agent}": replies.member_label(request.membership), "{brand}": request.workspace.name},
    }, status=422 if form.errors else 200)


@require(Permission.CONVERSATIONS_VIEW)
def saved_reply_list(request):
    filters = {"q": request.GET.get("q", "").strip(), "category": request.GET.get("category", ""),
               "scope": request.GET.get("scope", "") if request.GET.get("scope") in ("mine", "team") else ""}
    found = replies.saved_replies_for(request.membership, filters["q"], filters["category"], scope=filters["scope"])
    page = Paginator(found.select_related("owner__user"), PAGE_SIZE).get_page(request.GET.get("page"))
    for reply in page:
        reply.parts = text_parts(reply.text)
        reply.editable = replies.can_edit(request.membership, reply)
    context = {"page": page, "filters": filters, "filtered": any(filters.values()), "scopes": SCOPES,
               "categories": replies.saved_reply_categories(request.membership), "can_share": _can_share(request),
               "variables": replies.variables_help()}
    return render(request, "console/saved_replies/list.html", context)


@require(Permission.CONVERSATIONS_VIEW)
def saved_reply_add(request):
    form = SavedReplyForm(request.POST or None, can_share=_can_share(request),
                          initial={"team_wide": "mine", "category": request.GET.get("category", "")})
    if request.method == "POST" and form.is_valid():
        try:
            reply = replies.saved_reply_create(membership=request.membership, **form.data_for_service())
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Saved reply “%(title)s” was added.") % {"title": reply.title})
            return redirect("console:saved_replies")
    return _form_page(request, form)


@require(Permission.CONVERSATIONS_VIEW)
def saved_reply_edit(request, saved_reply_id):
    reply = _reply(request, saved_reply_id)
    if not replies.can_edit(request.membership, reply):
        raise PermissionDenied
    initial = {"title": reply.title, "category": reply.category, "text": reply.text, "image_url": reply.image_url,
               "team_wide": "team" if reply.owner_id is None else "mine"}
    form = SavedReplyForm(request.POST or None, can_share=_can_share(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            reply = replies.saved_reply_update(membership=request.membership, reply=reply,
                                               **form.data_for_service())
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Saved reply “%(title)s” was saved.") % {"title": reply.title})
            return redirect("console:saved_replies")
    return _form_page(request, form, reply)


@require(Permission.CONVERSATIONS_VIEW)
@require_POST
def saved_reply_delete(request, saved_reply_id):
    reply = _reply(request, saved_reply_id)
    if not replies.can_edit(request.membership, reply):
        raise PermissionDenied
    try:
        replies.saved_reply_delete(membership=request.membership, reply=reply)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Saved reply “%(title)s” was deleted.") % {"title": reply.title})
    return redirect("console:saved_replies")


URLS = [
    path("inbox/saved-replies/", saved_reply_list, name="saved_replies"),
    path("inbox/saved-replies/add", saved_reply_add, name="saved_reply_add"),
    path("inbox/saved-replies/<int:saved_reply_id>/edit", saved_reply_edit, name="saved_reply_edit"),
    path("inbox/saved-replies/<int:saved_reply_id>/delete", saved_reply_delete, name="saved_reply_delete"),
]
