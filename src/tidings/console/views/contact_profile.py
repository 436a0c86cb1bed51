"""A contact's profile: details, channel identities, binding, tags, custom attributes, notes, interaction times,
the website events timeline, recent messages and merge history — with in-place edits over htmx (each edit answers
with the re-rendered card; without JavaScript the forms post and come back to the page)."""

import datetime
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tidings.binding.selectors import bindings_of
from tidings.channels.adapters.messenger.window import in_window
from tidings.contacts import selectors as contact_reads
from tidings.contacts import services as contact_writes
from tidings.contacts.models import AttributeType, Contact, EventType
from tidings.contacts.tracking import contact_events
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can

from .. import contact_selectors as reads
from ..access import form_error, require

TEMPLATE = "console/contacts/profile.html"
WINDOW_CHANNELS = ("whatsapp", "messenger", "instagram")  # channels with a 24-hour customer-service window
EVENT_ICONS = {EventType.VIEW_PRODUCT: "eye", EventType.ADD_TO_CART: "cart", EventType.REMOVE_FROM_CART: "cart-x",
               EventType.CHECKOUT: "card", EventType.PURCHASE: "bag"}


class DetailsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False,
                            help_text=gettext_lazy("With the country code, e.g. +852 6123 4567."))
    email = forms.CharField(label=gettext_lazy("Email"), max_length=254, required=False)
    member_id = forms.CharField(label=gettext_lazy("Member id"), max_length=100, required=False,
                                help_text=gettext_lazy("The customer's number in your shop or membership system."))


def _contact(request, contact_id) -> Contact:
    contact = contact_reads.contact_get(request.workspace, contact_id)
    if contact is None:
        raise Http404
    return contact


def _can(request, permission) -> bool:
    return member_can(request.membership, permission)


def _events(workspace, contact) -> list[dict]:
    return [reads.event_view(event) for event in contact_events(workspace, contact, limit=50)]


def attribute_rows(workspace, contact, editing: str = "") -> list[dict]:
    values = contact.attributes or {}
    return [{"attribute": a, "value": values.get(a.key), "display": attribute_display(a, values.get(a.key)),
             "editing": a.key == editing} for a in contact_reads.custom_attributes_list(workspace)]


def attribute_display(attribute, value) -> str:
    """A stored value as people read it; "" when unset."""
    if value is None or value == "":
        return ""
    if attribute.type == AttributeType.BOOLEAN:
        return str(_("Yes")) if value in (True, "true", "True", 1) else str(_("No"))
    if attribute.type == AttributeType.DATE:
        try:
            return datetime.date.fromisoformat(str(value)[:10]).strftime("%Y-%m-%d")
        except ValueError:
            return str(value)
    return str(value)


def identity_rows(workspace, contact) -> list[dict]:
    now = clock.now(workspace)
    return [{"identity": i, "has_window": i.channel in WINDOW_CHANNELS,
             "window_open": i.channel in WINDOW_CHANNELS and in_window(i.last_inbound_at, now)}
            for i in reads.identities_of(contact)]


def _notes(contact):
    return list(contact.notes.select_related("author__user").order_by("-created_at")[:50])


def _context(request, contact, **extra) -> dict:
    return {
        "contact": contact,
        "can_edit": _can(request, Permission.CONTACTS_EDIT),
        "can_merge": _can(request, Permission.CONTACTS_MERGE),
        "can_binding": _can(request, Permission.SOCIAL_BINDING_MANAGE),
        "can_attributes": _can(request, Permission.ATTRIBUTES_EDIT),
        **extra,
    }


@require(Permission.CONTACTS_VIEW)
def contact_detail(request, contact_id):
    contact = _contact(request, contact_id)
    if contact.merged_into_id:
        # A merged contact lives on in the one it was merged into (its merge history is shown there).
        kept = contact_reads.contact_resolve(request.workspace, contact.pk)
        messages.info(request, _("This contact was merged into %(name)s.") % {"name": kept})
        return redirect("console:contact", contact_id=kept.pk)
    workspace = request.workspace
    # ?edit=details or ?edit=<attribute key>: the page with that part as a form (the no-JavaScript way to edit).
    edit = request.GET.get("edit", "") if _can(request, Permission.CONTACTS_EDIT) else ""
    initial = {"name": contact.name, "phone": contact.phone, "email": contact.email, "member_id": contact.member_id}
    return render(request, TEMPLATE, _context(
        request, contact,
        details_form=DetailsForm(initial=initial) if edit == "details" else None,
        identities=identity_rows(workspace, contact),
        bindings=list(bindings_of(workspace, contact)),
        tag_names=reads.tag_names(workspace),
        attributes=attribute_rows(workspace, contact, editing=edit),
        notes=_notes(contact),
        events=_events(workspace, contact),
        event_icons=EVENT_ICONS,
        recent=reads.recent_messages(workspace, contact),
        merges=list(contact_reads.contact_merges(workspace, contact)[:50]),
        note_error="",
    ))


def _partial(request, contact, name: str, **extra):
    return render(request, f"{TEMPLATE}#{name}", _context(request, contact, **extra))


def _done(request, contact, name: str, **extra):
    """htmx gets the re-rendered card; a plain form post goes back to the page."""
    if request.htmx:
        return _partial(request, contact, name, **extra)
    return redirect("console:contact", contact_id=contact.pk)


def _profile_url(contact, edit: str = "") -> str:
    url = reverse("console:contact", kwargs={"contact_id": contact.pk})
    return f"{url}?{urlencode({'edit': edit})}" if edit else url


