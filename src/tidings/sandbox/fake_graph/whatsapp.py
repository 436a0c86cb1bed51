"""The fake WhatsApp Cloud API: /messages and media, with Meta's rules, limits and errors, and status webhooks back.

`POST /v23.0/<phone-number-id>/messages`, in the order Meta applies them:
- the phone number id must be this account's (else Graph's "object does not exist", code 100 subcode 33);
- throughput: `account.settings["rate_limit"]` messages per second (default 80) → 130429;
- the body (whatsapp_validation): structure, interactive limits, templates looked up in SandboxTemplate by
  (account, name, language) — missing or not approved → 132001 (paused 132015, disabled 132016), parameter count
  → 132000;
- the pair limit, only when settings.RATE_PAIR_INTERVALS["whatsapp"] is set: one message per interval to the same
  person (workspace clock) → 131056.
Accepted: 200 with a wamid, the message recorded as a SandboxDelivery, and status webhooks scheduled on the
workspace clock: `sent` at once and `delivered` 2 s later. As at Meta, some failures come only as a `failed`
status after the 200: a number that is not on WhatsApp (131026) and a non-template outside the person's 24-hour
window (131047, delivery kept with delivered=False).

Media: `POST /v23.0/<phone-number-id>/media` (multipart `file`) stores the bytes and a JSON description under
MEDIA_ROOT/sandbox/whatsapp_media/ (durable, shared by every process); `GET /v23.0/<media-id>` describes it, and
the URL it gives downloads it with the same bearer token (as Meta's lookaside URL does).
"""

import datetime
import hashlib
import json
import re
import secrets
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from tidings.channels.models import ChannelAccount
from tidings.core import clock

from ..models import Persona, SandboxDelivery, SandboxTemplate
from ..services import sandbox_rate_count, sandbox_request_record
from . import whatsapp_validation as v
from .common import Answer, _authorized, graph_account, graph_endpoint, graph_error, invalid_parameter
from .whatsapp_webhooks import wa_status, wamid

WINDOW = datetime.timedelta(hours=24)
DELIVERED_AFTER = datetime.timedelta(seconds=2)
# A failure Meta reports after accepting the send; a moment later so the sender has stored the wamid.
FAILED_AFTER = datetime.timedelta(seconds=1)
DEFAULT_THROUGHPUT = 80
MEDIA_MAX_BYTES = {"image": 5 * 1024 * 1024, "video": 16 * 1024 * 1024, "audio": 16 * 1024 * 1024,
                   "sticker": 500 * 1024}
MEDIA_ID = re.compile(r"^\d{16}$")

UNDELIVERABLE = {"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                 "error_data": {"details": "Message Undeliverable."}}
RE_ENGAGEMENT = {"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                 "error_data": {"details": "Message failed to send because more than 24 hours have passed since the "
                                           "customer last replied to this number."}}


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number or "")


def in_window(persona: Persona, now: datetime.datetime) -> bool:
    last = persona.whatsapp_last_message_at
    return last is not None and now - last < WINDOW


def _unknown_object(object_id: str, method: str = "post") -> Answer:
    return graph_error(400, f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
                            "loaded due to missing permissions, or does not support this operation.",
                       code=100, subcode=33, type_="GraphMethodException")


def _throughput(account: ChannelAccount) -> Answer | None:
    limit = int((account.settings or {}).get("rate_limit") or DEFAULT_THROUGHPUT)
    if sandbox_rate_count(key=f"sandbox:graph:{account.pk}:whatsapp_messages") > limit:
        return graph_error(400, "(#130429) Rate limit hit", code=130429,
                           details="Cloud API message throughput has been reached.")
    return None


def _pair_limited(account: ChannelAccount, persona: Persona, now) -> Answer | None:
    interval = settings.RATE_PAIR_INTERVALS.get("whatsapp")
    if not interval:
        return None
    last = (SandboxDelivery.objects.filter(account=account, persona=persona, kind="push")
            .order_by("-created_at").values_list("created_at", flat=True).first())
    if last is not None and now - last < datetime.timedelta(seconds=float(interval)):
        return graph_error(400, "(#131056) (Business Account, Consumer Account) pair rate limit hit", code=131056,
                           details="Message failed to send because there were too many messages sent from this "
                                   "phone number to the same phone number in a short period of time.")
    return None


