"""Writes to WhatsApp templates: create, edit, submit for review, delete, sync with Meta, apply status webhooks.

Submitting is a Graph call (channels/adapters/whatsapp/templates_api.py). It happens outside any transaction and
before anything is stored: when Meta refuses, the write is refused with Meta's message (ServiceError) and nothing
changes; when Meta accepts, the answer is stored in one short transaction.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tidings.channels.adapters.whatsapp import templates_api
from tidings.channels.meta import GraphApiError
from tidings.channels.models import ChannelAccount
from tidings.channels.selectors import account_for_channel
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.core.models import User, Workspace
from tidings.core.services import audit_record

from .components import graph_components, graph_template, spec_from_graph
from .models import TemplateStatus, WhatsAppTemplate
from .rules import template_clean

logger = logging.getLogger(__name__)

# Meta's webhook `event` → our status. FLAGGED (quality warning) changes nothing; REINSTATED is approved again.
EVENT_STATUS = {
    "APPROVED": TemplateStatus.APPROVED, "REJECTED": TemplateStatus.REJECTED, "PENDING": TemplateStatus.PENDING,
    "PAUSED": TemplateStatus.PAUSED, "DISABLED": TemplateStatus.DISABLED, "REINSTATED": TemplateStatus.APPROVED,
    "PENDING_DELETION": TemplateStatus.DISABLED, "DELETED": TemplateStatus.DISABLED,
}


def _account(workspace: Workspace, account: ChannelAccount | None) -> ChannelAccount | None:
    if account is not None:
        if account.workspace_id != workspace.pk or account.channel != "whatsapp" or not account.is_active:
            raise ServiceError(_("Choose an active WhatsApp account of this workspace."), field="account")
        return account
    return account_for_channel(workspace, "whatsapp")


def _graph_refusal(exc: GraphApiError) -> ServiceError:
    error = exc.error
    detail = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
    message = error.get("error_user_msg") or detail or error.get("message") or str(exc)
    return ServiceError(_("WhatsApp refused the template: %(reason)s") % {"reason": message}, field="meta",
                        code="meta_refused")


def _name_free(workspace: Workspace, name: str, language: str, exclude: int | None = None) -> None:
    taken = WhatsAppTemplate.objects.for_workspace(workspace).filter(name=name, language=language)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ServiceError(_("A template with this name and language already exists."), field="name")


def _submit_new(account: ChannelAccount, spec: dict) -> dict:
    try:
        answer = templates_api.template_create(account, graph_template(spec))
    except GraphApiError as exc:
        raise _graph_refusal(exc) from None
    if not answer.get("id"):
        raise ServiceError(_("WhatsApp did not answer with a template id; try again."), field="meta")
    return answer


def _status_of(answer: dict) -> str:
    status = str(answer.get("status") or "PENDING").upper()
    return status if status in TemplateStatus.values else TemplateStatus.PENDING


def template_create(*, workspace: Workspace, actor: User | None, data: dict, submit: bool = True,
                    account: ChannelAccount | None = None) -> WhatsAppTemplate:
    """Store a template; with `submit` and a connected WhatsApp account it goes to Meta's review (PENDING) at once,
    otherwise it stays a DRAFT to submit later."""
    spec = template_clean(data)
    _name_free(workspace, spec["name"], spec["language"])
    account = _account(workspace, account)
    now = clock.now(workspace)
    template = WhatsAppTemplate(workspace=workspace, created_at=now, updated_at=now, **spec)
    if submit and account is not None:
        answer = _submit_new(account, spec)
        template.account = account
        template.waba_id = str(account.settings.get("waba_id") or "")
        template.provider_template_id = str(answer["id"])
        template.status = _status_of(answer)
        template.submitted_at = template.status_changed_at = now
    try:
        with transaction.atomic():
            template.save()
            audit_record(workspace=workspace, actor=actor, action="whatsapp_template.create", target=template,
                         changes={"status": [None, template.status]})
    except IntegrityError:
        raise ServiceError(_("A template with this name and language already exists."), field="name") from None
    return template


def template_update(*, workspace: Workspace, actor: User | None, template: WhatsAppTemplate, data: dict,
                    submit: bool = True) -> WhatsAppTemplate:
    """Change a template. One Meta has seen (approved, rejected, paused) goes back to review with the change; its
    name and language are fixed from then on. A template in review cannot change until Meta answers."""
    template = WhatsAppTemplate.objects.for_workspace(workspace).get(pk=template.pk)
    if not template.editable:
        raise ServiceError(_("This template is in review at WhatsApp; it can be edited once Meta has answered."),
                           field="status", code="in_review")
    spec = template_clean(data)
    if template.submitted and (spec["name"], spec["language"]) != (template.name, template.language):
        raise ServiceError(_("The name and language of a submitted template cannot change; create a new template "
                             "instead."), field="name")
    _name_free(workspace, spec["name"], spec["language"], exclude=template.pk)
    now = clock.now(workspace)
    before = template.status
    if template.submitted and template.provider_template_id and template.account_id:
        account = ChannelAccount.objects.get(pk=template.account_id)
        payload = {"components": graph_components(spec)}
        if spec["category"] != template.category:
            payload["category"] = spec["category"]
        try:
            templates_api.template_edit(account, template.provider_template_id, payload)
        except GraphApiError as exc:
            raise _graph_refusal(exc) from None
        template.status, template.rejected_reason = TemplateStatus.PENDING, ""
        template.submitted_at = template.status_changed_at = now
    for key, value in spec.items():
        setattr(template, key, value)
    template.updated_at = now
    with transaction.atomic():
        template.save()
        audit_record(workspace=workspace, actor=actor, action="whatsapp_template.update", target=template,
                     changes={"status": [before, template.status]})
    if submit and template.status == TemplateStatus.DRAFT and _account(workspace, None) is not None:
        return template_submit(workspace=workspace, actor=actor, template=template)
    return template


def template_submit(*, workspace: Workspace, actor: User | None, template: WhatsAppTemplate,
                    account: ChannelAccount | None = None) -> WhatsAppTemplate:
    """Send a draft to Meta's review (a template Meta has seen is resubmitted by editing it)."""
    template = WhatsAppTemplate.objects.for_workspace(workspace).get(pk=template.pk)
    if template.status != TemplateStatus.DRAFT:
        raise ServiceError(_("This template was already submitted; edit it to submit a change."), field="status",
                           code="already_submitted")
    account = _account(workspace, account)
    if account is None:
        raise ServiceError(_("Connect a WhatsApp account first: templates are reviewed for its business account."),
                           field="account", code="no_account")
    spec = template_clean(template.spec())
    answer = _submit_new(account, spec)
    now = clock.now(workspace)
    template.account = account
    template.waba_id = str(account.settings.get("waba_id") or "")
    template.provider_template_id = str(answer["id"])
    template.status = _status_of(answer)
    template.rejected_reason = ""
    template.submitted_at = template.status_changed_at = template.updated_at = now
    with transaction.atomic():
        template.save()
        audit_record(workspace=workspace, actor=actor, action="whatsapp_template.submit", target=template,
                     changes={"status": [TemplateStatus.DRAFT, template.status]})
    return template


