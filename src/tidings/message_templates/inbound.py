"""Meta's template status webhooks (`message_template_status_update`), which the WhatsApp adapter turns into
InboundEvent(kind="template_status", data=<the change value>); registered in apps.ready()."""

from .services import template_status_apply


def template_status_consumer(*, account, event, identity=None, webhook_event=None) -> None:
    if event.kind == "template_status" and account.channel == "whatsapp":
        template_status_apply(account=account, value=event.data or {})
