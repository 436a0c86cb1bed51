"""Background work of binding. Tasks only call services."""

import logging

from django_tasks import task

logger = logging.getLogger("tidings.binding")


@task()
def line_link_offer_task(identity_id: int) -> bool:
    """Ask LINE for a link token and send the account-link button to this LINE user. False when refused."""
    from tidings.contacts.models import ChannelIdentity
    from tidings.core.errors import ServiceError

    from .services import binding_line_link_offer

    identity = ChannelIdentity.objects.select_related("account", "workspace", "contact").filter(pk=identity_id).first()
    if identity is None:
        return False
    try:
        binding_line_link_offer(workspace=identity.workspace, identity=identity)
    except ServiceError as exc:
        logger.warning("Account-link button not sent to identity %s: %s", identity_id, exc.message)
        return False
    return True
