"""The notification cascade (SPEC N1): one small state machine per notification.

    queued ──start──▶ line_push (the phone is exactly one subscribed LINE friend's) ──sent──▶ SENT
       │                  └─failed──▶ line_pnp, else sms
       └──────────────▶ line_pnp: PNP to sha256(E.164), X-Line-Delivery-Tag = tidings-notification-<id>
                          ├─ delivered ──▶ DELIVERED (the wait timer is cancelled)
                          ├─ 422 / other refusal ──▶ sms at once
                          ├─ "outcome unknown" (worker died mid-call) ──▶ keep waiting for a delivery
                          └─ wait timer fires, no delivery ──▶ sms
                        sms: charge (billing) + send ──sent──▶ SENT ──delivered──▶ DELIVERED
                          └─ charge refused / failed ──▶ FAILED (the step says why)

A method that is off, or a step that cannot even be stored (no account connected), passes to the next method; none
left → FAILED. A delivery report on any step, even one the cascade has moved past, is recorded on that step
(`late` when it came after the next step went out) and makes the notification DELIVERED.

Every transition runs in one transaction holding the notification's row lock (`_locked`), and derives what to do
from facts - the step rows and their messages' events - so it can be run again at any time: by the message-event
listener (a step's message was sent, failed or delivered), by the wait timer, or by the start task after a crash.
A step is created (unique per notification and method) in the transaction that hands its message to the pipeline,
so no step can go out twice; the pipeline itself never repeats a PNP whose outcome it does not know
(docs/modules/notify.md, "A worker that dies").
"""

import datetime
import logging

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tidings.billing.services import sms_charge
from tidings.billing.sms import sms_segments
from tidings.channels.selectors import account_for_channel
from tidings.contacts.selectors import identities_by_phone
from tidings.contacts.services import contact_identify
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.messaging.events import message_event_listener
from tidings.messaging.models import Purpose
from tidings.messaging.selectors import message_outcomes
from tidings.messaging.delivery import PNP_OUTCOME_UNKNOWN
from tidings.messaging.services import message_send, message_send_pnp
from tidings.timers.services import timer_cancel, timer_schedule

from .models import (
    METHOD_ORDER,
    Method,
    Notification,
    NotificationStatus,
    NotificationStep,
    StepStatus,
)

logger = logging.getLogger(__name__)

WAIT_TIMER_KIND = "notify.pnp_wait"
BILLING_FEATURE = "notification"
# Stored untranslated (shown translated): why a notification ended without reaching anyone.
NOT_DELIVERED_IN_TIME = gettext_noop("The LINE notification message was not delivered within the wait time, and "
                                     "SMS is off for this notification.")
NO_METHOD = gettext_noop("No method could be used: the phone is not a LINE friend's and the other methods are off.")


def wait_key(notification_id: int) -> str:
    return f"notify:{notification_id}:pnp-wait"


def delivery_tag(notification_id: int) -> str:
    """X-Line-Delivery-Tag (16-100 characters): LINE echoes it in the delivery webhook."""
    return f"tidings-notification-{notification_id}"


def _source(notification: Notification) -> str:
    return f"notification-setting:{notification.setting_id}"


def _contents(notification: Notification, method: str) -> list[dict]:
    return [{"type": "text", "text": notification.texts.get(method, "")}]


# --- entry points --------------------------------------------------------------------------------------------


def _locked(notification_id: int) -> Notification | None:
    return (Notification.objects.select_for_update(of=("self",)).select_related("workspace")
            .filter(pk=notification_id).first())


def notification_advance(*, notification_id: int, timer_due_at: datetime.datetime | None = None) -> str:
    """Move one notification on as far as the facts allow; returns what happened (for logs and tests).

    `timer_due_at`: the wait timer fired (its due time), so a LINE notification message still without a delivery
    report has run out of time.
    """
    with transaction.atomic():
        notification = _locked(notification_id)
        if notification is None:
            return "missing"
        return _advance(notification, timer_due_at=timer_due_at)


def notifications_start(*, notification_ids: list[int]) -> dict[int, str]:
    """Start queued notifications, each in its own transaction (one that fails is logged; the others go on).
    Run again after a crash, it starts only those still queued."""
    outcomes = {}
    for notification_id in notification_ids:
        try:
            outcomes[notification_id] = notification_advance(notification_id=notification_id)
        except Exception:  # noqa: BLE001 - one bad notification must not hold up the rest of its API call
            logger.exception("notification %s could not start", notification_id)
            outcomes[notification_id] = "error"
    return outcomes


@message_event_listener(kinds={"sent", "delivered", "failed"}, purposes={Purpose.NOTIFICATION})
def _on_message_events(*, workspace_id: int, kind: str, message_ids: list[int], at, data: dict) -> None:
    """A step's message was sent, failed or delivered: move its notification on in the same transaction."""
    notification_ids = sorted(set(
        NotificationStep.objects.filter(message_id__in=message_ids).values_list("notification_id", flat=True)))
    for notification_id in notification_ids:
        notification_advance(notification_id=notification_id)


# --- the state machine ---------------------------------------------------------------------------------------


