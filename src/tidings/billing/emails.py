"""The billing emails (monthly bill, low balance): subject, plain text and HTML, in the workspace's language.

Rendered when created and kept on the row, so the console shows exactly what was (or will be) sent.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _



def email_language(workspace) -> str:
    """The first active Admin's language, else the product default: billing mail goes to the shop's owner."""
    from tidings.core.models import Membership
    from tidings.core.roles import Role

    language = (Membership.objects.for_workspace(workspace).filter(role=Role.ADMIN, is_active=True)
                .order_by("pk").values_list("user__language", flat=True).first())
    return language or settings.LANGUAGE_CODE


def _render(name: str, context: dict) -> tuple[str, str]:
    return (render_to_string(f"billing/email/{name}.txt", context).strip() + "\n",
            render_to_string(f"billing/email/{name}.html", context))


def bill_email(workspace, bill) -> tuple[str, str, str]:
    from .selectors import channel_label, feature_label

    with translation.override(email_language(workspace)):
        lines = [{**line, "feature_label": feature_label(line["feature"]),
                  "channel_label": channel_label(line["channel"])} for line in bill.lines]
        context = {"workspace": workspace, "bill": bill, "lines": lines,
                   "console_url": f"{settings.BASE_URL}/billing/bills"}
        subject = _("%(workspace)s: SMS bill for %(month)s") % {"workspace": workspace.name,
                                                                 "month": bill.month.strftime("%Y-%m")}
        text, html = _render("bill", context)
    return subject, text, html


def low_balance_email(workspace, *, balance, threshold, grace_minimum) -> tuple[str, str, str]:
    with translation.override(email_language(workspace)):
        context = {"workspace": workspace, "balance": balance, "threshold": threshold, "minimum": grace_minimum,
                   "console_url": f"{settings.BASE_URL}/billing/"}
        subject = _("%(workspace)s: your prepaid balance is low") % {"workspace": workspace.name}
        text, html = _render("low_balance", context)
    return subject, text, html
