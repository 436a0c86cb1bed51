"""LINE notification shortcut (SPEC N3, N4): the overview of notification settings with sent and delivered counts
per method over a chosen period, one setting's chart and recent notifications, the settings form with a live SMS
length and segment count, and the export of every send record (CSV / XLSX, in the member's language)."""

import datetime
import zoneinfo

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tidings.channels.selectors import account_for_channel
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.notify import exports
from tidings.notify.models import SMS_WAIT_MAX, SMS_WAIT_MIN, Method, Scenario
from tidings.notify.selectors import (
    daily_series,
    overview,
    recent_notifications,
    send_records,
    setting_get,
    settings_list,
)
from tidings.notify.services import setting_create, setting_update

from ..access import require

MAX_DAYS = 366
DEFAULT_DAYS = 30


class SettingForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=50,
                           help_text=gettext_lazy("At most 50 characters, e.g. “Order shipped”."))
    scenario = forms.ChoiceField(label=gettext_lazy("Scenario"), choices=Scenario.choices)
    custom_scenario = forms.CharField(label=gettext_lazy("Custom scenario name"), max_length=50, required=False,
                                      help_text=gettext_lazy("For a custom scenario, e.g. “Repair completed”."))
    methods = forms.MultipleChoiceField(
        label=gettext_lazy("Methods"), choices=Method.choices, widget=forms.CheckboxSelectMultiple, required=False,
        help_text=gettext_lazy("Tried in this order: a LINE push when the phone number belongs to exactly one LINE "
                               "friend, else a LINE notification message to the phone number, else (or when that is "
                               "not delivered within the wait time) an SMS paid from the balance."))
    line_push = forms.CharField(label=gettext_lazy("LINE push message"), required=False,
                                widget=forms.Textarea(attrs={"rows": 3}))
    line_pnp = forms.CharField(label=gettext_lazy("LINE notification message"), required=False,
                               widget=forms.Textarea(attrs={"rows": 3}))
    sms = forms.CharField(label=gettext_lazy("SMS text"), required=False,
                          widget=forms.Textarea(attrs={"rows": 3, "data-sms-text": ""}))
    sms_wait_minutes = forms.IntegerField(
        label=gettext_lazy("SMS wait time (minutes)"), initial=30,
        widget=forms.NumberInput(attrs={"min": SMS_WAIT_MIN, "max": SMS_WAIT_MAX}),
        help_text=gettext_lazy("How long a LINE notification message may stay undelivered before the SMS goes out: "
                               "5 to 1440 minutes."))

    def data_for_service(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "scenario": data["scenario"], "custom_scenario": data["custom_scenario"],
                "methods": data["methods"], "sms_wait_minutes": data["sms_wait_minutes"],
                "content": {m: data[m] for m in Method.values if data.get(m)}}

    @staticmethod
    def initial_of(setting) -> dict:
        return {"name": setting.name, "scenario": setting.scenario, "custom_scenario": setting.custom_scenario,
                "methods": setting.methods, "sms_wait_minutes": setting.sms_wait_minutes, **setting.content}


def _form_error(form, exc: ServiceError) -> None:
    field = (exc.field or "").removeprefix("content.")
    form.add_error(field if field in form.fields else None, str(exc.message))


def _setting(request, setting_id):
    setting = setting_get(request.workspace, setting_id)
    if setting is None:
        raise Http404
    return setting


