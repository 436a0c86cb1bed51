"""Social binding (社群身份綁定, SPEC D2) in the console: the settings page (on/off, the success message, the code
message, the member login page for LINE account link, the ways customers can bind, recent bindings) and
unbinding a contact from the profile page."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tidings.binding.models import BindingMethod
from tidings.binding.selectors import binding_accounts, binding_methods, binding_settings_get, bindings_list
from tidings.binding.services import LINE_LINK_POSTBACK, binding_settings_update, binding_unbind
from tidings.contacts.selectors import contact_get
from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission

from ..access import form_error, require


class BindingSettingsForm(forms.Form):
    enabled = forms.BooleanField(label=gettext_lazy("Customers can bind"), required=False, help_text=gettext_lazy(
        "When off, binding links and codes stop working and the website script offers no binding."))
    success_message = forms.CharField(
        label=gettext_lazy("Binding success message"), required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Sent on the channel the customer bound, right after binding. {name} is replaced by "
                               "the customer's name. Leave empty for the built-in message."))
    code_text = forms.CharField(
        label=gettext_lazy("Code message"), required=False, max_length=200,
        help_text=gettext_lazy("The message typed in for the customer on LINE and WhatsApp; {code} is the 6-digit "
                               "code. Leave empty for the built-in text in the visitor's language."))
    member_login_url = forms.URLField(
        label=gettext_lazy("Member login page (LINE account link)"), required=False, max_length=500,
        assume_scheme="https",
        # A text input (the console's styles cover text inputs; the service checks the address).
        widget=forms.TextInput(attrs={"inputmode": "url", "placeholder": "https://shop.example.com/login"}),
        help_text=gettext_lazy("Your shop's login page. Tidings adds ?linkToken=… to it; after login, your page "
                               "posts the link token and member id to Tidings and sends the member on to LINE."))


def _form_initial(settings) -> dict:
    return {"enabled": settings.enabled, "success_message": settings.success_message,
            "code_text": settings.code_text, "member_login_url": settings.member_login_url}


@require(Permission.SOCIAL_BINDING_MANAGE)
def social_binding(request):
    workspace = request.workspace
    settings = binding_settings_get(workspace)
    form = BindingSettingsForm(request.POST or None, initial=_form_initial(settings))
    if request.method == "POST" and form.is_valid():
        try:
            binding_settings_update(workspace=workspace, by=request.membership, **form.cleaned_data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Binding settings saved."))
            return redirect("console:social_binding")
    accounts = binding_accounts(workspace)
    live_line_without_basic_id = [a for a in accounts.get("line", [])
                                  if not a.is_sandbox and not (a.settings or {}).get("basic_id")]
    return render(request, "console/social_binding/settings.html", {
        "form": form,
        "methods": [(BindingMethod(method).label, account) for method, account in binding_methods(workspace)],
        "has_line": bool(accounts.get("line")),
        "line_link_postback": LINE_LINK_POSTBACK,
        "live_line_without_basic_id": live_line_without_basic_id,
        "page": Paginator(bindings_list(workspace), 50).get_page(request.GET.get("page")),
    })


def _profile_url(contact_id: int) -> str:
    try:
        return reverse("console:contact", kwargs={"contact_id": contact_id})
    except NoReverseMatch:
        return reverse("console:social_binding")


@require_POST
@require(Permission.SOCIAL_BINDING_MANAGE)
def contact_unbind(request, contact_id: int):
    contact = contact_get(request.workspace, contact_id)
    if contact is None:
        raise Http404
    try:
        binding_unbind(workspace=request.workspace, contact=contact, by=request.membership)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Unbound. Merges made by binding were undone."))
    return redirect(_profile_url(contact.pk))


URLS = [
    path("social-binding/", social_binding, name="social_binding"),
    path("contacts/<int:contact_id>/unbind", contact_unbind, name="contact_unbind"),
]
