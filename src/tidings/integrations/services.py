"""Writes for shop integrations: connecting Shopify stores, storing their webhooks once, and turning each into
the tracking events the script and the Events API produce (SPEC D5).

Topic → event (source `shopify`):

- `carts/create`, `carts/update` → `add_to_cart`, one per cart token (later updates refresh its items). Carts
  carry no buyer, so only a cart the tracking script reported (`cart_token` in an event's properties) is
  attributable: to that visitor and its contact. Others are ignored.
- `checkouts/create`, `checkouts/update` → `checkout`, one per checkout token: the buyer's email / phone / customer
  id identify the contact (`contact_identify`; phones are not verified, so they never merge contacts); the cart
  token finds the visitor, which joins the contact if it was anonymous.
- `orders/create` → `purchase`, one per order id, attributed like a checkout (and through its checkout's event).
- Anything else (checkouts/delete, fulfillments, …) is stored and marked ignored.
"""

import datetime
import logging
import re

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tidings.contacts.models import EventSource, EventType, MergeReason
from tidings.contacts.services import contact_identify, phone_normalize
from tidings.contacts.tracking import (
    event_by_key,
    event_upsert,
    events_record,
    visitor_attach_contact,
    visitor_by_cart_token,
)
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.core.services import audit_record
from tidings.core.tasking import enqueue_on_commit

from . import shopify
from .models import DeliveryStatus, ShopifyDelivery, ShopifyStore

logger = logging.getLogger("tidings.integrations")

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$")
SECRET_MAX = 200


# --- stores --------------------------------------------------------------------------------------------------


def shop_domain_clean(value: str) -> str:
    """`acme`, `acme.myshopify.com`, `https://acme.myshopify.com/admin` → `acme.myshopify.com`."""
    domain = (value or "").strip().lower()
    domain = re.sub(r"^https?://", "", domain).split("/", 1)[0]
    if domain and "." not in domain:
        domain += ".myshopify.com"
    if not SHOP_DOMAIN.match(domain):
        raise ServiceError(_("Enter the shop's myshopify.com address, e.g. acme-tea.myshopify.com."),
                           field="shop_domain")
    return domain


def _secret_clean(value: str) -> str:
    secret = (value or "").strip()
    if not secret:
        raise ServiceError(_("Paste the webhook signing secret."), field="webhook_secret")
    if len(secret) > SECRET_MAX:
        raise ServiceError(_("At most %(n)d characters.") % {"n": SECRET_MAX}, field="webhook_secret")
    return secret


@transaction.atomic
def shopify_store_connect(*, workspace, actor, shop_domain: str, webhook_secret: str, name: str = "") -> ShopifyStore:
    domain = shop_domain_clean(shop_domain)
    secret = _secret_clean(webhook_secret)
    name = (name or "").strip()[:120]
    if ShopifyStore.objects.for_workspace(workspace).filter(shop_domain=domain).exists():
        raise ServiceError(_("This shop is already connected."), field="shop_domain")
    store = ShopifyStore(workspace=workspace, shop_domain=domain, name=name, created_at=clock.now(workspace))
    store.webhook_secret = secret
    store.save()
    audit_record(workspace=workspace, actor=actor, action="integrations.shopify.connect", target=store,
                 changes={"shop_domain": [None, domain]})
    return store


@transaction.atomic
def shopify_store_set_secret(*, workspace, actor, store: ShopifyStore, webhook_secret: str) -> ShopifyStore:
    if store.workspace_id != workspace.pk:
        raise ServiceError(_("Not found"), field="store")
    store.webhook_secret = _secret_clean(webhook_secret)
    store.save(update_fields=["secret_encrypted"])
    audit_record(workspace=workspace, actor=actor, action="integrations.shopify.secret", target=store)
    return store


@transaction.atomic
def shopify_store_disconnect(*, workspace, actor, store: ShopifyStore) -> None:
    if store.workspace_id != workspace.pk:
        raise ServiceError(_("Not found"), field="store")
    audit_record(workspace=workspace, actor=actor, action="integrations.shopify.disconnect", target=store,
                 changes={"shop_domain": [store.shop_domain, None]})
    store.delete()  # its deliveries go too; the events they made stay on the timelines


# --- webhooks ------------------------------------------------------------------------------------------------


def _when(value) -> datetime.datetime | None:
    parsed = parse_datetime(value) if isinstance(value, str) and value else None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


@transaction.atomic
def shopify_webhook_store(*, store: ShopifyStore, webhook_id: str, topic: str, payload: dict,
                          triggered_at: str = "") -> ShopifyDelivery | None:
    """Store a verified delivery once per webhook id and enqueue its processing; None for a repeat."""
    workspace = store.workspace
    now = clock.now(workspace)
    try:
        with transaction.atomic():
            delivery = ShopifyDelivery.objects.create(
                workspace=workspace, store=store, webhook_id=webhook_id[:100], topic=topic[:100], payload=payload,
                triggered_at=_when(triggered_at), received_at=now)
    except IntegrityError:  # Shopify retried a delivery we already have
        return None
    ShopifyStore.objects.filter(pk=store.pk).update(last_delivery_at=now)
    from .tasks import shopify_delivery_process

    enqueue_on_commit(shopify_delivery_process, delivery.pk)
    return delivery