def _period(request) -> tuple[datetime.date, datetime.date, str]:
    """The chosen period (default: the last 30 days, workspace time), and a problem to show if the input was bad."""
    try:
        zone = zoneinfo.ZoneInfo(request.workspace.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = datetime.UTC
    today = clock.now(request.workspace).astimezone(zone).date()
    start, end = today - datetime.timedelta(days=DEFAULT_DAYS - 1), today
    problem = ""
    try:
        if request.GET.get("start"):
            start = datetime.date.fromisoformat(request.GET["start"])
        if request.GET.get("end"):
            end = datetime.date.fromisoformat(request.GET["end"])
    except ValueError:
        problem = _("Enter dates as YYYY-MM-DD.")
    if end < start:
        start, end, problem = end, start, _("The period ran backwards; it was turned around.")
    if (end - start).days >= MAX_DAYS:
        start, problem = end - datetime.timedelta(days=MAX_DAYS - 1), _("At most %(days)s days at a time.") % {
            "days": MAX_DAYS}
    return start, end, problem


def _methods_of(entry: dict) -> list[dict]:
    return [{"key": m.value, "label": m.label, **entry["methods"][m.value]} for m in Method]


@require(Permission.NOTIFICATIONS_MANAGE)
def notification_overview(request):
    start, end, problem = _period(request)
    stats = overview(request.workspace, start=start, end=end)
    settings = list(settings_list(request.workspace))
    empty = {"triggered": 0, "completed": 0,
             "methods": {m.value: {"sent": 0, "delivered": 0, "failed": 0, "rate": None} for m in Method}}
    rows = [{"setting": s, "stats": stats["settings"].get(s.pk, empty),
             "methods": _methods_of(stats["settings"].get(s.pk, empty))} for s in settings]
    return render(request, "console/notifications/list.html", {
        "rows": rows, "totals": stats["totals"], "total_methods": _methods_of(stats["totals"]),
        "start": start, "end": end, "problem": problem,
        "line": account_for_channel(request.workspace, "line"), "sms": account_for_channel(request.workspace, "sms"),
    })


@require(Permission.NOTIFICATIONS_MANAGE)
def notification_detail(request, notification_setting_id):
    setting = _setting(request, notification_setting_id)
    start, end, problem = _period(request)
    stats = overview(request.workspace, start=start, end=end, setting_id=setting.pk)["totals"]
    series = daily_series(request.workspace, start=start, end=end, setting_id=setting.pk)
    labels = {m.value: str(m.label) for m in Method}
    chart = {"days": series["days"], "methods": series["methods"], "labels": labels,
             "sent": _("sent"), "delivered": _("delivered")}
    return render(request, "console/notifications/detail.html", {
        "setting": setting, "stats": stats, "methods": _methods_of(stats), "chart": chart,
        "recent": recent_notifications(request.workspace, setting_id=setting.pk), "start": start, "end": end,
        "problem": problem,
    })


def _editor(request, form, setting=None):
    return render(request, "console/notifications/form.html", {
        "form": form, "setting": setting,
        "title": _("Edit notification %(name)s") % {"name": setting.name} if setting else _("New notification"),
    })


@require(Permission.NOTIFICATIONS_MANAGE)
def notification_add(request):
    form = SettingForm(request.POST or None, initial={"scenario": Scenario.SHIPPED, "sms_wait_minutes": 30,
                                                      "methods": Method.values})
    if request.method == "POST" and form.is_valid():
        try:
            setting = setting_create(workspace=request.workspace, actor=request.user, data=form.data_for_service())
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Notification %(name)s was saved. Give its setting ID (%(id)s) to the "
                                        "developers who call the Notification API.") % {"name": setting.name,
                                                                                         "id": setting.pk})
            return redirect("console:notifications")
    return _editor(request, form)


@require(Permission.NOTIFICATIONS_MANAGE)
def notification_edit(request, notification_setting_id):
    setting = _setting(request, notification_setting_id)
    form = SettingForm(request.POST or None, initial=SettingForm.initial_of(setting))
    if request.method == "POST" and form.is_valid():
        try:
            setting = setting_update(workspace=request.workspace, actor=request.user, setting=setting,
                                     data=form.data_for_service())
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Notification %(name)s was saved.") % {"name": setting.name})
            return redirect("console:notifications")
    return _editor(request, form, setting)


@require(Permission.NOTIFICATIONS_MANAGE)
def notification_export(request):
    """Every send record of the period (and setting, if chosen) as CSV or XLSX, headers in the member's language."""
    start, end, _problem = _period(request)
    setting = None
    if request.GET.get("setting"):
        setting = _setting(request, request.GET["setting"])
    steps = send_records(request.workspace, start=start, end=end, setting_id=setting.pk if setting else None)
    name = f"notifications-{start:%Y%m%d}-{end:%Y%m%d}"
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(exports.xlsx_bytes(steps, request.workspace), content_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    response = StreamingHttpResponse(exports.csv_stream(steps, request.workspace), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


URLS = [
    path("notifications/", notification_overview, name="notifications"),
    path("notifications/add", notification_add, name="notification_add"),
    path("notifications/export", notification_export, name="notification_export"),
    path("notifications/<int:notification_setting_id>/", notification_detail, name="notification_detail"),
    path("notifications/<int:notification_setting_id>/edit", notification_edit, name="notification_edit"),
]
