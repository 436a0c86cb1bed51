"""Balance and billing (SPEC L1-L5): balance with its transactions, top-up / adjustment and low-balance rules,
monthly bills with the email as sent, and SMS usage statistics with a chart and CSV / XLSX export."""

import csv
import datetime
import io

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tidings.billing.models import EntryKind, Feature
from tidings.billing.periods import local_date, local_midnight
from tidings.billing.selectors import (
    balance_get,
    bill_get,
    billing_account,
    bills_list,
    channel_label,
    feature_label,
    ledger_entries,
    usage_by_day,
    usage_export_rows,
    usage_lines,
    usage_totals,
)
from tidings.billing.services import balance_adjust, balance_top_up, billing_settings_update
from tidings.core import clock
from tidings.core.errors import NotFound, ServiceError
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can

from ..access import form_error, require

MAX_RANGE_DAYS = 366


class BalanceForm(forms.Form):
    KINDS = [("top_up", gettext_lazy("Top-up (a payment received)")),
             ("adjustment", gettext_lazy("Adjustment (a correction, up or down)"))]
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=KINDS, initial="top_up")
    amount = forms.CharField(label=gettext_lazy("Amount"), max_length=20, help_text=gettext_lazy(
        "For an adjustment, a negative amount lowers the balance, e.g. -50."))
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False, help_text=gettext_lazy(
        "Kept with the transaction and in the audit log; required for an adjustment."))


class RulesForm(forms.Form):
    low_balance_threshold = forms.CharField(label=gettext_lazy("Low-balance threshold"), max_length=20,
                                            help_text=gettext_lazy("Below it, Admins see a warning bar and the "
                                                                   "billing email gets at most one email a day."))
    grace_minimum = forms.CharField(label=gettext_lazy("Grace minimum"), max_length=20, help_text=gettext_lazy(
        "SMS is refused when a charge would take the balance below this. 0 means no credit; a negative amount "
        "lets the balance go that far below zero."))


