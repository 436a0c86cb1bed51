"""A conversation's composer and customer side panel (SPEC I1), fragments the inbox page loads with htmx.

Composer: text (Enter sends), an image, a saved reply (sent at once or put into the input box), a WhatsApp template
with its variables and a live preview (the only thing WhatsApp takes outside its 24-hour window, whose remaining time
is shown), and a Messenger / Instagram message tag outside their window. Everything goes out through
inbox.services.conversation_reply, so through the message pipeline; a refusal is shown next to the input and nothing
is sent. A send answers with the fresh composer and the `inbox:sent` event ({"conversation": id}) on the page.

Side panel: the customer's summary, channels, tags, custom attributes and notes, edited in place by members who may
edit contacts (CONTACTS_EDIT; read-only for the others).

Every route resolves the conversation with inbox.selectors.conversation_get: 404 when the member cannot see it.
"""

import datetime
import json
import zoneinfo

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from tidings.channels.adapters.line import renderer as line_renderer
from tidings.channels.adapters.messenger import renderer as messenger_renderer
from tidings.channels.adapters.messenger import window as messenger_window
from tidings.channels.adapters.sms.adapter import MAX_BODY_CHARS as SMS_TEXT_MAX
from tidings.channels.adapters.whatsapp import renderer as whatsapp_renderer
from tidings.channels.registry import adapter_for
from tidings.contacts import selectors as contact_reads
from tidings.contacts import services as contact_writes
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can
from tidings.inbox import media
from tidings.inbox.saved_replies import saved_replies_for, saved_reply_categories, saved_reply_fill, saved_reply_get
from tidings.inbox.selectors import conversation_get, reply_window_remaining
from tidings.inbox.services import conversation_reply
from tidings.message_templates.render import template_bubble
from tidings.message_templates.rules import variable_count
from tidings.message_templates.selectors import templates_selectable

from .. import contact_selectors as contact_lists
from ..access import require
from .contact_profile import DetailsForm, attribute_display, attribute_rows, identity_rows
from .contact_profile import _attribute_value as attribute_posted  # the contact page's in-place editor posts alike

COMPOSER = "console/inbox/_composer.html"
PANEL = "console/inbox/_panel.html"
TEXT_LIMITS = {
    "line": line_renderer.TEXT_MAX, "whatsapp": whatsapp_renderer.TEXT_MAX,
    "messenger": messenger_renderer.MESSENGER.text_max, "instagram": messenger_renderer.INSTAGRAM.text_max,
    "sms": SMS_TEXT_MAX,
}
TAG_LABELS = {
    "CONFIRMED_EVENT_UPDATE": gettext_lazy("Confirmed event update: a reminder or change for an event the customer "
                                           "signed up for"),
    "POST_PURCHASE_UPDATE": gettext_lazy("Post-purchase update: shipping, receipt or another update on an order"),
    "ACCOUNT_UPDATE": gettext_lazy("Account update: a change to the customer's account or application"),
    "HUMAN_AGENT": gettext_lazy("Human agent: a person answering, up to 7 days after the customer's last message"),
}
SAVED_REPLIES_SHOWN = 50
HOUR = 3600


# --- shared ----------------------------------------------------------------------------------------------------


def _conversation(request, conversation_id):
    conversation = conversation_get(request.membership, conversation_id)
    if conversation is None:
        raise Http404
    return conversation


