"""For tests anywhere that send WhatsApp templates through the pipeline: the pipeline refuses templates Tidings
does not know as approved (message_templates.selectors.template_check_send), so a test that puts a template straight
into the fake's store mirrors it with "sync now"."""

from tidings.message_templates.models import WhatsAppTemplate
from tidings.message_templates.services import templates_sync
from tidings.sandbox.models import SandboxTemplate

BODY_TWO_VARIABLES = [{"type": "BODY", "text": "Hi {{1}}, your order {{2}} is ready.",
                      "example": {"body_text": [["Mei", "#1024"]]}}]


def approved_template(account, *, name="order_ready", language="en", category="UTILITY",
                      components=None, status="APPROVED") -> WhatsAppTemplate:
    """A template approved at the fake Meta and known to Tidings, as after Meta's review and a sync."""
    SandboxTemplate.objects.create(
        account=account, template_id=f"8{SandboxTemplate.objects.count() + 1:014d}", name=name, language=language,
        category=category, components=components or BODY_TWO_VARIABLES, status=status)
    templates_sync(workspace=account.workspace, actor=None, account=account)
    return WhatsAppTemplate.objects.get(workspace=account.workspace, name=name, language=language)