def _template(account: ChannelAccount, template: dict) -> tuple[SandboxTemplate | None, Answer | None]:
    name = template.get("name")
    language = (template.get("language") or {}).get("code") if isinstance(template.get("language"), dict) else None
    if not isinstance(name, str) or not name or not isinstance(language, str) or not language:
        return None, v.missing("template['name'] and template['language']['code'] are required.")
    stored = SandboxTemplate.objects.filter(account=account, name=name, language=language).first()
    if stored is None or stored.status in ("PENDING", "REJECTED"):
        return None, graph_error(404, "(#132001) Template name does not exist in the translation", code=132001,
                                 details=f"template name ({name}) does not exist in {language}")
    if stored.status == "PAUSED":
        return None, graph_error(400, "(#132015) Template is Paused", code=132015,
                                 details=f"Template {name} is paused due to low quality.")
    if stored.status != "APPROVED":
        return None, graph_error(400, "(#132016) Template is Disabled", code=132016,
                                 details=f"Template {name} has been disabled.")
    problem = v.check_template_parameters(template, stored.components)
    return stored, problem


def _check_body(account: ChannelAccount, body: dict) -> tuple[SandboxTemplate | None, Answer | None]:
    problem = v.check_envelope(body)
    if problem:
        return None, problem
    kind = body.get("type", "text")
    obj = body[kind]
    if kind == "text":
        return None, v.check_text(obj)
    if kind in v.MEDIA:
        problem = v.check_media(kind, obj)
        if problem is None and obj.get("id") and _media_meta(str(obj["id"]), account) is None:
            problem = invalid_parameter(f"Media id {obj['id']} is not valid for this phone number.")
        return None, problem
    if kind == "interactive":
        return None, v.check_interactive(obj)
    if kind == "template":
        return _template(account, obj)
    return None, None


def wa_api_messages(account: ChannelAccount, request, body: dict, phone_number_id: str) -> Answer:
    if phone_number_id != account.external_id:
        return _unknown_object(phone_number_id)
    template, problem = _check_body(account, body)
    if problem:
        return problem
    now = clock.now(account.workspace)
    to = body["to"]
    persona = Persona.objects.filter(workspace=account.workspace, whatsapp_id=_digits(to)).exclude(
        whatsapp_id="").first()
    message_id = wamid()
    opaque = body.get("biz_opaque_callback_data")
    answer_body = {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": _digits(to)}],
                   "messages": [{"id": message_id}]}
    if persona is None:  # not a WhatsApp number: accepted, then reported failed
        failed = wa_status(account, message_id, "failed", _digits(to), delay=FAILED_AFTER,
                           biz_opaque_callback_data=opaque, error=UNDELIVERABLE)
        return Answer(200, answer_body, statuses=[([failed], FAILED_AFTER)])
    problem = _pair_limited(account, persona, now)
    if problem:
        return problem
    kind = body.get("type", "text")
    payload = {"type": kind, **{k: val for k, val in body.items() if k not in ("messaging_product", "recipient_type",
                                                                              "to", "type")}}
    reachable = kind == "template" or in_window(persona, now)
    delivery = SandboxDelivery(account=account, persona=persona, provider="whatsapp", channel="whatsapp",
                               kind="push", payload=payload, provider_message_id=message_id, delivered=reachable)
    if not reachable:
        failed = wa_status(account, message_id, "failed", persona.whatsapp_id, delay=FAILED_AFTER,
                           biz_opaque_callback_data=opaque, error=RE_ENGAGEMENT)
        return Answer(200, answer_body, deliveries=[delivery], statuses=[([failed], FAILED_AFTER)])
    category = template.category.lower() if template is not None else "service"
    sent = wa_status(account, message_id, "sent", persona.whatsapp_id, biz_opaque_callback_data=opaque,
                     category=category)
    delivered = wa_status(account, message_id, "delivered", persona.whatsapp_id, delay=DELIVERED_AFTER,
                          biz_opaque_callback_data=opaque, category=category)
    if template is not None:
        answer_body["messages"][0]["message_status"] = "accepted"
    return Answer(200, answer_body, deliveries=[delivery], statuses=[
        ([sent], datetime.timedelta(0)), ([delivered], DELIVERED_AFTER),
    ])


