"""Shopify webhook receiver: `POST /integrations/shopify/<store public id>`.

Check `X-Shopify-Hmac-Sha256` over the raw body (constant time) before reading it → 401 on mismatch; store the
delivery once per `X-Shopify-Webhook-Id` → 200 (a repeat is 200 too, so Shopify stops retrying); the mapping to
events runs in a task (`services.shopify_delivery_process`).
"""

import hashlib
import json
import logging

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import shopify
from .selectors import shopify_store_by_public_id
from .services import shopify_webhook_store

logger = logging.getLogger("tidings.webhooks")


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest, public_id) -> JsonResponse:
    store = shopify_store_by_public_id(public_id)
    if store is None:
        raise Http404("No such store")
    body = request.body
    if not shopify.signature_valid(store.webhook_secret, body, request.headers.get("X-Shopify-Hmac-Sha256")):
        logger.warning("Rejected Shopify webhook with an invalid signature for store %s (%s) from %s (%s bytes)",
                       store.public_id, request.headers.get("X-Shopify-Shop-Domain", "?"),
                       request.META.get("REMOTE_ADDR", "?"), len(body))
        return JsonResponse({"error": {"code": "invalid_signature", "message": "Invalid signature."}}, status=401)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        return JsonResponse({"error": {"code": "malformed", "message": "The body is not a JSON object."}}, status=400)
    # Shopify always sends a webhook id; a hand-made delivery without one is deduplicated on its content.
    webhook_id = request.headers.get("X-Shopify-Webhook-Id") or "sha256:" + hashlib.sha256(body).hexdigest()[:40]
    shopify_webhook_store(store=store, webhook_id=webhook_id, topic=request.headers.get("X-Shopify-Topic", ""),
                          payload=payload, triggered_at=request.headers.get("X-Shopify-Triggered-At", ""))
    return JsonResponse({})