def _set(notification: Notification, status: str, *, error: dict | None = None, final: bool = False,
         **fields) -> None:
    notification.status = status
    values = {"status": status, **fields}
    if error is not None:
        values["error"] = notification.error = error
    if final and notification.completed_at is None:
        values["completed_at"] = notification.completed_at = clock.now(notification.workspace)
    for field, value in fields.items():
        setattr(notification, field, value)
    Notification.objects.filter(pk=notification.pk).update(**values)


def _steps(notification: Notification) -> dict[str, NotificationStep]:
    """The notification's steps, their status brought up to date from their messages' events."""
    steps = {step.method: step for step in NotificationStep.objects.filter(notification=notification)}
    outcomes = message_outcomes([s.message_id for s in steps.values() if s.message_id])
    for step in steps.values():
        outcome = outcomes.get(step.message_id)
        if outcome is None:
            continue
        events, changed = outcome["events"], {}
        if "sent" in events and step.sent_at is None:
            changed["sent_at"] = events["sent"]
        if "delivered" in events:
            if step.status != StepStatus.DELIVERED:
                changed.update(status=StepStatus.DELIVERED, delivered_at=events["delivered"])
        elif "failed" in events:
            if step.status != StepStatus.FAILED:
                changed.update(status=StepStatus.FAILED, error=outcome["error"] or {"message": "failed"})
        elif "sent" in events and step.status == StepStatus.QUEUED:
            changed["status"] = StepStatus.SENT
        if changed:
            for field, value in changed.items():
                setattr(step, field, value)
            NotificationStep.objects.filter(pk=step.pk).update(**changed)
    return steps


def _outcome_unknown(step: NotificationStep) -> bool:
    return step.status == StepStatus.FAILED and (step.error or {}).get("message") == PNP_OUTCOME_UNKNOWN


def _advance(notification: Notification, *, timer_due_at=None) -> str:
    steps = _steps(notification)
    delivered = [s for s in steps.values() if s.status == StepStatus.DELIVERED]
    if delivered:
        for step in delivered:
            if step.method != notification.stage and not step.late:  # came after the cascade moved on
                step.late = True
                NotificationStep.objects.filter(pk=step.pk).update(late=True)
        if notification.status == NotificationStatus.DELIVERED:
            return "delivered"
        if notification.stage == Method.LINE_PNP:
            timer_cancel(workspace=notification.workspace, key=wait_key(notification.pk))
        _set(notification, NotificationStatus.DELIVERED, final=True)
        return "delivered"
    stage = notification.stage
    if not stage:
        return _next(notification, steps, after=None)
    step = steps[stage]
    if stage == Method.LINE_PUSH:
        if step.status == StepStatus.SENT:
            if notification.status != NotificationStatus.SENT:
                _set(notification, NotificationStatus.SENT, final=True)
            return "sent"
        if step.status == StepStatus.FAILED and notification.status not in (NotificationStatus.FAILED,):
            return _next(notification, steps, after=stage)
        return notification.status
    if stage == Method.LINE_PNP:
        return _pnp(notification, steps, step, timer_due_at)
    # SMS: the last method; its outcome is the notification's.
    if step.status == StepStatus.SENT and notification.status == NotificationStatus.SENDING:
        _set(notification, NotificationStatus.SENT, final=True)
    elif step.status == StepStatus.FAILED and notification.status != NotificationStatus.FAILED:
        _set(notification, NotificationStatus.FAILED, error=step.error, final=True)
    return notification.status


def _pnp(notification: Notification, steps, step: NotificationStep, timer_due_at) -> str:
    if notification.status == NotificationStatus.FAILED:
        return "failed"  # ran out of time with SMS off; only a late delivery changes that (above)
    if step.status == StepStatus.FAILED and not _outcome_unknown(step):
        timer_cancel(workspace=notification.workspace, key=wait_key(notification.pk))
        return _next(notification, steps, after=Method.LINE_PNP)
    wait = datetime.timedelta(minutes=notification.sms_wait_minutes)
    if timer_due_at is None and step.sent_at is not None and step.sent_at + wait > notification.deadline:
        # LINE accepted it (after retries, perhaps): the wait runs from then. (When the timer itself fires, its
        # time is up: a move it never heard of would otherwise leave no timer at all.)
        notification.deadline = step.sent_at + wait
        Notification.objects.filter(pk=notification.pk).update(deadline=notification.deadline)
        _schedule_wait(notification, replace=True)
    if step.status == StepStatus.SENT and notification.status != NotificationStatus.WAITING:
        _set(notification, NotificationStatus.WAITING)
    now = clock.now(notification.workspace)
    if (timer_due_at is not None and timer_due_at >= notification.deadline) or now >= notification.deadline:
        # No delivery report within the wait (a blocked user, an unknown outcome, a number LINE never answered
        # for): the SMS goes out. A delivery that still comes is recorded on this step.
        return _next(notification, steps, after=Method.LINE_PNP, timed_out=True)
    return notification.status


def _schedule_wait(notification: Notification, *, replace: bool = False) -> None:
    timer_schedule(workspace=notification.workspace, kind=WAIT_TIMER_KIND, key=wait_key(notification.pk),
                   due_at=notification.deadline, payload={"notification_id": notification.pk}, replace=replace)


