"""WhatsApp message templates (SPEC S8): list with review status, create / edit with a live WhatsApp preview,
submit, delete, and "sync now" with Meta."""

import json

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tidings.channels.selectors import account_for_channel
from tidings.core.errors import NotFound, ServiceError
from tidings.core.permissions import Permission
from tidings.message_templates.models import TemplateAudience, TemplateCategory, TemplateStatus
from tidings.message_templates.render import template_bubble
from tidings.message_templates.rules import MAX_BODY, MAX_BUTTONS, MAX_FOOTER, MAX_HEADER_TEXT, template_clean
from tidings.message_templates.selectors import template_get, templates_list
from tidings.message_templates.services import (
    template_create,
    template_delete,
    template_submit,
    template_update,
    templates_sync,
)

from ..access import require

LANGUAGES = [("zh_TW", "繁體中文 (zh_TW)"), ("zh_HK", "繁體中文・香港 (zh_HK)"), ("zh_CN", "简体中文 (zh_CN)"),
             ("en", "English (en)"), ("en_US", "English US (en_US)"), ("en_GB", "English UK (en_GB)"),
             ("ja", "日本語 (ja)"), ("ko", "한국어 (ko)"), ("ms", "Bahasa Melayu (ms)"), ("th", "ไทย (th)"),
             ("vi", "Tiếng Việt (vi)"), ("id", "Bahasa Indonesia (id)")]
HEADER_CHOICES = [("", gettext_lazy("No header")), ("TEXT", gettext_lazy("Text")), ("IMAGE", gettext_lazy("Image")),
                  ("VIDEO", gettext_lazy("Video")), ("DOCUMENT", gettext_lazy("Document (PDF)"))]
BUTTON_KINDS = [("quick_reply", gettext_lazy("Quick reply")), ("url", gettext_lazy("Call to action: visit website")),
                ("phone", gettext_lazy("Call to action: call phone number")),
                ("go_to_order", gettext_lazy("Call to action: go to order (Chat to Order)"))]
# Where a service error's field lands on this form.
FIELD_OF = {"header": "header_format", "header.format": "header_format", "header.text": "header_text",
            "header.url": "header_url", "examples": "body_examples"}


class TemplateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Template name"), max_length=512,
                           help_text=gettext_lazy("Lowercase letters, digits and underscores, e.g. order_shipped."))
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=LANGUAGES)
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=TemplateCategory.choices,
                                 help_text=gettext_lazy("Marketing: offers and news. Utility: order, account and other "
                                                        "updates. Authentication: one-time codes."))
    audience = forms.ChoiceField(label=gettext_lazy("Audience"), choices=TemplateAudience.choices,
                                 help_text=gettext_lazy("System notification templates are for Chat-to-Order notices "
                                                        "only: they cannot be chosen in 1:1 chats, broadcasts or "
                                                        "journeys. Only they can have a “go to order” button."))
    header_format = forms.ChoiceField(label=gettext_lazy("Header"), choices=HEADER_CHOICES, required=False)
    header_text = forms.CharField(label=gettext_lazy("Header text"), max_length=200, required=False,
                                  help_text=gettext_lazy("At most 60 characters and one variable {{1}}."))
    header_url = forms.CharField(label=gettext_lazy("Sample media address"), max_length=2000, required=False,
                                 help_text=gettext_lazy(
                                     "A sample image (JPG/PNG), video (MP4) or PDF for Meta's review."))
    body = forms.CharField(label=gettext_lazy("Body"), widget=forms.Textarea(attrs={"rows": 5}), max_length=4000,
                           help_text=gettext_lazy("At most 1024 characters. Add variables as {{1}}, {{2}}… in order; "
                                                  "Meta usually rejects a body that starts or ends with a variable."))
    body_examples = forms.CharField(label=gettext_lazy("Sample values"), required=False, widget=forms.Textarea(
        attrs={"rows": 2}), help_text=gettext_lazy("One per line, for {{1}}, {{2}}…: Meta's reviewers read them."))
    footer = forms.CharField(label=gettext_lazy("Footer"), max_length=200, required=False,
                             help_text=gettext_lazy("At most 60 characters, no variables, e.g. how to unsubscribe."))
    buttons = forms.CharField(label=gettext_lazy("Buttons"), required=False, widget=forms.HiddenInput)

    def spec(self) -> dict:
        """The template in the services' shape, from whatever was typed (valid or not: the preview needs it too)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        raw = {key: self.data.get(key, "") for key in self.fields}
        raw.update({k: v for k, v in data.items() if v is not None})
        header = None
        if raw.get("header_format"):
            header = {"format": raw["header_format"], "text": raw.get("header_text", ""),
                      "url": raw.get("header_url", "")}
        try:
            buttons = json.loads(raw.get("buttons") or "[]")
        except json.JSONDecodeError:
            buttons = []
        samples = [line.strip() for line in str(raw.get("body_examples") or "").splitlines()]
        return {"name": raw.get("name", ""), "language": raw.get("language", ""), "category": raw.get("category", ""),
                "audience": raw.get("audience", "general"), "header": header, "body": raw.get("body", ""),
                "footer": raw.get("footer", ""), "buttons": buttons if isinstance(buttons, list) else [],
                "examples": {"body": samples}}

    @staticmethod
    def initial_of(template) -> dict:
        header = template.header or {}
        return {"name": template.name, "language": template.language, "category": template.category,
                "audience": template.audience, "header_format": header.get("format", ""),
                "header_text": header.get("text", ""), "header_url": header.get("url", ""), "body": template.body,
                "body_examples": "\n".join((template.examples or {}).get("body") or []), "footer": template.footer,
                "buttons": json.dumps(template.buttons, ensure_ascii=False)}


def _form_error(form: TemplateForm, exc: ServiceError) -> None:
    field = exc.field or ""
    if field.startswith("buttons"):
        message = str(exc.message)
        if "[" in field:
            number = int(field.split("[", 1)[1].split("]", 1)[0]) + 1
            message = _("Button %(number)s: %(message)s") % {"number": number, "message": message}
        form.add_error("buttons", message)
        form.button_error_index = field.split("[", 1)[1].split("]", 1)[0] if "[" in field else ""
        return
    field = FIELD_OF.get(field, field)
    form.add_error(field if field in form.fields else None, str(exc.message))


def _preview(spec: dict) -> dict:
    try:
        bubble = template_bubble({**spec, "examples": {"body": spec["examples"]["body"]}},
                                 parameters=spec["examples"]["body"])
    except (KeyError, TypeError, ValueError, AttributeError):
        bubble = {"header": None, "body": spec.get("body", ""), "footer": "", "buttons": [], "shown": [],
                  "folded": []}
    return bubble


def _template(request, template_id):
    try:
        return template_get(request.workspace, template_id)
    except NotFound:
        raise Http404 from None


def _editor(request, form, template=None):
    spec = form.spec()
    return render(request, "console/whatsapp_templates/form.html", {
        "form": form, "template": template, "tpl": _preview(spec),
        "account": account_for_channel(request.workspace, "whatsapp"), "button_kinds": BUTTON_KINDS,
        "limits": {"body": MAX_BODY, "header": MAX_HEADER_TEXT, "footer": MAX_FOOTER, "buttons": MAX_BUTTONS},
        "title": _("Edit template %(name)s") % {"name": template.name} if template else _("New WhatsApp template"),
    })


@require(Permission.WHATSAPP_TEMPLATES_MANAGE)
def template_list(request):
    status = request.GET.get("status", "")
    templates = templates_list(request.workspace, status=status if status in TemplateStatus.values else None)
    return render(request, "console/whatsapp_templates/list.html", {
        "templates": templates, "statuses": TemplateStatus.choices, "status": status,
        "account": account_for_channel(request.workspace, "whatsapp"),
    })


def _save(request, form, template=None):
    """Validate and store; the pressed button says whether to submit for review or keep a draft."""
    submit = request.POST.get("intent") != "draft"
    try:
        if template is None:
            return template_create(workspace=request.workspace, actor=request.user, data=form.spec(), submit=submit)
        return template_update(workspace=request.workspace, actor=request.user, template=template,
                               data=form.spec(), submit=submit)
    except ServiceError as exc:
        _form_error(form, exc)
        return None


def _saved_message(request, template) -> None:
    if template.status == TemplateStatus.PENDING:
        messages.success(request, _("Template %(name)s was submitted: WhatsApp reviews it, usually within minutes.")
                         % {"name": template.name})
    else:
        messages.success(request, _("Template %(name)s was saved as a draft.") % {"name": template.name})


@require(Permission.WHATSAPP_TEMPLATES_MANAGE)
def template_add(request):
    form = TemplateForm(request.POST or None, initial={"language": "zh_TW", "category": "MARKETING",
                                                        "audience": "general", "buttons": "[]"})
    if request.method == "POST" and form.is_valid():
        template = _save(request, form)
        if template is not None:
            _saved_message(request, template)
            return redirect("console:whatsapp_templates")
    return _editor(request, form)


@require(Permission.WHATSAPP_TEMPLATES_MANAGE)
def template_edit(request, whatsapp_template_id):
    template = _template(request, whatsapp_template_id)
    form = TemplateForm(request.POST or None, initial=TemplateForm.initial_of(template))
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, template)
        if saved is not None:
            _saved_message(request, saved)
            return redirect("console:whatsapp_templates")
    return _editor(request, form, template)


@require(Permission.WHATSAPP_TEMPLATES_MANAGE)
@require_POST
def template_preview(request):
    """The live preview (htmx): the bubble as WhatsApp would show it, and the first rule the input breaks."""
    form = TemplateForm(request.POST)
    form.is_valid()
    spec = form.spec()
    problem = ""
    try:
        template_clean(spec)
    except ServiceError as exc:
        problem = str(exc.message)
    return render(request, "console/whatsapp_templates/_preview.html", {"tpl": _preview(spec), "problem": problem})


@require(Permission.WHATSAPP_TEMPLATES_MANAGE)
@require_POST
def template_submit_view(request, whatsapp_template_id):
    template = _template(request, whatsapp_template_id)
    try:
        template = template_submit(workspace=request.workspace, actor=request.user, template=template)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        _saved_message(request, template)
    return redirect("console:whatsapp_templates")


@require(Permission.WHATSAPP_TEMPLATES_MANAGE)
@require_POST
def template_delete_view(request, whatsapp_template_id):
    template = _template(request, whatsapp_template_id)
    try:
        template_delete(workspace=request.workspace, actor=request.user, template=template)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Template %(name)s was deleted.") % {"name": template.name})
    return redirect("console:whatsapp_templates")


@require(Permission.WHATSAPP_TEMPLATES_MANAGE)
@require_POST
def template_sync_view(request):
    try:
        counts = templates_sync(workspace=request.workspace, actor=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Synced with WhatsApp: %(updated)s updated, %(added)s added.") % counts)
    return redirect("console:whatsapp_templates")