def _render(request, template: str, context: dict, *, status: int = 200, headers: dict | None = None):
    """A fragment rendered in the workspace's time zone (the page's base template does that for whole pages)."""
    try:
        zone = zoneinfo.ZoneInfo(request.workspace.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = datetime.UTC
    with timezone.override(zone):
        response = render(request, template, context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _duration(left: datetime.timedelta) -> str:
    seconds = max(0, int(left.total_seconds()))
    hours, minutes = seconds // HOUR, (seconds % HOUR) // 60
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": max(1, minutes)}


# --- composer ----------------------------------------------------------------------------------------------------


def _window(conversation) -> dict:
    """The 24-hour window as the composer shows it: has (the channel has one), open, left (text), seconds."""
    channel = conversation.channel
    if channel not in ("whatsapp", "messenger", "instagram"):
        return {"has": False}
    left = reply_window_remaining(conversation)
    return {"has": True, "open": left is not None, "left": _duration(left) if left else "",
            "seconds": int(left.total_seconds()) if left else 0, "soon": bool(left and left.total_seconds() < HOUR)}


def _message_tags(conversation, window: dict) -> list[dict]:
    """Messenger / Instagram outside the window: the tags the pipeline accepts, never promotional ones."""
    if conversation.channel not in ("messenger", "instagram") or window.get("open"):
        return []
    last = conversation.identity.last_inbound_at
    now = clock.now(conversation.workspace)
    return [{"value": tag, "label": TAG_LABELS.get(tag, tag),
             "usable": tag != messenger_window.HUMAN_AGENT
             or messenger_window.in_window(last, now, messenger_window.HUMAN_AGENT_WINDOW)}
            for tag in adapter_for(conversation.channel).allowed_tags]


def _templates(request, conversation):
    return templates_selectable(request.workspace, purpose="chat", account=conversation.account)


def _template_fields(template, values: dict | None = None) -> dict:
    """The inputs a template needs (body variables, a text header's variables, dynamic URL buttons), with what was
    typed, and its preview with those values (samples where nothing is typed yet)."""
    values = values or {}
    header = template.header or {}
    counts = {
        "body": variable_count(template.body),
        "header": variable_count(header.get("text", "")) if header.get("format") == "TEXT" else 0,
        "url": sum(1 for b in template.buttons
                   if b.get("type") == "url" and str(b.get("url", "")).endswith("{{1}}")),
    }
    examples = template.examples or {}
    groups = {}
    for group, count in counts.items():
        samples = list(examples.get(group) or [])
        groups[group] = [{"name": f"{group}_{n}", "number": n, "value": values.get(f"{group}_{n}", ""),
                          "label": _variable_label(group, n),
                          "sample": samples[n - 1] if n <= len(samples) else ""} for n in range(1, count + 1)]
    typed = {group: [field["value"] or field["sample"] for field in fields] for group, fields in groups.items()}
    preview = template_bubble(template, typed["body"], typed["header"] if counts["header"] else None,
                              typed["url"] if counts["url"] else None)
    return {"template": template, "groups": groups, "preview": preview,
            "inputs": [*groups["header"], *groups["body"], *groups["url"]]}


def _variable_label(group: str, n: int) -> str:
    if group == "header":
        return _("Header {{%(n)s}}") % {"n": n}
    if group == "url":
        return _("Button %(n)s: end of the link") % {"n": n}
    return _("Body {{%(n)s}}") % {"n": n}


def _composer_context(request, conversation, *, mode: str = "", **extra) -> dict:
    window = _window(conversation)
    template_only = conversation.channel == "whatsapp" and not window.get("open")
    mode = "template" if template_only or (mode == "template" and conversation.channel == "whatsapp") else "text"
    kinds = adapter_for(conversation.channel).supported_kinds
    context = {
        "conversation": conversation,
        "window": window,
        "mode": mode,
        "template_only": template_only,
        "message_tags": _message_tags(conversation, window),
        "can_image": "image" in kinds,
        "can_template": conversation.channel == "whatsapp",
        "text_max": TEXT_LIMITS.get(conversation.channel, 0),
        "text_in_bytes": conversation.channel == "instagram",
        "image_max_mb": media.image_limit(conversation.channel) // (1024 * 1024),
        "composer_url": reverse("console:inbox_composer", kwargs={"conversation_id": conversation.pk}),
        **extra,
    }
    if mode == "template":
        context["templates"] = list(_templates(request, conversation))
        chosen = context.get("template_fields")
        if chosen is None and len(context["templates"]) == 1:
            context["template_fields"] = _template_fields(context["templates"][0])
    return context


def _error_field(exc: ServiceError) -> str:
    """Which input a pipeline refusal is about: the tag select, the image, or the message itself."""
    field = exc.field or ""
    if field == "tag":
        return "tag"
    if field == "image" or field.endswith((".url", ".preview_url")):
        return "image"
    return "message"


def _template_content(request, conversation) -> tuple[dict, dict]:
    """The template content posted (and the template's fields, to render again on a refusal)."""
    template = _templates(request, conversation).filter(pk=_int(request.POST.get("template"))).first()
    if template is None:
        raise ServiceError(_("Choose an approved template."), field="template")
    fields = _template_fields(template, request.POST)
    missing = [field for field in fields["inputs"] if not field["value"].strip()]
    if missing:
        raise ServiceError(_("Fill in every variable of the template ({{%(n)s}} is empty).")
                           % {"n": missing[0]["number"]}, field="template")
    content = {"type": "template", "name": template.name, "language": template.language,
               "parameters": [f["value"].strip() for f in fields["groups"]["body"]]}
    if fields["groups"]["header"]:
        content["header_parameters"] = [f["value"].strip() for f in fields["groups"]["header"]]
    if fields["groups"]["url"]:
        content["url_parameters"] = [f["value"].strip() for f in fields["groups"]["url"]]
    return content, fields


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _saved_reply(request, saved_reply_id):
    reply = saved_reply_get(request.membership, saved_reply_id)
    if reply is None:
        raise Http404
    return reply


def _contents_posted(request, conversation, kind: str) -> tuple[list, dict, dict | None]:
    """(contents, what to render again if the send is refused, the image stored from this request if any)."""
    if kind == "template":
        content, fields = _template_content(request, conversation)
        return [content], {"template_fields": fields}, None
    if kind == "saved_reply":
        filled = saved_reply_fill(_saved_reply(request, request.POST.get("saved_reply")), conversation,
                                  request.membership)
        contents = [{"type": "image", "url": filled["image_url"]}] if filled.get("image_url") else []
        if (filled.get("text") or "").strip():
            contents.append({"type": "text", "text": filled["text"].strip()})
        return contents, {}, None
    contents, stored = [], None
    upload = request.FILES.get("image")
    if upload is not None:
        stored = media.chat_image_store(workspace=request.workspace, upload=upload, channel=conversation.channel)
        contents.append(stored)
    saved_image = request.POST.get("image_url", "").strip()
    if saved_image:  # the image of a saved reply put into the input box
        contents.append({"type": "image", "url": saved_image})
    text = request.POST.get("text", "").replace("\r\n", "\n").strip()  # a textarea posts its lines with CRLF
    if text:
        contents.append({"type": "text", "text": text})
    if not contents:
        raise ServiceError(_("Write a message or attach an image first."), field="text")
    return contents, {}, stored


def _send(request, conversation):
    kind = request.POST.get("kind", "text")
    tag = request.POST.get("tag", "").strip() or None
    kept = {"text": request.POST.get("text", ""), "tag": tag or "", "image_url": request.POST.get("image_url", "")}
    stored = None
    try:
        contents, again, stored = _contents_posted(request, conversation, kind)
        conversation_reply(conversation=conversation, membership=request.membership, contents=contents, tag=tag)
    except ServiceError as exc:
        if stored is not None:
            media.chat_image_discard(stored)  # stored for a send that did not go out: nothing refers to it
        again = {"template_fields": _fields_again(request, conversation)} if kind == "template" else {}
        return _composer(request, conversation, mode=kind, error=str(exc.message), error_field=_error_field(exc),
                         kept=kept, **again)
    trigger = {"inbox:sent": {"conversation": conversation.pk}}
    return _composer(request, conversation, mode=kind, just_sent=True, headers={"HX-Trigger": json.dumps(trigger)})


def _fields_again(request, conversation):
    template = _templates(request, conversation).filter(pk=_int(request.POST.get("template"))).first()
    return _template_fields(template, request.POST) if template else None


def _composer(request, conversation, *, mode: str = "", headers: dict | None = None, **extra):
    return _render(request, COMPOSER, _composer_context(request, conversation, mode=mode, **extra), headers=headers)


@require(Permission.CONVERSATIONS_VIEW)
def inbox_composer(request, conversation_id):
    """GET: the composer (?mode=template for a WhatsApp template inside the window). POST: send what it holds."""
    conversation = _conversation(request, conversation_id)
    if request.method == "POST":
        return _send(request, conversation)
    # A reload (the window closed, or the customer wrote) keeps what was typed.
    return _composer(request, conversation, mode=request.GET.get("mode", ""),
                     kept={"text": request.GET.get("text", ""), "tag": "", "image_url": ""})


@require_GET
@require(Permission.CONVERSATIONS_VIEW)
def inbox_composer_template(request, conversation_id):
    """One template's variable inputs and live preview (?template=<id>&body_1=…)."""
    conversation = _conversation(request, conversation_id)
    template = _templates(request, conversation).filter(pk=_int(request.GET.get("template"))).first()
    context = _composer_context(request, conversation, mode="template",
                                template_fields=_template_fields(template, request.GET) if template else None)
    return _render(request, f"{COMPOSER}#template_fields", context)


@require_GET
@require(Permission.CONVERSATIONS_VIEW)
def inbox_saved_replies(request, conversation_id):
    """The saved-reply picker: the member's own and team-wide replies, searched by title or text and category."""
    conversation = _conversation(request, conversation_id)
    q, category = request.GET.get("q", "").strip(), request.GET.get("category", "")
    replies = list(saved_replies_for(request.membership, q=q, category=category)[:SAVED_REPLIES_SHOWN + 1])
    context = _composer_context(request, conversation, replies=replies[:SAVED_REPLIES_SHOWN],
                                more=len(replies) > SAVED_REPLIES_SHOWN, q=q, category=category,
                                categories=saved_reply_categories(request.membership),
                                any_replies=bool(replies) or saved_replies_for(request.membership).exists())
    name = "saved_reply_results" if request.GET.get("results") else "saved_replies"
    return _render(request, f"{COMPOSER}#{name}", context)


@require_GET
@require(Permission.CONVERSATIONS_VIEW)
def inbox_saved_reply(request, conversation_id, saved_reply_id):
    """One saved reply filled in for this customer, with "Send" and "Put into the input box"."""
    conversation = _conversation(request, conversation_id)
    reply = _saved_reply(request, saved_reply_id)
    context = _composer_context(request, conversation, reply=reply,
                                filled=saved_reply_fill(reply, conversation, request.membership))
    return _render(request, f"{COMPOSER}#saved_reply_preview", context)


@require_GET
def inbox_media(request, workspace, file_name):
    """A chat image sent to a customer, public: the provider (and the customer's app) fetch it without a login.
    Its name is 128 random bits, so it cannot be guessed."""
    found = media.chat_image_open(workspace_key=workspace, file_name=file_name)
    if found is None:
        raise Http404
    file, content_type = found
    response = FileResponse(file, content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


# --- side panel ----------------------------------------------------------------------------------------------------


def _contact(request, conversation):
    """The conversation's customer (the contact it was merged into, if it was)."""
    contact = contact_reads.contact_resolve(request.workspace, conversation.contact_id)
    if contact is None:
        raise Http404
    return contact


def _can_edit(request) -> bool:
    return member_can(request.membership, Permission.CONTACTS_EDIT)


def _edit_allowed(request):
    if not _can_edit(request):
        raise PermissionDenied


def _notes(contact):
    return list(contact.notes.select_related("author__user").order_by("-created_at", "-pk")[:50])


def _panel_context(request, conversation, contact, **extra) -> dict:
    return {
        "conversation": conversation,
        "contact": contact,
        "can_edit": _can_edit(request),
        "can_view_contact": member_can(request.membership, Permission.CONTACTS_VIEW),
        # WhatsApp conversations keep the number they were started with (as the original does).
        "phone_locked": conversation.channel == "whatsapp",
        "panel_url": reverse("console:inbox_panel", kwargs={"conversation_id": conversation.pk}),
        **extra,
    }


def _panel_part(request, conversation, contact, name: str, **extra):
    return _render(request, f"{PANEL}#{name}", _panel_context(request, conversation, contact, **extra))


@require_GET
@require(Permission.CONVERSATIONS_VIEW)
def inbox_panel(request, conversation_id):
    conversation = _conversation(request, conversation_id)
    contact = _contact(request, conversation)
    workspace = request.workspace
    return _render(request, PANEL, _panel_context(
        request, conversation, contact,
        identities=identity_rows(workspace, contact),
        tag_names=contact_lists.tag_names(workspace) if _can_edit(request) else [],
        attributes=attribute_rows(workspace, contact),
        notes=_notes(contact),
    ))


def _details_initial(contact) -> dict:
    return {"name": contact.name, "phone": contact.phone, "email": contact.email, "member_id": contact.member_id}


@require(Permission.CONVERSATIONS_VIEW)
def inbox_panel_details(request, conversation_id):
    """GET ?edit=1: the summary's details as a form (else read-only). POST: save name, email, phone, member id."""
    conversation = _conversation(request, conversation_id)
    contact = _contact(request, conversation)
    if request.method != "POST":
        editing = request.GET.get("edit") == "1" and _can_edit(request)
        form = DetailsForm(initial=_details_initial(contact)) if editing else None
        return _panel_part(request, conversation, contact, "summary", details_form=_lock_phone(form, conversation))
    _edit_allowed(request)
    initial = _details_initial(contact)
    form = _lock_phone(DetailsForm(request.POST, initial=initial), conversation)
    if form.is_valid():
        changes = {k: v.strip() for k, v in form.cleaned_data.items()
                   if k in form.fields and not form.fields[k].disabled and v.strip() != initial[k]}
        try:
            if changes:
                contact = contact_writes.contact_update(workspace=request.workspace, contact=contact,
                                                        by=request.membership, **changes)
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            return _panel_part(request, conversation, contact, "summary", details_form=None)
    return _panel_part(request, conversation, contact, "summary", details_form=form)


def _lock_phone(form, conversation):
    if form is not None and conversation.channel == "whatsapp":
        form.fields["phone"].disabled = True
        form.fields["phone"].help_text = _("A WhatsApp conversation keeps the number it is with.")
    return form


@require_POST
@require(Permission.CONVERSATIONS_VIEW)
def inbox_panel_tags(request, conversation_id):
    """POST action=add|remove, tags="a, b": tag or untag the customer."""
    conversation = _conversation(request, conversation_id)
    _edit_allowed(request)
    contact = _contact(request, conversation)
    names = [n.strip() for n in request.POST.get("tags", "").replace("，", ",").split(",") if n.strip()]
    action = request.POST.get("action", "add")
    tag_error = ""
    if not names:
        tag_error = _("Type a tag name.")
    elif action in ("add", "remove"):
        service = contact_writes.tags_add if action == "add" else contact_writes.tags_remove
        try:
            service(workspace=request.workspace, contact_ids=[contact.pk], names=names, by=request.membership)
        except ServiceError as exc:
            tag_error = str(exc.message)
    return _panel_part(request, conversation, contact, "tags", tag_error=tag_error,
                       tag_names=contact_lists.tag_names(request.workspace))


@require_POST
@require(Permission.CONVERSATIONS_VIEW)
def inbox_panel_notes(request, conversation_id):
    conversation = _conversation(request, conversation_id)
    _edit_allowed(request)
    contact = _contact(request, conversation)
    text = request.POST.get("text", "").strip()
    note_error = ""
    try:
        contact_writes.note_add(workspace=request.workspace, contact=contact, text=text, author=request.membership)
    except ServiceError as exc:
        note_error = str(exc.message)
    return _panel_part(request, conversation, contact, "notes", notes=_notes(contact), note_error=note_error,
                       note_text=text if note_error else "")


@require(Permission.CONVERSATIONS_VIEW)
def inbox_panel_attribute(request, conversation_id):
    """GET ?key=…&edit=1: one attribute's in-place editor (else its row). POST key, value (or clear): save it."""
    conversation = _conversation(request, conversation_id)
    contact = _contact(request, conversation)
    source = request.POST if request.method == "POST" else request.GET
    attribute = next((a for a in contact_reads.custom_attributes_list(request.workspace)
                      if a.key == source.get("key")), None)
    if attribute is None:
        raise Http404
    editing = request.method == "GET" and source.get("edit") == "1" and _can_edit(request)
    row = {"attribute": attribute, "value": (contact.attributes or {}).get(attribute.key)}
    error = ""
    if request.method == "POST":
        _edit_allowed(request)
        value = attribute_posted(attribute, request.POST)
        try:
            contact = contact_writes.contact_update(workspace=request.workspace, contact=contact,
                                                    by=request.membership, attributes={attribute.key: value})
        except ServiceError as exc:
            error, editing = str(exc.message), True
            row["value"] = request.POST.get("value", "")
        else:
            row["value"] = (contact.attributes or {}).get(attribute.key)
    row["display"] = "" if error else attribute_display(attribute, row["value"])
    row["editing"] = editing
    return _panel_part(request, conversation, contact, "attribute", row=row, error=error)


URLS = [
    path("inbox/<int:conversation_id>/composer", inbox_composer, name="inbox_composer"),
    path("inbox/<int:conversation_id>/composer/template", inbox_composer_template, name="inbox_composer_template"),
    path("inbox/<int:conversation_id>/composer/saved-replies", inbox_saved_replies, name="inbox_saved_replies"),
    path("inbox/<int:conversation_id>/composer/saved-replies/<int:saved_reply_id>", inbox_saved_reply,
         name="inbox_saved_reply"),
    path("inbox/<int:conversation_id>/panel", inbox_panel, name="inbox_panel"),
    path("inbox/<int:conversation_id>/panel/details", inbox_panel_details, name="inbox_panel_details"),
    path("inbox/<int:conversation_id>/panel/tags", inbox_panel_tags, name="inbox_panel_tags"),
    path("inbox/<int:conversation_id>/panel/notes", inbox_panel_notes, name="inbox_panel_notes"),
    path("inbox/<int:conversation_id>/panel/attribute", inbox_panel_attribute, name="inbox_panel_attribute"),
    # Chat images: MEDIA_URL + "chat/<workspace>/<name>" (inbox/media.py stores them there).
    path("media/chat/<int:workspace>/<str:file_name>", inbox_media, name="inbox_media"),
]
