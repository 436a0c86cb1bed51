"""The demo workspace: a sandbox brand with one member per role, sandbox LINE and SMS accounts and about twenty
simulated customers (personas) with some chat history, and an inbox with conversations in every state, keyword
rules and saved replies, and notification settings. Loading twice changes nothing."""

from django.conf import settings
from django.db import transaction
from django.test.utils import override_settings

from tidings.core.models import Membership, Store, User, Workspace
from tidings.core.roles import SALES_ROLES, Role
from tidings.core.services import member_add, store_create, workspace_create

DEMO_SLUG = "demo"
DEMO_MEMBERS = [
    ("admin@demo.test", "Ada Admin", Role.ADMIN),
    ("supervisor@demo.test", "Sam Supervisor", Role.SUPERVISOR),
    ("cs-manager@demo.test", "Chloe CS Manager", Role.CS_MANAGER),
    ("cs-agent@demo.test", "Kai CS Agent", Role.CS_AGENT),
    ("marketer@demo.test", "Mei Marketer", Role.MARKETER),
    ("sales-manager@demo.test", "Sean Sales Manager", Role.SALES_MANAGER),
    ("sales@demo.test", "Sally Sales", Role.SALES_PERSON),
]
DEMO_STORES = [("台北信義店", "TPE-XY"), ("香港銅鑼灣店", "HK-CWB")]


def demo_load() -> Workspace:
    # Personas follow and chat by real signed webhooks to BASE_URL, but nothing serves it while the demo loads
    # (`./run` loads it before starting the server): the requests go through the app in this process instead.
    # Deliveries of the demo's outbound messages are tasks: the worker sends them once it runs, over real HTTP.
    with override_settings(INPROCESS_HTTP=True):
        return _demo_load()


@transaction.atomic
def _demo_load() -> Workspace:
    workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if workspace is None:
        workspace = workspace_create(
            slug=DEMO_SLUG, name="Tidings Demo 茶飲", time_zone="Asia/Taipei", currency="TWD",
            default_phone_region="HK", billing_email="billing@demo.test", is_sandbox=True,
        )
    stores = {}
    for name, code in DEMO_STORES:
        stores[code] = Store.objects.for_workspace(workspace).filter(code=code).first() or store_create(
            workspace=workspace, actor=None, name=name, code=code
        )
    for index, (email, name, role) in enumerate(DEMO_MEMBERS, start=1):
        if Membership.objects.for_workspace(workspace).filter(user__email=email).exists():
            continue
        is_sales = role in SALES_ROLES
        member_add(
            workspace=workspace, actor=None, email=email, name=name, role=role, password=settings.DEMO_PASSWORD,
            store=stores["TPE-XY"] if is_sales else None, employee_code=f"E{index:03d}" if is_sales else "",
        )
    # The password is the demo's promise: reset it if someone changed it.
    for user in User.objects.filter(email__in=[m[0] for m in DEMO_MEMBERS]):
        if not user.check_password(settings.DEMO_PASSWORD):
            user.set_password(settings.DEMO_PASSWORD)
            user.save(update_fields=["password"])
    from .billing import demo_billing
    from .contacts import demo_contacts
    from .inbox import demo_inbox
    from .notify import demo_notifications
    from .personas import demo_channels_and_personas

    demo_channels_and_personas(workspace)
    demo_contacts(workspace)
    demo_billing(workspace)
    demo_inbox(workspace)
    demo_notifications(workspace)
    return workspace
