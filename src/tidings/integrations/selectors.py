"""Reads for shop integrations."""

from django.db.models import Count, Q

from .models import DeliveryStatus, ShopifyDelivery, ShopifyStore


def shopify_store_by_public_id(public_id) -> ShopifyStore | None:
    return ShopifyStore.objects.select_related("workspace").filter(public_id=public_id).first()


def shopify_store_get(workspace, store_id) -> ShopifyStore | None:
    return ShopifyStore.objects.for_workspace(workspace).filter(pk=store_id).first()


def shopify_stores(workspace):
    """The workspace's stores with delivery counts by outcome."""
    return ShopifyStore.objects.for_workspace(workspace).annotate(
        delivered=Count("deliveries"),
        processed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PROCESSED)),
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
    )


def shopify_deliveries(workspace, store: ShopifyStore, limit: int = 20) -> list[ShopifyDelivery]:
    return list(ShopifyDelivery.objects.for_workspace(workspace).filter(store=store)
                .order_by("-received_at", "-pk")[:limit])