def _date(value: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _range(request, *, default_days: int = 30) -> tuple[datetime.date, datetime.date]:
    """[from, to] as workspace-local dates from ?from=&to=, at most a year, defaulting to the last 30 days."""
    today = local_date(request.workspace, clock.now(request.workspace))
    end = _date(request.GET.get("to")) or today
    start = _date(request.GET.get("from")) or end - datetime.timedelta(days=default_days - 1)
    if start > end:
        start, end = end, start
    start = max(start, end - datetime.timedelta(days=MAX_RANGE_DAYS - 1))
    return start, end


def _bounds(workspace, start: datetime.date, end: datetime.date):
    return local_midnight(workspace, start), local_midnight(workspace, end + datetime.timedelta(days=1))


def _balance_page(request, *, form=None, rules=None, status=200):
    workspace = request.workspace
    kind = request.GET.get("kind", "")
    feature = request.GET.get("feature", "")
    start, end = _date(request.GET.get("from")), _date(request.GET.get("to"))
    entries = ledger_entries(workspace, kind=kind if kind in EntryKind.values else "",
                             feature=feature if feature in Feature.values else "",
                             start=local_midnight(workspace, start) if start else None,
                             end=local_midnight(workspace, end + datetime.timedelta(days=1)) if end else None)
    account = billing_account(workspace)
    can_manage = member_can(request.membership, Permission.BILLING_MANAGE)
    if can_manage and rules is None and account is not None:
        rules = RulesForm(initial={"low_balance_threshold": account.low_balance_threshold,
                                   "grace_minimum": account.grace_minimum})
    elif can_manage and rules is None:
        from tidings.billing.models import DEFAULT_THRESHOLDS

        rules = RulesForm(initial={"low_balance_threshold": DEFAULT_THRESHOLDS.get(workspace.currency, 0),
                                   "grace_minimum": 0})
    return render(request, "console/billing/balance.html", {
        "balance": balance_get(workspace), "account": account,
        "page": Paginator(entries, 50).get_page(request.GET.get("page")), "kinds": EntryKind.choices,
        "features": Feature.choices, "kind": kind, "feature": feature, "from": start, "to": end,
        "can_manage": can_manage, "form": form or (BalanceForm() if can_manage else None), "rules": rules,
    }, status=status)


@require(Permission.BILLING_VIEW)
def balance_view(request):
    return _balance_page(request)


@require(Permission.BILLING_MANAGE)
@require_POST
def balance_change(request):
    form = BalanceForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["kind"] == "top_up":
                entry = balance_top_up(workspace=request.workspace, actor=request.user, amount=data["amount"],
                                       note=data["note"])
            else:
                entry = balance_adjust(workspace=request.workspace, actor=request.user, amount=data["amount"],
                                       note=data["note"])
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Recorded. The balance is now %(balance)s.") % {"balance": entry.balance_after})
            return redirect("console:billing")
    return _balance_page(request, form=form, status=422)


@require(Permission.BILLING_MANAGE)
@require_POST
def rules_change(request):
    rules = RulesForm(request.POST)
    if rules.is_valid():
        try:
            billing_settings_update(workspace=request.workspace, actor=request.user, **rules.cleaned_data)
        except ServiceError as exc:
            form_error(rules, exc)
        else:
            messages.success(request, _("Low-balance rules saved."))
            return redirect("console:billing")
    return _balance_page(request, rules=rules, status=422)


@require(Permission.BILLING_VIEW)
def bill_list(request):
    page = Paginator(bills_list(request.workspace), 24).get_page(request.GET.get("page"))
    return render(request, "console/billing/bills.html", {"page": page})


@require(Permission.BILLING_VIEW)
def bill_detail(request, bill_id: int):
    try:
        bill = bill_get(request.workspace, bill_id)
    except NotFound:
        raise Http404 from None
    lines = [{**line, "feature_label": feature_label(line["feature"]), "channel_label": channel_label(line["channel"])}
             for line in bill.lines]
    return render(request, "console/billing/bill.html", {"bill": bill, "lines": lines})


@require(Permission.BILLING_VIEW)
def usage_view(request):
    workspace = request.workspace
    start, end = _range(request)
    since, until = _bounds(workspace, start, end)
    days = usage_by_day(workspace, start=since, end=until)
    chart = {"labels": [d["day"].isoformat() for d in days],
             "datasets": [{"label": str(_("SMS")), "data": [d["messages"] for d in days]},
                          {"label": str(_("Segments")), "data": [d["segments"] for d in days]},
                          {"label": str(_("Cost")), "data": [float(d["cost"]) for d in days]}]}
    lines = [{**line, "feature_label": feature_label(line["feature"]), "channel_label": channel_label(line["channel"])}
             for line in usage_lines(workspace, start=since, end=until)]
    return render(request, "console/billing/usage.html", {
        "from": start, "to": end, "days": days, "lines": lines, "chart": chart,
        "totals": usage_totals(workspace, start=since, end=until),
    })


@require(Permission.BILLING_VIEW)
def usage_export(request):
    """Every SMS charge in the range, one row each, headers in the member's language."""
    workspace = request.workspace
    start, end = _range(request)
    since, until = _bounds(workspace, start, end)
    headers = [_("Time"), _("Feature"), _("Channel"), _("Phone number"), _("Segments"), _("Cost"), _("Status"),
               _("Error"), _("Reference")]
    rows = usage_export_rows(workspace, start=since, end=until)
    name = f"sms-usage-{start:%Y%m%d}-{end:%Y%m%d}"
    if request.GET.get("format") == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(str(_("SMS usage")))
        sheet.append(headers)
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(buffer.getvalue(), content_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # a BOM so Excel opens Chinese text as UTF-8
    writer = csv.writer(response)
    writer.writerow(headers)
    writer.writerows(rows)
    return response


URLS = [
    path("billing/", balance_view, name="billing"),
    path("billing/balance", balance_change, name="billing_balance_change"),
    path("billing/rules", rules_change, name="billing_rules"),
    path("billing/bills", bill_list, name="billing_bills"),
    path("billing/bills/<int:bill_id>", bill_detail, name="billing_bill"),
    path("billing/usage", usage_view, name="billing_usage"),
    path("billing/usage/export", usage_export, name="billing_usage_export"),
]