def template_delete(*, workspace: Workspace, actor: User | None, template: WhatsAppTemplate) -> None:
    """Delete here and, when Meta has it, at Meta (a template Meta no longer knows is deleted here all the same)."""
    template = WhatsAppTemplate.objects.for_workspace(workspace).get(pk=template.pk)
    if template.submitted and template.account_id:
        account = ChannelAccount.objects.filter(pk=template.account_id).first()
        if account is not None:
            try:
                templates_api.template_delete(account, template.name, template.provider_template_id)
            except GraphApiError as exc:
                if exc.error.get("status") != 404:
                    raise _graph_refusal(exc) from None
    with transaction.atomic():
        audit_record(workspace=workspace, actor=actor, action="whatsapp_template.delete", target=template,
                     changes={"status": [template.status, None]})
        template.delete()


def templates_sync(*, workspace: Workspace, actor: User | None,
                   account: ChannelAccount | None = None) -> dict[str, int]:
    """Read every template of the account's WABA from Meta: update statuses, add the ones made elsewhere (e.g. in
    WhatsApp Manager). Returns counts {"updated", "added"}."""
    account = _account(workspace, account)
    if account is None:
        raise ServiceError(_("Connect a WhatsApp account first: templates are read from its business account."),
                           field="account", code="no_account")
    try:
        remote = templates_api.templates_list(account)
    except GraphApiError as exc:
        raise ServiceError(_("Could not read the templates from WhatsApp: %(reason)s")
                           % {"reason": exc.error.get("message", "")}, field="meta") from None
    waba = str(account.settings.get("waba_id") or "")
    now = clock.now(workspace)
    counts = {"updated": 0, "added": 0}
    with transaction.atomic():
        mine = WhatsAppTemplate.objects.select_for_update().for_workspace(workspace)
        by_id = {t.provider_template_id: t for t in mine if t.provider_template_id}
        by_name = {(t.name, t.language): t for t in mine}
        for item in remote:
            status = str(item.get("status") or "").upper()
            local = by_id.get(str(item.get("id"))) or by_name.get((item.get("name"), item.get("language")))
            if local is None:
                spec = spec_from_graph(item)
                if not spec["name"] or not spec["language"] or not spec["body"]:
                    continue
                local = WhatsAppTemplate(workspace=workspace, account=account, waba_id=waba, created_at=now,
                                         status=TemplateStatus.PENDING, **{k: v for k, v in spec.items()})
                counts["added"] += 1
            elif local.status == status and local.provider_template_id == str(item.get("id")):
                continue
            else:
                counts["updated"] += 1
            local.provider_template_id = str(item.get("id") or local.provider_template_id)
            local.account, local.waba_id = local.account or account, local.waba_id or waba
            if status in TemplateStatus.values and status != local.status:
                local.status, local.status_changed_at = status, now
            if status == TemplateStatus.REJECTED:
                local.rejected_reason = str(item.get("rejected_reason") or local.rejected_reason)[:200]
            local.updated_at = now
            local.save()
        audit_record(workspace=workspace, actor=actor, action="whatsapp_template.sync", target=account,
                     changes={"updated": [None, counts["updated"]], "added": [None, counts["added"]]})
    return counts


