"""Writes of the notification shortcut: settings (N4) and the Notification API's intake (one Notification per item,
honouring an Idempotency-Key). The cascade that sends each notification is in cascade.py."""

import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tidings.contacts.services import phone_normalize
from tidings.core import clock
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import User, Workspace
from tidings.core.services import audit_record
from tidings.core.tasking import enqueue_on_commit

from . import render
from .models import (
    METHOD_ORDER,
    NAME_MAX,
    SMS_WAIT_MAX,
    SMS_WAIT_MIN,
    Method,
    Notification,
    NotificationRequest,
    NotificationSetting,
    Scenario,
)

MAX_ITEMS = 100  # per API call
REFERENCE_MAX = 200
IDEMPOTENCY_KEY_MAX = 255

# --- settings (N4) -------------------------------------------------------------------------------------------

SETTING_FIELDS = ("name", "scenario", "custom_scenario", "methods", "sms_wait_minutes", "content")


def _clean_setting(values: dict) -> dict:
    """Validate a whole setting (after merging a partial change); ServiceError names the first bad field."""
    name = str(values.get("name") or "").strip()
    if not name:
        raise ServiceError(_("Give the notification a name."), field="name")
    if len(name) > NAME_MAX:
        raise ServiceError(_("The name can be at most %(max)s characters.") % {"max": NAME_MAX}, field="name")
    scenario = values.get("scenario") or ""
    if scenario not in Scenario.values:
        raise ServiceError(_("Choose a scenario: purchase_completed, shipped, delivered_home, delivered_store or "
                             "custom."), field="scenario")
    custom = str(values.get("custom_scenario") or "").strip()
    if scenario == Scenario.CUSTOM and not custom:
        raise ServiceError(_("Name the custom scenario."), field="custom_scenario")
    if len(custom) > NAME_MAX:
        raise ServiceError(_("The scenario name can be at most %(max)s characters.") % {"max": NAME_MAX},
                           field="custom_scenario")
    methods = values.get("methods")
    if not isinstance(methods, list | tuple) or not methods:
        raise ServiceError(_("Turn on at least one method."), field="methods")
    unknown = [m for m in methods if m not in Method.values]
    if unknown:
        raise ServiceError(_("Unknown method %(method)s: use line_push, line_pnp or sms.") % {"method": unknown[0]},
                           field="methods")
    methods = [m.value for m in METHOD_ORDER if m.value in methods]
    wait = values.get("sms_wait_minutes")
    if isinstance(wait, bool) or not isinstance(wait, int) or not SMS_WAIT_MIN <= wait <= SMS_WAIT_MAX:
        raise ServiceError(_("The SMS wait time is a whole number of minutes from %(min)s to %(max)s.")
                           % {"min": SMS_WAIT_MIN, "max": SMS_WAIT_MAX}, field="sms_wait_minutes")
    content = values.get("content") or {}
    if not isinstance(content, dict):
        raise ServiceError(_("Content is an object with a text per method."), field="content")
    cleaned = {}
    for method in Method.values:
        text = content.get(method)
        if text is None or text == "":
            if method in methods:
                raise ServiceError(_("Write the %(method)s text: the method is on.")
                                   % {"method": Method(method).label}, field=f"content.{method}")
            continue
        if not isinstance(text, str):
            raise ServiceError(_("The text must be a string."), field=f"content.{method}")
        if len(text) > render.MAX_LENGTH[method]:
            raise ServiceError(_("The text can be at most %(max)s characters.") % {"max": render.MAX_LENGTH[method]},
                               field=f"content.{method}")
        cleaned[method] = text
    return {"name": name, "scenario": scenario, "custom_scenario": custom if scenario == Scenario.CUSTOM else "",
            "methods": methods, "sms_wait_minutes": wait, "content": cleaned}


@transaction.atomic
def setting_create(*, workspace: Workspace, actor: User | None, data: dict) -> NotificationSetting:
    values = _clean_setting({"sms_wait_minutes": 30, **data})
    setting = NotificationSetting.objects.create(workspace=workspace, created_by=actor,
                                                 created_at=clock.now(workspace), **values)
    audit_record(workspace=workspace, actor=actor, action="notification_setting.create", target=setting,
                 changes={k: [None, v] for k, v in values.items()})
    return setting


@transaction.atomic
def setting_update(*, workspace: Workspace, actor: User | None, setting: NotificationSetting,
                   data: dict) -> NotificationSetting:
    """Change some fields (the others stay); notifications already accepted keep what they were sent with."""
    if setting.workspace_id != workspace.pk:
        raise NotFound()
    unknown = set(data) - set(SETTING_FIELDS)
    if unknown:
        raise ServiceError(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)),
                           field=sorted(unknown)[0])
    setting = NotificationSetting.objects.select_for_update().get(pk=setting.pk)
    current = {field: getattr(setting, field) for field in SETTING_FIELDS}
    values = _clean_setting({**current, **data})
    changes = {k: [current[k], v] for k, v in values.items() if current[k] != v}
    if changes:
        for field, value in values.items():
            setattr(setting, field, value)
        setting.save()
        audit_record(workspace=workspace, actor=actor, action="notification_setting.update", target=setting,
                     changes=changes)
    return setting


# --- the Notification API's intake ---------------------------------------------------------------------------


