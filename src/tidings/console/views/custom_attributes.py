"""Custom attributes (SPEC D1, seed 002: marketers define them too): the workspace's typed fields on every contact —
list, add, edit (name, choices; the type only while no contact has a value) and delete."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tidings.contacts import selectors as contact_reads
from tidings.contacts.services import custom_attribute_create, custom_attribute_delete, custom_attribute_update
from tidings.contacts.models import AttributeType
from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can

from ..access import form_error, require

TYPE_HELP = {
    AttributeType.TEXT: gettext_lazy("Any text, such as a favourite drink."),
    AttributeType.NUMBER: gettext_lazy("A number, such as points or shoe size."),
    AttributeType.DATE: gettext_lazy("A day, such as a birthday; edited with a date picker."),
    AttributeType.BOOLEAN: gettext_lazy("Yes or no, such as “wants newsletters”; edited with a checkbox."),
    AttributeType.CHOICE: gettext_lazy("One of a list of values you set, such as a membership level."),
}


class AttributeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("What your team sees on profiles, e.g. Birthday."))
    key = forms.CharField(label=gettext_lazy("Key"), max_length=50,
                          help_text=gettext_lazy("Used by imports, the API and the tracking script: lowercase "
                                                 "letters, digits, “_” and “-”, e.g. birthday. It cannot change "
                                                 "later."))
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=AttributeType.choices,
                             widget=forms.RadioSelect)

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["key"].disabled = True
            self.fields["key"].help_text = gettext_lazy("The key cannot change: contacts' values are stored under it.")


def _choices_posted(request) -> list[str]:
    return [value.strip() for value in request.POST.getlist("choices") if value.strip()]


def _attribute(request, custom_attribute_id):
    attribute = contact_reads.custom_attribute_get(request.workspace, custom_attribute_id)
    if attribute is None:
        raise Http404
    return attribute


def _form_page(request, form, choices, attribute=None, choices_error=""):
    return render(request, "console/custom_attributes/form.html", {
        "form": form, "attribute": attribute, "choices": choices or [], "choices_error": choices_error,
        "type_help": {str(k): v for k, v in TYPE_HELP.items()}, "types": AttributeType.choices,
        "title": _("Edit %(name)s") % {"name": attribute.name} if attribute else _("New custom attribute"),
        "section": "attributes", "can_attributes": True,
        "can_import": member_can(request.membership, Permission.CONTACTS_IMPORT),
    })


def _service_error(form, exc: ServiceError) -> str:
    """Errors on the choices go under the choices editor (not a form field); the rest go on their field."""
    if exc.field == "choices":
        return str(exc.message)
    form_error(form, exc)
    return ""


@require(Permission.ATTRIBUTES_EDIT)
def attribute_list(request):
    return render(request, "console/custom_attributes/list.html", {
        "attributes": list(contact_reads.custom_attributes_list(request.workspace)),
        "section": "attributes", "can_attributes": True,
        "can_import": member_can(request.membership, Permission.CONTACTS_IMPORT),
    })


@require(Permission.ATTRIBUTES_EDIT)
def attribute_add(request):
    form = AttributeForm(request.POST or None, initial={"type": AttributeType.TEXT})
    choices = _choices_posted(request) if request.method == "POST" else []
    choices_error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            attribute = custom_attribute_create(workspace=request.workspace, key=data["key"], name=data["name"],
                                                type=data["type"], choices=choices, by=request.membership)
        except ServiceError as exc:
            choices_error = _service_error(form, exc)
        else:
            messages.success(request, _("Custom attribute %(name)s was added.") % {"name": attribute.name})
            return redirect("console:custom_attributes")
    return _form_page(request, form, choices, choices_error=choices_error)


@require(Permission.ATTRIBUTES_EDIT)
def attribute_edit(request, custom_attribute_id):
    attribute = _attribute(request, custom_attribute_id)
    initial = {"name": attribute.name, "key": attribute.key, "type": attribute.type}
    form = AttributeForm(request.POST or None, initial=initial, editing=True)
    choices = _choices_posted(request) if request.method == "POST" else list(attribute.choices or [])
    choices_error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {"name": data["name"], "type": data["type"]}
        if data["type"] == AttributeType.CHOICE:
            changes["choices"] = choices
        try:
            attribute = custom_attribute_update(workspace=request.workspace, attribute=attribute,
                                                by=request.membership, **changes)
        except ServiceError as exc:
            choices_error = _service_error(form, exc)
        else:
            messages.success(request, _("Custom attribute %(name)s was saved.") % {"name": attribute.name})
            return redirect("console:custom_attributes")
    return _form_page(request, form, choices, attribute, choices_error)


@require_POST
@require(Permission.ATTRIBUTES_EDIT)
def attribute_delete(request, custom_attribute_id):
    attribute = _attribute(request, custom_attribute_id)
    try:
        cleared = custom_attribute_delete(workspace=request.workspace, attribute=attribute, by=request.membership)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Custom attribute %(name)s was deleted; %(n)s contacts lost their value.")
                         % {"name": attribute.name, "n": cleared})
    return redirect("console:custom_attributes")


URLS = [
    path("custom-attributes/", attribute_list, name="custom_attributes"),
    path("custom-attributes/add", attribute_add, name="custom_attribute_add"),
    path("custom-attributes/<int:custom_attribute_id>/edit", attribute_edit, name="custom_attribute_edit"),
    path("custom-attributes/<int:custom_attribute_id>/delete", attribute_delete, name="custom_attribute_delete"),
]