def _friend(notification: Notification, account):
    """The one subscribed LINE identity (friend, not blocked) whose contact has this phone, or None (none or
    several: LINE's own phone matching - the notification message - then decides)."""
    if account is None:
        return None
    found = list(identities_by_phone(notification.workspace, notification.phone, "line")
                 .filter(account=account, subscribed=True, contact__merged_into__isnull=True)
                 .select_related("contact", "account")[:2])
    return found[0] if len(found) == 1 else None


def _contact(notification: Notification):
    """The customer with this phone (the oldest live one), created when there is none."""
    name = str((notification.values or {}).get("name") or "")[:100]
    try:
        return contact_identify(workspace=notification.workspace, phone=notification.phone, name=name,
                                phone_verified=True)
    except ServiceError:  # a name the contacts app refuses: keep the phone, drop the name
        return contact_identify(workspace=notification.workspace, phone=notification.phone, phone_verified=True)


def _next(notification: Notification, steps, *, after: str | None, timed_out: bool = False) -> str:
    """Try the methods after `after`, in order, until one is handed to the pipeline; none left → FAILED."""
    methods = notification.methods
    order = [m.value for m in METHOD_ORDER]
    candidates = [m for m in order[(order.index(after) + 1 if after else 0):] if m in methods and m not in steps]
    line = account_for_channel(notification.workspace, "line")
    last_error = steps[after].error if after and steps[after].status == StepStatus.FAILED else None
    if timed_out:
        last_error = {"message": NOT_DELIVERED_IN_TIME}
    for method in candidates:
        friend = None
        if method == Method.LINE_PUSH:
            friend = _friend(notification, line)
            if friend is None:
                continue  # not a friend: push does not apply (no step)
        if notification.contact_id is None:
            notification.contact = friend.contact if friend else _contact(notification)
            Notification.objects.filter(pk=notification.pk).update(contact=notification.contact)
        step = _step(notification, method, friend=friend, line=line)
        steps[method] = step
        if step.status != StepStatus.FAILED:
            status = NotificationStatus.SENDING
            fields = {"stage": method}
            if method == Method.LINE_PNP:
                fields["deadline"] = clock.now(notification.workspace) + datetime.timedelta(
                    minutes=notification.sms_wait_minutes)
            _set(notification, status, **fields)
            if method == Method.LINE_PNP:
                _schedule_wait(notification)  # a backstop from now; moved to "sent + wait" once LINE accepts
            return f"{method}:queued"
        last_error = step.error
        Notification.objects.filter(pk=notification.pk).update(stage=method)
        notification.stage = method
    _set(notification, NotificationStatus.FAILED, error=last_error or {"message": NO_METHOD}, final=True)
    return "failed"


def _step(notification: Notification, method: str, *, friend, line) -> NotificationStep:
    """Claim the step (unique per notification and method), then hand its message to the pipeline, in one
    savepoint: a refusal (no account, the balance below the grace minimum) leaves a failed step saying why."""
    at = clock.now(notification.workspace)
    step = NotificationStep(workspace=notification.workspace, notification=notification,
                            setting_id=notification.setting_id, method=method, created_at=at)
    try:
        with transaction.atomic():
            step.save()
            contents = _contents(notification, method)
            workspace = notification.workspace
            common = {"workspace": workspace, "contents": contents, "purpose": Purpose.NOTIFICATION,
                      "source": _source(notification)}
            if method == Method.LINE_PUSH:
                [message] = message_send(contact=friend.contact, channel="line", account=friend.account, **common)
            elif method == Method.LINE_PNP:
                [message] = message_send_pnp(contact=notification.contact, account=line, phone=notification.phone,
                                             delivery_tag=delivery_tag(notification.pk), **common)
            else:
                segments, _encoding = sms_segments(contents[0]["text"])
                [message] = message_send(contact=notification.contact, channel="sms", **common)
                sms_charge(workspace=workspace, feature=BILLING_FEATURE, segments=max(segments, 1),
                           message_id=message.pk, reference=f"notification:{notification.pk}")
                step.segments = segments
            step.message = message
            step.save(update_fields=["message", "segments"])
    except ServiceError as exc:
        # The savepoint undid the step row and any message: store the step again, failed, with the reason.
        step.pk, step.message, step.segments = None, None, 0
        step.status = StepStatus.FAILED
        step.error = {"message": str(exc.message), "code": exc.code, **({"field": exc.field} if exc.field else {})}
        step.save(force_insert=True)
    return step


def error_text(error: dict | None) -> str:
    """A step's or notification's error for people, in the current language: our own reasons are stored untranslated
    (or by code) and translated when shown; a provider's message is shown as the provider wrote it."""
    if not error:
        return ""
    if error.get("code") == "balance_below_grace":  # billing's message was written in the worker's language
        return _("SMS not sent: the balance is below the grace minimum. Top up the balance to resume SMS.")
    message = str(error.get("message") or "")
    return _(message) if message in (NOT_DELIVERED_IN_TIME, NO_METHOD) else message