def _fingerprint(setting_id, items: list[dict]) -> str:
    body = json.dumps({"setting_id": setting_id, "items": items}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _item_values(values) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ServiceError(_("Values are an object of variable: value."), field="values")
    out = {}
    for key, value in values.items():
        if isinstance(value, dict | list):
            raise ServiceError(_("A value is text or a number."), field=f"values.{key}")
        out[str(key)] = "" if value is None else str(value)
    return out


def _check_item(workspace: Workspace, setting: NotificationSetting, item: dict) -> tuple[str, dict, str]:
    """(E.164 phone, values, reference) of one item, or ServiceError naming its field (relative to the item)."""
    if not isinstance(item, dict):
        raise ServiceError(_("Each item is an object with phone, values and reference."), field="item")
    phone = str(item.get("phone") or "").strip()
    if not phone:
        raise ServiceError(_("Give the customer's phone number."), field="phone")
    phone = phone_normalize(workspace=workspace, phone=phone)
    values = _item_values(item.get("values"))
    reference = str(item.get("reference") or "")
    if len(reference) > REFERENCE_MAX:
        raise ServiceError(_("The reference can be at most %(max)s characters.") % {"max": REFERENCE_MAX},
                           field="reference")
    for method in setting.methods:
        text = setting.content.get(method, "")
        absent = render.missing(text, values)
        if absent:
            raise ServiceError(_("No value for the variable {%(name)s} that the %(method)s text uses.")
                               % {"name": absent[0], "method": Method(method).label}, field=f"values.{absent[0]}")
        if len(render.render(text, values)) > render.MAX_LENGTH[method]:
            raise ServiceError(_("With these values the %(method)s text is longer than %(max)s characters.")
                               % {"method": Method(method).label, "max": render.MAX_LENGTH[method]}, field="values")
    return phone, values, reference


def _stored(request: NotificationRequest, fingerprint: str) -> tuple[int, dict]:
    if request.fingerprint != fingerprint:
        raise ServiceError(_("This Idempotency-Key was already used for a different request."),
                           field="Idempotency-Key")
    return request.status_code, request.response


@transaction.atomic
def notifications_send(*, workspace: Workspace, setting_id, items: list, source: str = "",
                       idempotency_key: str | None = None) -> tuple[int, dict]:
    """Accept one Notification API call: (HTTP status, body).

    Each item becomes a queued Notification whose cascade starts in the background, or is rejected on its own
    (`{"id": null, "status": "rejected", "error": {"field", "message"}}`) while the others proceed. The answer is
    201 when at least one item was accepted, else 422 (every item rejected). With an Idempotency-Key the same key
    again returns the first answer and creates nothing; the same key with another body is refused.
    """
    key = (idempotency_key or "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise ServiceError(_("The Idempotency-Key can be at most %(max)s characters.") % {"max": IDEMPOTENCY_KEY_MAX},
                           field="Idempotency-Key")
    fingerprint = _fingerprint(setting_id, items)
    request = None
    if key:
        existing = NotificationRequest.objects.for_workspace(workspace).filter(key=key).first()
        if existing is not None:
            return _stored(existing, fingerprint)
        try:
            with transaction.atomic():  # claim the key first: a concurrent retry waits here, then finds it taken
                request = NotificationRequest.objects.create(workspace=workspace, key=key, fingerprint=fingerprint,
                                                             created_at=clock.now(workspace))
        except IntegrityError:
            return _stored(NotificationRequest.objects.for_workspace(workspace).get(key=key), fingerprint)
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise ServiceError(_("Send from 1 to %(max)s items.") % {"max": MAX_ITEMS}, field="items")
    setting = NotificationSetting.objects.for_workspace(workspace).filter(pk=setting_id).first() \
        if str(setting_id).isdigit() else None
    if setting is None:
        raise NotFound(_("Unknown notification setting."), field="setting_id")
    at = clock.now(workspace)
    answers, accepted = [], []
    for index, item in enumerate(items):
        try:
            phone, values, reference = _check_item(workspace, setting, item)
        except ServiceError as exc:
            answers.append({"id": None, "status": "rejected", "reference": _reference_of(item),
                            "error": {"field": exc.field or "item", "message": str(exc.message)},
                            "_index": index})
            continue
        texts = {method: render.render(setting.content.get(method, ""), values) for method in setting.methods}
        notification = Notification(workspace=workspace, setting=setting, phone=phone, values=values,
                                    methods=list(setting.methods), sms_wait_minutes=setting.sms_wait_minutes,
                                    texts=texts, reference=reference, source=source, created_at=at)
        accepted.append(notification)
        answers.append(notification)
    Notification.objects.bulk_create(accepted)
    body_items = [
        {"id": a.pk, "status": a.status, "reference": a.reference} if isinstance(a, Notification)
        else {k: v for k, v in a.items() if k != "_index"} for a in answers
    ]
    if accepted:
        status, body = 201, {"items": body_items}
        from .tasks import notifications_start_task

        enqueue_on_commit(notifications_start_task, [n.pk for n in accepted])
    else:
        details = [{"field": f"items[{a['_index']}].{a['error']['field']}", "message": a["error"]["message"]}
                   for a in answers]
        status, body = 422, {"message": _("No item was accepted."), "details": details, "items": body_items}
    if request is not None:
        NotificationRequest.objects.filter(pk=request.pk).update(status_code=status, response=body)
    return status, body


def _reference_of(item) -> str:
    return str(item.get("reference") or "")[:REFERENCE_MAX] if isinstance(item, dict) else ""
