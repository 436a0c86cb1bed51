"""The fake Graph API's WhatsApp message templates (a WABA's `message_templates` edge) and Meta's review.

- `POST /<public_id>/v23.0/<waba-id>/message_templates` validates like Meta (names, lengths, variables, the button
  mix: quick replies in one group, ≤ 10 buttons, URL ≤ 2, phone ≤ 1, ORDER_DETAILS ≤ 1), stores a SandboxTemplate
  PENDING and answers {id, status, category}. Refusals are Graph's code 100 with `error_user_msg` naming the rule.
- `GET` the same path lists them ({data, paging}; `name`, `status`, `limit`, `after`); `DELETE ?name=[&hsm_id=]`.
- `POST /<public_id>/v23.0/<template-id>` edits one (components, category): it goes back to PENDING.
- Review: a durable timer on the workspace clock decides REVIEW_DELAY after each submission: APPROVED, or REJECTED
  (reason INVALID_FORMAT) when the name contains "reject"; then Meta's signed `message_template_status_update`
  webhook goes to the account's webhook URL (retried by the timer until Tidings answers 2xx).
"""

import base64
import datetime
import secrets

from django.db import transaction
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from tidings.channels.models import ChannelAccount
from tidings.core.errors import ServiceError
from tidings.message_templates.components import OUR_BUTTON, spec_from_graph
from tidings.message_templates.rules import URL_RE, button_mix_problem, template_clean
from tidings.timers.registry import timer_handler
from tidings.timers.services import timer_schedule

from ..models import SandboxTemplate
from .common import Answer, GraphWebhookFailed, graph_endpoint, graph_error, graph_webhook_send
from .whatsapp_webhooks import wa_webhook_template_status

REVIEW_TIMER = "sandbox.template_review"
REVIEW_DELAY = datetime.timedelta(seconds=30)
REJECTED_REASON = "INVALID_FORMAT"
MAX_TEMPLATES = 250  # per WABA, as the original product states for Meta's limit


def _refuse(title: str, message: str, *, subcode: int | None = None) -> Answer:
    return graph_error(400, "Invalid parameter", code=100, subcode=subcode, details=message,
                       error_user_title=title, error_user_msg=message, is_transient=False)


def _unknown_object(object_id: str, method: str) -> Answer:
    return graph_error(400, f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
                       "loaded due to missing permissions, or does not support this operation.",
                       code=100, subcode=33, type_="GraphMethodException")


def _check_components(name: str, language: str, category: str, components) -> Answer | None:
    """Meta's checks, in English as Meta answers them; None when the template may go to review."""
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        return _refuse("Invalid components", "components must be a list of objects.")
    spec = spec_from_graph({"name": name, "language": language, "category": category, "components": components})
    kinds = [OUR_BUTTON.get(str(button.get("type", "")).upper(), "other")  # COPY_CODE, OTP, FLOW…: accepted as is
             for component in components if str(component.get("type", "")).upper() == "BUTTONS"
             for button in component.get("buttons") or [] if isinstance(button, dict)]
    with translation.override("en"):
        problem = button_mix_problem(kinds, "system_notification")  # Meta knows no audience: ORDER_DETAILS is fine
        if problem is not None:
            return _refuse("Invalid buttons", problem.message)
    if category == "AUTHENTICATION":
        return None  # Meta writes authentication bodies itself (OTP buttons, security recommendation)
    data = {**spec, "audience": "system_notification"}
    if spec["header"] and spec["header"].get("format") != "TEXT" and not URL_RE.match(spec["header"]["url"]):
        data["header"] = {**spec["header"], "url": "https://example.invalid/sample"}  # an upload handle: fine
    with translation.override("en"):
        try:
            template_clean(data)
        except ServiceError as exc:
            return _refuse(_title(exc), str(exc.message))
    return None


def _title(exc: ServiceError) -> str:
    if exc.code.startswith("too_many") or exc.code == "quick_replies_split":
        return "Invalid buttons"
    return f"Invalid {str(exc.field or 'parameter').split('[')[0].split('.')[0]}"


def _review_schedule(account: ChannelAccount, template: SandboxTemplate) -> None:
    timer_schedule(workspace=account.workspace, kind=REVIEW_TIMER, key=f"{REVIEW_TIMER}:{template.template_id}",
                   delay=REVIEW_DELAY, payload={"template_id": template.template_id}, replace=True)


def _template_out(template: SandboxTemplate) -> dict:
    out = {"name": template.name, "components": template.components, "language": template.language,
           "status": template.status, "category": template.category, "id": template.template_id}
    if template.status == "REJECTED":
        out["rejected_reason"] = template.rejected_reason or "NONE"
    return out


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def _offset(cursor: str) -> int:
    try:
        return max(0, int(base64.urlsafe_b64decode(cursor.encode()).decode()))
    except (ValueError, UnicodeDecodeError):
        return 0