def _phone(workspace, phones: list[str]) -> str:
    for raw in phones:
        try:
            return phone_normalize(workspace=workspace, phone=str(raw))
        except ServiceError:
            continue  # Shopify accepts numbers we cannot use ("555-555-SHIP"); try the next one
    return ""


def _buyer_contact(workspace, payload: dict):
    who = shopify.buyer(payload)
    phone = _phone(workspace, who["phones"])
    try:
        with transaction.atomic():
            return contact_identify(workspace=workspace, member_id=who["customer_id"], email=who["email"],
                                    phone=phone, name=who["name"])
    except ServiceError:  # an email Shopify took and we do not: try without it
        if not (who["customer_id"] or phone):
            return None
        return contact_identify(workspace=workspace, member_id=who["customer_id"], phone=phone, name=who["name"])


def _join(workspace, visitor, contact):
    """The visitor whose cart this was is this buyer's browser: an anonymous one joins the contact. A visitor
    already known as someone else is left alone (a shop webhook is not a binding)."""
    if visitor is None:
        return contact
    if contact is None:
        return visitor.contact
    if visitor.contact_id is None:
        return visitor_attach_contact(workspace=workspace, visitor=visitor, contact=contact,
                                      reason=MergeReason.BINDING, detail="Shopify checkout")
    return contact


def _cart(store, delivery):
    payload, workspace = delivery.payload, store.workspace
    props = shopify.cart_properties(payload, store.shop_domain)
    visitor = visitor_by_cart_token(workspace, props["cart_token"])
    if visitor is None:
        return None, _("cart %(token)s was not reported by the tracking script") % {"token": props["cart_token"]}
    event = event_upsert(workspace=workspace, source=EventSource.SHOPIFY, dedupe_key=f"cart:{props['cart_token']}",
                         type=EventType.ADD_TO_CART, properties=props, visitor=visitor, contact=visitor.contact,
                         occurred_at=_when(payload.get("updated_at")) or _when(payload.get("created_at")))
    return event, ""


def _checkout(store, delivery):
    payload, workspace = delivery.payload, store.workspace
    props = shopify.checkout_properties(payload, store.shop_domain)
    if not props.get("checkout_token"):
        return None, _("no checkout token")
    visitor = visitor_by_cart_token(workspace, props.get("cart_token", ""))
    contact = _join(workspace, visitor, _buyer_contact(workspace, payload))
    if contact is None and visitor is None:
        return None, _("no buyer details and an unknown cart")
    event = event_upsert(workspace=workspace, source=EventSource.SHOPIFY,
                         dedupe_key=f"checkout:{props['checkout_token']}", type=EventType.CHECKOUT,
                         properties=props, contact=contact, visitor=visitor,
                         occurred_at=_when(payload.get("created_at")) or _when(payload.get("updated_at")))
    return event, ""


def _order(store, delivery):
    payload, workspace = delivery.payload, store.workspace
    props = shopify.order_properties(payload, store.shop_domain)
    if not props.get("transaction_id"):
        return None, _("no order id")
    checkout = (event_by_key(workspace, EventSource.SHOPIFY, f"checkout:{props['checkout_token']}")
                if props.get("checkout_token") else None)
    visitor = visitor_by_cart_token(workspace, props.get("cart_token", "")) or (checkout.visitor if checkout else None)
    contact = _join(workspace, visitor, _buyer_contact(workspace, payload))
    if contact is None and checkout is not None:
        contact = checkout.contact
    if contact is None and visitor is None:
        return None, _("no buyer details and an unknown cart")
    occurred = _when(payload.get("processed_at")) or _when(payload.get("created_at"))
    stored = events_record(workspace=workspace, source=EventSource.SHOPIFY, events=[{
        "type": EventType.PURCHASE, "contact": contact, "visitor": visitor, "properties": props,
        "occurred_at": occurred, "event_id": f"order:{props['transaction_id']}"}])
    if not stored:
        return event_by_key(workspace, EventSource.SHOPIFY, f"order:{props['transaction_id']}"), ""
    return stored[0], ""


HANDLERS = {
    "carts/create": _cart, "carts/update": _cart,
    "checkouts/create": _checkout, "checkouts/update": _checkout,
    "orders/create": _order,
}


def shopify_delivery_process(*, delivery_id: int) -> ShopifyDelivery | None:
    """Turn one stored delivery into its event. A failure is recorded on the delivery (nothing half-written)."""
    delivery = ShopifyDelivery.objects.select_related("store__workspace").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.RECEIVED:
        return delivery
    store = delivery.store
    handler = HANDLERS.get(delivery.topic)
    event, outcome, status = None, "", DeliveryStatus.PROCESSED
    if handler is None:
        status, outcome = DeliveryStatus.IGNORED, _("topic %(topic)s makes no event") % {"topic": delivery.topic}
    else:
        try:
            with transaction.atomic():
                event, reason = handler(store, delivery)
        except Exception as exc:  # a payload we could not read: keep the delivery and say why
            logger.exception("Shopify delivery %s (%s) failed", delivery.pk, delivery.topic)
            status, outcome = DeliveryStatus.FAILED, str(getattr(exc, "message", exc))[:300]
        else:
            if event is None:
                status, outcome = DeliveryStatus.IGNORED, reason
            else:
                outcome = f"{event.type} #{event.pk}"
    ShopifyDelivery.objects.filter(pk=delivery.pk).update(
        status=status, outcome=str(outcome)[:300], event=event, processed_at=clock.now(store.workspace))
    delivery.refresh_from_db()
    return delivery