messages_view = graph_endpoint("whatsapp_messages", "POST", channels=("whatsapp",), throttle=_throughput,
                               body=True)(wa_api_messages)


# --- media -------------------------------------------------------------------------------------------------------


def _media_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "sandbox" / "whatsapp_media"


def _media_meta(media_id: str, account: ChannelAccount | None = None) -> dict | None:
    if not MEDIA_ID.match(media_id or ""):
        return None
    try:
        meta = json.loads((_media_dir() / f"{media_id}.json").read_text())
    except (OSError, ValueError):
        return None
    if account is not None and meta.get("account_id") != account.pk:
        return None
    return meta


def media_known(media_id: str) -> bool:
    return _media_meta(media_id) is not None


def wa_api_media_upload(account: ChannelAccount, request, body, phone_number_id: str) -> Answer:
    if phone_number_id != account.external_id:
        return _unknown_object(phone_number_id)
    if request.POST.get("messaging_product") != "whatsapp":
        return invalid_parameter("The parameter messaging_product is required and must be 'whatsapp'.")
    upload = request.FILES.get("file")
    if upload is None:
        return v.missing("The parameter file is required.")
    mime = request.POST.get("type") or upload.content_type or "application/octet-stream"
    data = upload.read()
    limit = MEDIA_MAX_BYTES.get(mime.split("/")[0], 100 * 1024 * 1024)
    if len(data) > limit:
        return graph_error(400, "(#131052) Media upload error", code=131052,
                           details=f"File size {len(data)} exceeds the limit of {limit} bytes for {mime}.")
    media_id = str(secrets.randbelow(9 * 10 ** 15) + 10 ** 15)
    folder = _media_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / media_id).write_bytes(data)
    meta = {"id": media_id, "account_id": account.pk, "mime_type": mime, "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": len(data), "file_name": upload.name or ""}
    (folder / f"{media_id}.json").write_text(json.dumps(meta))
    return Answer(200, {"id": media_id})


def wa_api_media_get(account: ChannelAccount, request, body, media_id: str) -> Answer:
    meta = _media_meta(media_id, account)
    wanted = request.GET.get("phone_number_id")
    if meta is None or (wanted and wanted != account.external_id):
        return _unknown_object(media_id, "get")
    url = f"{account.base_url.rstrip('/')}/whatsapp_business/attachments/?mid={media_id}"
    return Answer(200, {"url": url, "mime_type": meta["mime_type"], "sha256": meta["sha256"],
                        "file_size": str(meta["file_size"]), "id": media_id, "messaging_product": "whatsapp"})


media_upload_view = graph_endpoint("whatsapp_media", "POST", channels=("whatsapp",))(wa_api_media_upload)
media_get_view = graph_endpoint("whatsapp_media_get", "GET", channels=("whatsapp",))(wa_api_media_get)


@csrf_exempt
def media_download_view(request, public_id):
    """The bytes behind a media URL; like Meta's, it needs the access token."""
    account = graph_account(public_id)
    media_id = request.GET.get("mid", "")
    meta = _media_meta(media_id, account) if account is not None and account.channel == "whatsapp" else None
    status = 200 if meta is not None and _authorized(request, account) else (401 if meta is not None else 404)
    if account is not None:
        sandbox_request_record(workspace=account.workspace, account=account, provider="whatsapp", method=request.method,
                               path="/whatsapp_business/attachments/", query=request.GET.dict(),
                               headers=request.headers, body=None, response_status=status)
    if status != 200:
        return HttpResponse(status=status)
    return HttpResponse((_media_dir() / media_id).read_bytes(), content_type=meta["mime_type"])