@require(Permission.CONTACTS_EDIT)
def contact_details(request, contact_id):
    """GET ?edit=1: the header as a form (else read-only); POST: save name, phone, email and member id."""
    contact = _contact(request, contact_id)
    initial = {"name": contact.name, "phone": contact.phone, "email": contact.email, "member_id": contact.member_id}
    if request.method != "POST":
        editing = request.GET.get("edit") == "1"
        if not request.htmx:
            return redirect(_profile_url(contact, "details" if editing else ""))
        return _partial(request, contact, "details", details_form=DetailsForm(initial=initial) if editing else None)
    form = DetailsForm(request.POST, initial=initial)
    if form.is_valid():
        changes = {k: v.strip() for k, v in form.cleaned_data.items() if v.strip() != initial[k]}
        try:
            if changes:
                contact = contact_writes.contact_update(workspace=request.workspace, contact=contact,
                                                        by=request.membership, **changes)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            if not request.htmx:
                messages.success(request, _("Contact details saved."))
            return _done(request, contact, "details", details_form=None)
    if not request.htmx:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(_profile_url(contact, "details"))
    return _partial(request, contact, "details", details_form=form)


@require_POST
@require(Permission.CONTACTS_EDIT)
def contact_tags(request, contact_id):
    contact = _contact(request, contact_id)
    names = [n.strip() for n in request.POST.get("tags", "").replace("，", ",").split(",") if n.strip()]
    action = request.POST.get("action", "add")
    tag_error = ""
    if names and action in ("add", "remove"):
        service = contact_writes.tags_add if action == "add" else contact_writes.tags_remove
        try:
            service(workspace=request.workspace, contact_ids=[contact.pk], names=names, by=request.membership)
        except ServiceError as exc:
            tag_error = str(exc.message)
    elif not names:
        tag_error = _("Type a tag name.")
    if tag_error and not request.htmx:
        messages.error(request, tag_error)
    return _done(request, contact, "tags", tag_names=reads.tag_names(request.workspace), tag_error=tag_error)


def _attribute_value(attribute, post) -> object:
    """What the in-place editor posted, as the services accept it (strings; None clears)."""
    if post.get("clear"):
        return None
    if attribute.type == AttributeType.BOOLEAN:
        return "true" if post.get("value") in ("on", "true", "1") else "false"
    value = post.get("value", "").strip()
    return value if value != "" else None


@require(Permission.CONTACTS_EDIT)
def contact_attribute(request, contact_id):
    """GET ?key=…&edit=1: one attribute's in-place editor (else its read-only row); POST key, value: save it."""
    contact = _contact(request, contact_id)
    source = request.POST if request.method == "POST" else request.GET
    attribute = next((a for a in contact_reads.custom_attributes_list(request.workspace) if a.key == source.get("key")), None)
    if attribute is None:
        raise Http404
    editing = request.method == "GET" and source.get("edit") == "1"
    if request.method != "POST" and not request.htmx:
        return redirect(_profile_url(contact, attribute.key if editing else "") + "#attributes")
    row = {"attribute": attribute, "value": (contact.attributes or {}).get(attribute.key)}
    error = ""
    if request.method == "POST":
        value = _attribute_value(attribute, request.POST)
        try:
            contact = contact_writes.contact_update(workspace=request.workspace, contact=contact,
                                                    by=request.membership, attributes={attribute.key: value})
        except ServiceError as exc:
            error, editing = str(exc.message), True
            row["value"] = request.POST.get("value", "")
        else:
            row["value"] = (contact.attributes or {}).get(attribute.key)
            if not request.htmx:
                messages.success(request, _("%(name)s saved.") % {"name": attribute.name})
    if error and not request.htmx:
        messages.error(request, f"{attribute.name}: {error}")
    row["display"] = attribute_display(attribute, row["value"]) if not error else ""
    row["editing"] = editing
    if not request.htmx:
        return redirect(_profile_url(contact, attribute.key if error else "") + "#attributes")
    return _partial(request, contact, "attribute", row=row, error=error)


@require_POST
@require(Permission.CONTACTS_EDIT)
def contact_notes(request, contact_id):
    contact = _contact(request, contact_id)
    text = request.POST.get("text", "").strip()
    note_error = ""
    try:
        contact_writes.note_add(workspace=request.workspace, contact=contact, text=text, author=request.membership)
    except ServiceError as exc:
        note_error = str(exc.message)
        if not request.htmx:
            messages.error(request, note_error)
    return _done(request, contact, "notes", notes=_notes(contact), note_error=note_error,
                 note_text=text if note_error else "")


@require_POST
@require(Permission.CONTACTS_MERGE)
def contact_merge_undo(request, contact_id, merge_id):
    contact = _contact(request, contact_id)
    merge = contact_reads.merge_get(request.workspace, merge_id)
    if merge is None or merge.kept_id != contact.pk:
        raise Http404
    try:
        contact_writes.contact_merge_undo(workspace=request.workspace, merge=merge, by=request.membership)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Merge undone: %(merged)s is a separate contact again.")
                         % {"merged": merge.merged})
    return redirect(reverse("console:contact", kwargs={"contact_id": contact.pk}) + "#merges")


URLS = [
    path("contacts/<int:contact_id>/", contact_detail, name="contact"),
    path("contacts/<int:contact_id>/details", contact_details, name="contact_details"),
    path("contacts/<int:contact_id>/tags", contact_tags, name="contact_tags"),
    path("contacts/<int:contact_id>/attribute", contact_attribute, name="contact_attribute"),
    path("contacts/<int:contact_id>/notes", contact_notes, name="contact_notes"),
    path("contacts/<int:contact_id>/merges/<int:merge_id>/undo", contact_merge_undo, name="contact_merge_undo"),
]
