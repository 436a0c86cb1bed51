"""The contact list (search, filters, bulk tagging, links to import and export) and the tags page (rename, delete). The profile and
its in-place edits live in `contact_profile.py`; its routes are listed here too."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tidings.contacts import selectors as contact_reads
from tidings.contacts import services as contact_writes
from tidings.contacts.models import Channel
from tidings.core.errors import NotFound, ServiceError
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can

from .. import contact_selectors as reads
from ..access import require
from . import contact_profile

FILTER_KEYS = ("q", "channel", "tag", "subscribed", "bound")
YES_NO = {"yes": True, "no": False}
SUBSCRIPTION_CHOICES = (("", gettext_lazy("Any subscription")), ("yes", gettext_lazy("Subscribed")),
                        ("no", gettext_lazy("Not subscribed")))
BINDING_CHOICES = (("", gettext_lazy("Any binding state")), ("yes", gettext_lazy("Bound")),
                   ("no", gettext_lazy("Not bound")))


def list_filters(params) -> dict:
    """The list's filters from a query string, unknown values dropped (a bad link shows everything, not an error)."""
    q = (params.get("q") or "").strip()[:200]
    channel = params.get("channel", "")
    subscribed = params.get("subscribed", "")
    bound = params.get("bound", "")
    return {
        "q": q,
        "channel": channel if channel in Channel.values else "",
        "tag": (params.get("tag") or "").strip()[:100],
        "subscribed": subscribed if subscribed in YES_NO else "",
        "bound": bound if bound in YES_NO else "",
    }


def filtered_contacts(workspace, filters: dict) -> reads.ListResults:
    return reads.list_results(workspace, q=filters["q"], channel=filters["channel"], tag=filters["tag"],
                              subscribed=YES_NO.get(filters["subscribed"]), bound=YES_NO.get(filters["bound"]))


def _query(filters: dict) -> str:
    return urlencode({k: v for k, v in filters.items() if v})


@require(Permission.CONTACTS_VIEW)
def contact_list(request):
    workspace = request.workspace
    filters = list_filters(request.GET)
    page = reads.contacts_page(filtered_contacts(workspace, filters), request.GET.get("page"))
    rows = [reads.list_row(c) for c in page.object_list]
    query = _query(filters)
    return render(request, "console/contacts/list.html", {
        "page": page, "rows": rows, "filters": filters, "query": query, "filtered": bool(query),
        "channels": Channel.choices, "subscriptions": SUBSCRIPTION_CHOICES, "bindings": BINDING_CHOICES,
        "tag_names": reads.tag_names(workspace), "cap": reads.COUNT_CAP,
        "can_edit": member_can(request.membership, Permission.CONTACTS_EDIT),
        "can_import": member_can(request.membership, Permission.CONTACTS_IMPORT),
        "can_export": member_can(request.membership, Permission.CONTACTS_EXPORT),
        "can_attributes": member_can(request.membership, Permission.ATTRIBUTES_EDIT),
        "can_channels": member_can(request.membership, Permission.CHANNELS_MANAGE),
        "section": "contacts",
    })


def _back(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _tag_names(raw: str) -> list[str]:
    """Several tags may be typed at once, separated by commas (either width)."""
    return [name.strip() for name in raw.replace("，", ",").split(",") if name.strip()]


@require_POST
@require(Permission.CONTACTS_EDIT)
def contacts_bulk_tags(request):
    """Add or remove tags on the ticked contacts, or on every contact the list's filters match (up to the cap)."""
    workspace = request.workspace
    back = _back(request, reverse("console:contacts"))
    names = _tag_names(request.POST.get("tags", ""))
    action = request.POST.get("action")
    if action not in ("add", "remove") or not names:
        messages.error(request, _("Type a tag, then choose “Add tag” or “Remove tag”."))
        return redirect(back)
    if request.POST.get("scope") == "all":
        contact_ids = reads.matching_ids(filtered_contacts(workspace, list_filters(request.POST)),
                                         reads.COUNT_CAP)
    else:
        contact_ids = [int(v) for v in request.POST.getlist("contact_ids") if v.isdigit()]
    if not contact_ids:
        messages.error(request, _("Tick at least one contact first."))
        return redirect(back)
    service = contact_writes.tags_add if action == "add" else contact_writes.tags_remove
    try:
        changed = service(workspace=workspace, contact_ids=contact_ids, names=names, by=request.membership)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect(back)
    tags = ", ".join(names)
    if action == "add":
        text = _("Tag %(tags)s added to %(n)s contacts.") % {"tags": tags, "n": changed}
    else:
        text = _("Tag %(tags)s removed from %(n)s contacts.") % {"tags": tags, "n": changed}
    messages.success(request, text)
    return redirect(back)


@require(Permission.CONTACTS_VIEW)
def tag_list(request):
    q = (request.GET.get("q") or "").strip()[:100]
    tags = list(contact_reads.tags_list(request.workspace, q=q))
    return render(request, "console/contacts/tags.html", {
        "tags": tags, "q": q, "section": "tags",
        "can_edit": member_can(request.membership, Permission.CONTACTS_EDIT),
        "can_attributes": member_can(request.membership, Permission.ATTRIBUTES_EDIT),
        "can_import": member_can(request.membership, Permission.CONTACTS_IMPORT),
    })


@require_POST
@require(Permission.CONTACTS_VIEW)  # the tags page's own actions: a member who cannot see the page cannot use them
@require(Permission.CONTACTS_EDIT)
def tag_rename(request, tag_id: int):
    try:
        tag = contact_writes.tag_rename(workspace=request.workspace, tag_id=tag_id, name=request.POST.get("name", ""),
                                        by=request.membership)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Tag renamed to %(name)s.") % {"name": tag.name})
    return redirect("console:tags")


@require_POST
@require(Permission.CONTACTS_VIEW)  # the tags page's own actions: a member who cannot see the page cannot use them
@require(Permission.CONTACTS_EDIT)
def tag_delete(request, tag_id: int):
    try:
        removed = contact_writes.tag_delete(workspace=request.workspace, tag_id=tag_id, by=request.membership)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Tag deleted; %(n)s contacts no longer have it.") % {"n": removed})
    return redirect("console:tags")


URLS = [
    path("contacts/", contact_list, name="contacts"),
    path("contacts/bulk-tags", contacts_bulk_tags, name="contacts_bulk_tags"),
    path("contacts/tags/", tag_list, name="tags"),
    path("contacts/tags/<int:tag_id>/rename", tag_rename, name="tag_rename"),
    path("contacts/tags/<int:tag_id>/delete", tag_delete, name="tag_delete"),
    *contact_profile.URLS,
]
