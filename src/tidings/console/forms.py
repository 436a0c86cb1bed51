"""Console forms: they only shape input. Every rule lives in the services, whose errors land on these fields."""

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from tidings.core.modules import Module
from tidings.core.roles import Role
from tidings.core.selectors import members_list, stores_list


class LoginForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=254,
                            widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class WorkspaceForm(forms.Form):
    name = forms.CharField(label=_("Workspace name"), max_length=120, required=False)
    time_zone = forms.CharField(label=_("Time zone"), max_length=64, required=False,
                                widget=forms.TextInput(attrs={"list": "time-zones"}),
                                help_text=_("Times in the console are shown in this zone."))
    currency = forms.CharField(label=_("Currency"), max_length=10, required=False,
                               help_text=_("Three-letter code, such as TWD or HKD."))
    default_phone_region = forms.CharField(label=_("Default phone region"), max_length=5, required=False,
                                           help_text=_("Used for phone numbers typed without a country code, e.g. HK."))
    billing_email = forms.CharField(label=_("Billing email"), max_length=254, required=False)
    avatar = forms.FileField(label=_("Team avatar"), required=False)
    modules = forms.MultipleChoiceField(label=_("Enabled modules"), choices=Module.choices, required=False,
                                        widget=forms.CheckboxSelectMultiple)

    TEXT_FIELDS = ("name", "time_zone", "currency", "default_phone_region", "billing_email")

    @staticmethod
    def time_zones():
        return sorted(zoneinfo.available_timezones())


class _SeatFields(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    store = forms.ModelChoiceField(label=_("Store"), queryset=None, required=False,
                                   empty_label=_("— choose a store —"))
    employee_code = forms.CharField(label=_("Employee code"), max_length=40, required=False)

    SALES_ONLY = ("store", "employee_code")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores_list(workspace)
        self.fields["role"].widget.attrs["data-role-select"] = ""
        for name in self.SALES_ONLY:
            self.fields[name].sales_only = True
            self.fields[name].help_text = _("Only for Sales Manager and Sales Person.")


class MemberAddForm(_SeatFields):
    email = forms.CharField(label=_("Email"), max_length=254)
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    password = forms.CharField(label=_("Initial password"), required=False, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=_("Optional. Without one, the member cannot log in until a password is set."))

    field_order = ["email", "name", "role", "store", "employee_code", "password"]


class MemberRoleForm(_SeatFields):
    pass


class StoreForm(forms.Form):
    name = forms.CharField(label=_("Store name"), max_length=120, required=False)
    code = forms.CharField(label=_("Store code"), max_length=40, required=False)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=80, required=False,
                           help_text=_("What the token is for, e.g. the shop integration."))
    membership = forms.ModelChoiceField(label=_("Member"), queryset=None,
                                        help_text=_("The token acts with this member's role."))

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = members_list(workspace, status="active")
        self.fields["membership"].label_from_instance = lambda m: f"{m.user.name or m.user.email} · {m.user.email}"


class ClockForm(forms.Form):
    advance = forms.CharField(label=_("Advance by"), max_length=40,
                              widget=forms.TextInput(attrs={"placeholder": "2h30m"}),
                              help_text=_("For example 2h30m, 1d, 15m or 90s."))
