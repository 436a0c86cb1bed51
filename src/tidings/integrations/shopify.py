"""Shopify's side of the integration, free of our models: webhook signatures and reading its payloads.

Samples: `../shared/reference/shopify/` (carts, checkouts, orders, fulfillments; API version 2026-07).
"""

import base64
import hashlib
import hmac

MAX_ITEMS = 50  # line items copied into an event's properties (an event is at most 16 KB)


def signature(secret: str, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256 over the raw body, keyed with the webhook secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


def _money(value) -> str:
    return "" if value in (None, "") else str(value)


def items(payload: dict) -> list[dict]:
    """Line items in the tracking script's item shape (id, name, variant, sku, quantity, price)."""
    out = []
    for line in (payload.get("line_items") or [])[:MAX_ITEMS]:
        if not isinstance(line, dict):
            continue
        item = {
            "id": str(line.get("product_id") or line.get("variant_id") or line.get("id") or ""),
            "name": line.get("title") or line.get("name") or "",
            "variant": line.get("variant_title") or "",
            "sku": line.get("sku") or "",
            "quantity": line.get("quantity") or 0,
            "price": _money(line.get("price") or line.get("variant_price")),
        }
        out.append({k: v for k, v in item.items() if v not in ("", None)})
    return out


def currency(payload: dict) -> str:
    if payload.get("currency"):
        return payload["currency"]
    for line in payload.get("line_items") or []:
        money = ((line or {}).get("price_set") or {}).get("shop_money") or {}
        if money.get("currency_code"):
            return money["currency_code"]
    return ""


def cart_value(payload: dict) -> str:
    total = 0
    for line in payload.get("line_items") or []:
        try:
            total += float((line or {}).get("line_price") or 0)
        except (TypeError, ValueError):
            continue
    return f"{total:.2f}"


def buyer(payload: dict) -> dict:
    """Who is buying, from a checkout or an order: the email and phone typed at checkout first, then the
    customer account's. Addresses' phones are not used (they may be the recipient's)."""
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    name = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
    phones = [payload.get("phone"), payload.get("sms_marketing_phone"), customer.get("phone")]
    return {
        "email": payload.get("email") or payload.get("contact_email") or customer.get("email") or "",
        "phones": [p for p in phones if p],
        "name": name,
        "customer_id": str(customer["id"]) if customer.get("id") else "",
    }


def cart_properties(payload: dict, shop: str) -> dict:
    return {"cart_token": payload.get("token") or payload.get("id") or "", "items": items(payload),
            "value": cart_value(payload), "currency": currency(payload), "shop": shop}


def checkout_properties(payload: dict, shop: str) -> dict:
    props = {
        "checkout_token": payload.get("token") or "",
        "cart_token": payload.get("cart_token") or "",
        "items": items(payload),
        "value": _money(payload.get("total_price")),
        "currency": payload.get("presentment_currency") or currency(payload),
        "abandoned_checkout_url": payload.get("abandoned_checkout_url") or "",
        "completed_at": payload.get("completed_at"),
        "buyer_accepts_marketing": bool(payload.get("buyer_accepts_marketing")),
        "shop": shop,
    }
    return {k: v for k, v in props.items() if v not in ("", None)}


def order_properties(payload: dict, shop: str) -> dict:
    props = {
        "transaction_id": str(payload.get("id") or ""),
        "order_name": payload.get("name") or "",
        "amount": _money(payload.get("total_price")),
        "currency": payload.get("currency") or "",
        "items": items(payload),
        "financial_status": payload.get("financial_status") or "",
        "checkout_token": payload.get("checkout_token") or "",
        "cart_token": payload.get("cart_token") or "",
        "cancelled_at": payload.get("cancelled_at"),
        "shop": shop,
    }
    return {k: v for k, v in props.items() if v not in ("", None)}