@graph_endpoint("templates.create", "POST", channels=("whatsapp",), body=True)
def template_create(account, request, body, waba_id):
    if waba_id != str(account.settings.get("waba_id")):
        return _unknown_object(waba_id, "post")
    name, language = str(body.get("name") or ""), str(body.get("language") or "")
    category = str(body.get("category") or "").upper()
    if not name or not language or not category or "components" not in body:
        return _refuse("Missing parameter", "name, language, category and components are required.")
    refusal = _check_components(name, language, category, body.get("components"))
    if refusal is not None:
        return refusal
    templates = SandboxTemplate.objects.filter(account=account)
    if templates.filter(name=name, language=language).exists():
        return _refuse("Content in This Language Already Exists",
                       f"There is already {language} content for this template ({name}).", subcode=2388024)
    if templates.count() >= MAX_TEMPLATES:
        return _refuse("Template limit reached", f"A WhatsApp Business Account has at most {MAX_TEMPLATES} "
                       "templates; delete one first.")
    template = SandboxTemplate.objects.create(
        account=account, template_id=str(secrets.randbelow(9 * 10**15) + 10**15), name=name, language=language,
        category=category, components=body["components"], status="PENDING",
    )
    _review_schedule(account, template)
    return Answer(200, {"id": template.template_id, "status": "PENDING", "category": category})


@graph_endpoint("templates.list", "GET", channels=("whatsapp",))
def template_list(account, request, body, waba_id):
    if waba_id != str(account.settings.get("waba_id")):
        return _unknown_object(waba_id, "get")
    templates = SandboxTemplate.objects.filter(account=account).order_by("created_at", "pk")
    if request.GET.get("name"):
        templates = templates.filter(name=request.GET["name"])
    if request.GET.get("status"):
        templates = templates.filter(status=request.GET["status"].upper())
    try:
        limit = min(max(int(request.GET.get("limit", 25)), 1), 1000)
    except ValueError:
        limit = 25
    start = _offset(request.GET.get("after", ""))
    rows = list(templates[start:start + limit + 1])
    page = rows[:limit]
    paging = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(page))}}
    if len(rows) > limit:
        paging["next"] = request.build_absolute_uri(f"{request.path}?limit={limit}&after={_cursor(start + limit)}")
    return Answer(200, {"data": [_template_out(t) for t in page], "paging": paging})


@graph_endpoint("templates.delete", "DELETE", channels=("whatsapp",))
def template_delete(account, request, body, waba_id):
    if waba_id != str(account.settings.get("waba_id")):
        return _unknown_object(waba_id, "delete")
    name = request.GET.get("name", "")
    if not name:
        return _refuse("Missing parameter", "name is required.")
    templates = SandboxTemplate.objects.filter(account=account, name=name)
    if request.GET.get("hsm_id"):
        templates = templates.filter(template_id=request.GET["hsm_id"])
    if not templates.exists():
        # Meta's exact answer for an unknown name is not in the reference; a 404 lets clients tell "already gone".
        return graph_error(404, f"Message template \"{name}\" not found", code=100, type_="GraphMethodException")
    templates.delete()
    return Answer(200, {"success": True})


@graph_endpoint("templates.edit", "POST", channels=("whatsapp",), body=True)
def template_edit(account, request, body, template_id):
    template = SandboxTemplate.objects.select_for_update().filter(account=account, template_id=template_id).first()
    if template is None:
        return _unknown_object(template_id, "post")
    if template.status == "PENDING":
        return _refuse("Template in review", "A template cannot be edited while it is in review.")
    category = str(body.get("category") or template.category).upper()
    components = body.get("components", template.components)
    refusal = _check_components(template.name, template.language, category, components)
    if refusal is not None:
        return refusal
    template.components, template.category = components, category
    template.status, template.rejected_reason = "PENDING", ""
    template.save(update_fields=["components", "category", "status", "rejected_reason"])
    _review_schedule(account, template)
    return Answer(200, {"success": True})


@csrf_exempt
def message_templates_view(request, public_id, waba_id):
    """One Graph path, three methods."""
    view = {"GET": template_list, "DELETE": template_delete}.get(request.method, template_create)
    return view(request, public_id, waba_id=waba_id)


# --- review ---------------------------------------------------------------------------------------------------------


def template_status_webhook(account: ChannelAccount, template: SandboxTemplate) -> dict:
    """Meta's `message_template_status_update` webhook body for the template's current status."""
    reason = (template.rejected_reason or "NONE") if template.status == "REJECTED" else None
    return wa_webhook_template_status(account, template.template_id, template.name, template.language,
                                      template.status, reason)


def template_review(template_id: str) -> SandboxTemplate | None:
    """Decide a pending template (approve, or reject a name with "reject" in it); the decided template, or None."""
    with transaction.atomic():
        template = SandboxTemplate.objects.select_for_update().filter(template_id=template_id).first()
        if template is None:
            return None  # deleted while in review
        if template.status == "PENDING":
            rejected = "reject" in template.name
            template.status = "REJECTED" if rejected else "APPROVED"
            template.rejected_reason = REJECTED_REASON if rejected else ""
            template.save(update_fields=["status", "rejected_reason"])
        return template


@timer_handler(REVIEW_TIMER, outside_transaction=True)
def template_review_fire(timer) -> None:
    template = template_review(timer.payload["template_id"])
    if template is None or template.status not in ("APPROVED", "REJECTED"):
        return
    account = ChannelAccount.objects.select_related("workspace").filter(pk=template.account_id).first()
    if account is None or not account.is_active:
        return
    response = graph_webhook_send(account, template_status_webhook(account, template))
    if not 200 <= response.status_code < 300:
        raise GraphWebhookFailed(f"template status webhook answered {response.status_code}")
