"""Provider webhook receivers: check the signature, store each event once, answer 200 fast; processing is a task.

`/webhooks/<provider>/<account public id>`; the provider name in the URL maps to our channel (Twilio → sms).
"""

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .inbound import webhook_events_store
from .registry import adapter_for
from .selectors import account_by_public_id

logger = logging.getLogger("tidings.webhooks")

PROVIDER_CHANNELS = {
    "line": "line", "twilio": "sms", "whatsapp": "whatsapp", "messenger": "messenger", "instagram": "instagram",
}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook_receive(request: HttpRequest, provider: str, public_id):
    channel = PROVIDER_CHANNELS.get(provider)
    account = account_by_public_id(public_id) if channel else None
    if account is None or account.channel != channel:
        raise Http404("No such account")
    try:
        adapter = adapter_for(channel)
    except LookupError:
        raise Http404("No adapter") from None
    if request.method == "GET":
        handshake = getattr(adapter, "handshake", None)
        if handshake is None:
            return HttpResponseNotAllowed(["POST"])
        return handshake(account, request)
    body = request.body
    # The URL the provider signed (Twilio signs it): ours as configured, not as the proxy in front rewrote it.
    request.webhook_url = settings.BASE_URL + request.get_full_path()
    if not adapter.verify_signature(account, request, body):
        logger.warning(
            "Rejected %s webhook with an invalid signature for account %s from %s (%s bytes)",
            provider, account.public_id, request.META.get("REMOTE_ADDR", "?"), len(body),
        )
        return JsonResponse({"error": {"code": "invalid_signature", "message": "Invalid signature."}}, status=401)
    try:
        items = adapter.split_webhook(account, request, body)
    except ValueError as exc:
        return JsonResponse({"error": {"code": "malformed", "message": str(exc)[:300]}}, status=400)
    webhook_events_store(workspace=account.workspace, account=account, items=items)
    return JsonResponse({})
