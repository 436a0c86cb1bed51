"""Reads of WhatsApp templates: lists, the pickers' choices, and the check the message pipeline makes before it
stores a template send (`template_check_send`)."""

from django.utils.translation import gettext as _

from tidings.core.errors import NotFound, ServiceError

from .models import TemplateAudience, TemplateStatus, WhatsAppTemplate
from .rules import variable_count

# The only purpose a system-notification template may be sent for (Chat-to-Order notices).
NOTIFICATION_PURPOSE = "notification"


def templates_list(workspace, *, status: str | None = None, audience: str | None = None):
    queryset = WhatsAppTemplate.objects.for_workspace(workspace).order_by("name", "language")
    if status:
        queryset = queryset.filter(status=status)
    if audience:
        queryset = queryset.filter(audience=audience)
    return queryset


def template_get(workspace, template_id) -> WhatsAppTemplate:
    template = WhatsAppTemplate.objects.for_workspace(workspace).filter(pk=template_id).first()
    if template is None:
        raise NotFound(_("No such template."))
    return template


def templates_selectable(workspace, *, purpose: str = "chat", account=None):
    """What a picker (1:1 chat, broadcast, journey…) may offer: approved templates of the account's WABA, without
    system-notification templates unless the purpose is a notification."""
    queryset = templates_list(workspace, status=TemplateStatus.APPROVED)
    if purpose != NOTIFICATION_PURPOSE:
        queryset = queryset.exclude(audience=TemplateAudience.SYSTEM_NOTIFICATION)
    if account is not None:
        queryset = queryset.filter(waba_id=str(account.settings.get("waba_id") or ""))
    return queryset


def template_check_send(*, account, contents: list[dict], purpose: str) -> None:
    """Refuse (ServiceError, field `messages[i]…`) a WhatsApp send whose template cannot go out: unknown for the
    account's WABA, not approved, a system-notification template for anything but a notification, or the wrong
    number of parameters. Sends on other channels, or without a template, pass."""
    if account.channel != "whatsapp" or not any(isinstance(c, dict) and c.get("type") == "template" for c in contents):
        return
    waba = str(account.settings.get("waba_id") or "")
    for index, content in enumerate(contents):
        if not isinstance(content, dict) or content.get("type") != "template":
            continue
        field = f"messages[{index}]"
        name, language = content.get("name", ""), content.get("language", "")
        template = WhatsAppTemplate.objects.for_workspace(account.workspace).filter(
            waba_id=waba, name=name, language=language).first()
        if template is None:
            raise ServiceError(_("There is no template “%(name)s” in %(language)s for this WhatsApp account.")
                               % {"name": name, "language": language}, field=f"{field}.name",
                               code="template_unknown")
        if template.status != TemplateStatus.APPROVED:
            raise ServiceError(_("The template “%(name)s” is %(status)s; only approved templates can be sent.")
                               % {"name": name, "status": template.get_status_display().lower()},
                               field=f"{field}.name", code="template_not_approved")
        if template.audience == TemplateAudience.SYSTEM_NOTIFICATION and purpose != NOTIFICATION_PURPOSE:
            raise ServiceError(_("The template “%(name)s” is for system notifications only; it cannot be used in "
                                 "chats, broadcasts or journeys.") % {"name": name},
                               field=f"{field}.name", code="template_system_notification")
        header = template.header or {}
        expected = {
            "parameters": (variable_count(template.body), _("body")),
            "header_parameters": (variable_count(header.get("text", "")) if header.get("format") == "TEXT" else 0,
                                  _("header")),
            "url_parameters": (sum(1 for b in template.buttons if _dynamic_url(b)), _("button address")),
        }
        for key, (count, what) in expected.items():
            given = len(content.get(key) or [])
            # A media header takes its media as one header parameter, or goes out with the reviewed sample.
            if key == "header_parameters" and header.get("format") not in (None, "TEXT") and given <= 1:
                continue
            if given != count:
                raise ServiceError(_("The template “%(name)s” has %(expected)s %(what)s variable(s); %(got)s given.")
                                   % {"name": name, "expected": count, "what": what, "got": given},
                                   field=f"{field}.{key}", code="template_parameters")


def _dynamic_url(button: dict) -> bool:
    return button.get("type") == "url" and str(button.get("url", "")).endswith("{{1}}")


def url_button_positions(account, name: str, language: str) -> list[int] | None:
    """Where the template's dynamic URL buttons sit among all its buttons, in order (WhatsApp's send names a URL
    button's parameter by that index); None for a template we do not know. Registered with the WhatsApp renderer."""
    if account is None:  # rendered without an account (previews): nothing to look up
        return None
    template = (WhatsAppTemplate.objects.for_workspace(account.workspace)
                .filter(waba_id=str(account.settings.get("waba_id") or ""), name=name, language=language).first())
    if template is None:
        return None
    return [index for index, button in enumerate(template.buttons) if _dynamic_url(button)]