def template_status_apply(*, account: ChannelAccount, value: dict) -> WhatsAppTemplate | None:
    """A `message_template_status_update` webhook value: move the template to Meta's new status.

    Found by Meta's template id, else by name and language within the account's WABA. Quality updates (no `event`)
    and templates we do not know are ignored.
    """
    event = str(value.get("event") or "").upper()
    status = EVENT_STATUS.get(event)
    if status is None:
        return None
    templates = WhatsAppTemplate.objects.for_workspace(account.workspace).select_for_update()
    template_id = str(value.get("message_template_id") or "")
    template = templates.filter(provider_template_id=template_id).first() if template_id else None
    if template is None:
        template = templates.filter(
            waba_id=str(account.settings.get("waba_id") or ""), name=value.get("message_template_name", ""),
            language=value.get("message_template_language", ""),
        ).first()
    if template is None:
        logger.info("Status %s for unknown template %s on account %s", event, template_id, account.public_id)
        return None
    reason = str(value.get("reason") or "")
    other = value.get("other_info") if isinstance(value.get("other_info"), dict) else {}
    if other.get("description"):
        reason = f"{reason}: {other['description']}" if reason and reason != "NONE" else str(other["description"])
    before = template.status
    template.status = status
    template.rejected_reason = reason[:200] if status == TemplateStatus.REJECTED else ""
    template.status_changed_at = clock.now(account.workspace)
    template.save(update_fields=["status", "rejected_reason", "status_changed_at"])
    if before != status:
        audit_record(workspace=account.workspace, actor=None, action="whatsapp_template.status", target=template,
                     changes={"status": [before, status]})
    return template
