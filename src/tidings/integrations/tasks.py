"""Background work for integrations: processing stored Shopify deliveries."""

from django_tasks import task

from . import services


@task()
def shopify_delivery_process(delivery_id: int) -> None:
    services.shopify_delivery_process(delivery_id=delivery_id)
