"""The one permission matrix (SPEC P2). Console views and API routes both ask `member_can`.

Cells fixed by the seeds or the original product's role table are marked in SOURCES; the rest are what such a
product is expected to do. `docs/permissions.md` is generated from this module (`tidings permissions-doc`) and a
test fails when the two differ.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .modules import Module
from .roles import Role

ALL_ROLES = frozenset(Role)
CS_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CS_MANAGER, Role.CS_AGENT})
SALES = frozenset({Role.SALES_MANAGER, Role.SALES_PERSON})
MARKETING = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.MARKETER})


class Permission(models.TextChoices):
    OVERVIEW_VIEW = "overview.view", _("See the overview")
    WORKSPACE_MANAGE = "workspace.manage", _("Edit workspace settings and modules")
    MEMBERS_VIEW = "members.view", _("See team members")
    MEMBERS_MANAGE = "members.manage", _("Add members, change roles, deactivate")
    STORES_MANAGE = "stores.manage", _("Manage stores")
    TOKENS_MANAGE = "tokens.manage", _("Create and revoke API tokens")
    AUDIT_VIEW = "audit.view", _("Read the audit log")
    TIMERS_VIEW = "timers.view", _("See pending timers and the test clock")
    CHANNELS_MANAGE = "channels.manage", _("Connect channel accounts")
    CONVERSATIONS_VIEW = "conversations.view", _("Use the inbox")
    CONVERSATIONS_EXPORT = "conversations.export", _("Export conversations (CSV)")
    WHATSAPP_CONVERSATION_START = "whatsapp.start", _("Start a new WhatsApp conversation")
    CONTACTS_VIEW = "contacts.view", _("See contacts")
    CONTACTS_EDIT = "contacts.edit", _("Edit contacts: details, tags, notes, attribute values")
    CONTACTS_MERGE = "contacts.merge", _("Undo a merge of two contacts")
    CONTACTS_IMPORT = "contacts.import", _("Import contacts")
    CONTACTS_EXPORT = "contacts.export", _("Export contacts")
    CONTACTS_DELETE = "contacts.delete", _("Delete contacts")
    ATTRIBUTES_EDIT = "attributes.edit", _("Edit custom attributes")
    SOCIAL_BINDING_MANAGE = "binding.manage", _("Manage social identity binding")
    EVENTS_SEND = "events.send", _("Send website and shop events (Events API)")
    INTEGRATIONS_MANAGE = "integrations.manage", _("Connect shops (Shopify)")
    BROADCASTS_MANAGE = "broadcasts.manage", _("Create and send broadcasts")
    AUDIENCES_MANAGE = "audiences.manage", _("Manage audience packages")
    JOURNEYS_MANAGE = "journeys.manage", _("Manage customer journeys")
    CART_REMARKETING_MANAGE = "cart.manage", _("Manage cart remarketing")
    COUPONS_MANAGE = "coupons.manage", _("Manage coupons")
    KEYWORD_REPLY_MANAGE = "keywords.reply", _("Manage keyword auto-reply")
    KEYWORD_ASSIGN_MANAGE = "keywords.assign", _("Manage keyword auto-assign")
    SAVED_REPLIES_MANAGE = "saved_replies.manage", _("Manage team-wide saved replies")
    NOTIFICATIONS_MANAGE = "notifications.manage", _("Manage LINE notification shortcut")
    WHATSAPP_TEMPLATES_MANAGE = "whatsapp_templates.manage", _("Create and submit WhatsApp message templates")
    BILLING_VIEW = "billing.view", _("See balance, bills and usage")
    BILLING_MANAGE = "billing.manage", _("Top up or adjust the balance, set low-balance rules")
    OMO_SETTINGS = "omo.settings", _("Edit staff binding settings")
    OMO_MY_LIST = "omo.my_list", _("See my bound customers")
    OMO_TEAM_LIST = "omo.team_list", _("See the team's bound customers")
    OMO_BROADCAST = "omo.broadcast", _("Broadcast to my customers")
    ORDERS_VIEW = "orders.view", _("See and edit orders")
    ORDERS_EXPORT = "orders.export", _("Batch-export orders")


MATRIX: dict[Permission, frozenset[Role]] = {
    Permission.OVERVIEW_VIEW: ALL_ROLES,
    Permission.WORKSPACE_MANAGE: frozenset({Role.ADMIN}),
    Permission.MEMBERS_VIEW: ALL_ROLES,
    Permission.MEMBERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.STORES_MANAGE: frozenset({Role.ADMIN}),
    Permission.TOKENS_MANAGE: frozenset({Role.ADMIN}),
    Permission.AUDIT_VIEW: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.TIMERS_VIEW: frozenset({Role.ADMIN}),
    Permission.CHANNELS_MANAGE: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.CONVERSATIONS_VIEW: ALL_ROLES - {Role.MARKETER},
    Permission.CONVERSATIONS_EXPORT: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CS_MANAGER, Role.SALES_MANAGER}),
    Permission.WHATSAPP_CONVERSATION_START: CS_ROLES,
    Permission.CONTACTS_VIEW: MARKETING | {Role.CS_MANAGER},
    Permission.CONTACTS_EDIT: MARKETING | CS_ROLES,
    Permission.CONTACTS_MERGE: frozenset({Role.ADMIN}),
    Permission.CONTACTS_IMPORT: frozenset({Role.ADMIN, Role.MARKETER, Role.CS_MANAGER}),
    Permission.CONTACTS_EXPORT: MARKETING,
    Permission.CONTACTS_DELETE: frozenset({Role.ADMIN}),
    Permission.ATTRIBUTES_EDIT: MARKETING,
    Permission.SOCIAL_BINDING_MANAGE: MARKETING,
    Permission.EVENTS_SEND: MARKETING,
    Permission.INTEGRATIONS_MANAGE: frozenset({Role.ADMIN}),
    Permission.BROADCASTS_MANAGE: MARKETING,
    Permission.AUDIENCES_MANAGE: MARKETING,
    Permission.JOURNEYS_MANAGE: MARKETING,
    Permission.CART_REMARKETING_MANAGE: MARKETING,
    Permission.COUPONS_MANAGE: MARKETING,
    Permission.KEYWORD_REPLY_MANAGE: MARKETING | {Role.CS_MANAGER},
    Permission.KEYWORD_ASSIGN_MANAGE: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CS_MANAGER}),
    Permission.SAVED_REPLIES_MANAGE: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CS_MANAGER}),
    Permission.NOTIFICATIONS_MANAGE: MARKETING,
    Permission.WHATSAPP_TEMPLATES_MANAGE: MARKETING,
    Permission.BILLING_VIEW: frozenset({Role.ADMIN}),
    Permission.BILLING_MANAGE: frozenset({Role.ADMIN}),
    Permission.OMO_SETTINGS: frozenset({Role.ADMIN}),
    Permission.OMO_MY_LIST: SALES,
    Permission.OMO_TEAM_LIST: frozenset({Role.SALES_MANAGER}),
    Permission.OMO_BROADCAST: SALES,
    Permission.ORDERS_VIEW: CS_ROLES | SALES,
    Permission.ORDERS_EXPORT: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.SALES_MANAGER, Role.SALES_PERSON}),
}

# A permission that belongs to an add-on is denied to everyone while the module is off.
MODULE_OF: dict[Permission, Module] = {
    Permission.AUDIENCES_MANAGE: Module.AUDIENCES,
    Permission.JOURNEYS_MANAGE: Module.JOURNEYS,
    Permission.CART_REMARKETING_MANAGE: Module.CART_REMARKETING,
    Permission.COUPONS_MANAGE: Module.COUPONS,
    Permission.NOTIFICATIONS_MANAGE: Module.NOTIFICATION_API,
    Permission.SOCIAL_BINDING_MANAGE: Module.SOCIAL_CDP,
    Permission.OMO_SETTINGS: Module.OMO,
    Permission.OMO_MY_LIST: Module.OMO,
    Permission.OMO_TEAM_LIST: Module.OMO,
    Permission.OMO_BROADCAST: Module.OMO,
    Permission.ORDERS_VIEW: Module.CHAT_TO_ORDER,
    Permission.ORDERS_EXPORT: Module.CHAT_TO_ORDER,
}

# Where a cell comes from: seed file (release note) or the original product's role table.
SOURCES: dict[Permission, str] = {
    Permission.ATTRIBUTES_EDIT: "seed 002: marketers may use custom attributes",
    Permission.CONTACTS_MERGE: "issue 5: an Admin can undo a merge",
    Permission.CONTACTS_EDIT: "seed 000: agents edit tags, notes and attributes from the inbox side panel",
    Permission.CONTACTS_IMPORT: "seed 003: import opened to marketers and CS managers",
    Permission.ORDERS_EXPORT: "seed 000: sales persons may batch-export orders",
    Permission.CONVERSATIONS_EXPORT: "seed 004: CS managers and sales managers export conversation CSV",
    Permission.WHATSAPP_CONVERSATION_START: "seed 001: CS roles (Admin, Supervisor, CS Manager, CS Agent)",
    Permission.OMO_MY_LIST: "seed 001: sales roles see their bound customers",
    Permission.OMO_TEAM_LIST: "seed 001: sales managers see the team list",
    Permission.OMO_BROADCAST: "seed 003: sales roles broadcast on the web",
    Permission.MEMBERS_MANAGE: "teammates: only Admins add, deactivate or delete members",
    Permission.MEMBERS_VIEW: "teammates: every role may read the member list",
    Permission.WORKSPACE_MANAGE: "teammates: team data is Admin only",
    Permission.STORES_MANAGE: "teammates: store management is Admin only",
    Permission.OMO_SETTINGS: "teammates: staff binding settings are Admin only",
    Permission.BILLING_VIEW: "teammates: plan and fees are Admin only",
    Permission.CONVERSATIONS_VIEW: "teammates: every role but Marketer has the inbox",
    Permission.CHANNELS_MANAGE: "teammates: connecting channels is Admin and Supervisor",
    Permission.CONTACTS_VIEW: "teammates: contacts for Admin, Supervisor, Marketer; CS Manager read-only",
    Permission.CONTACTS_DELETE: "teammates: only Admins delete contacts",
    Permission.KEYWORD_REPLY_MANAGE: "teammates: keyword auto-reply row",
    Permission.KEYWORD_ASSIGN_MANAGE: "teammates: keyword auto-assign row",
    Permission.COUPONS_MANAGE: "teammates: coupon management row",
    Permission.CART_REMARKETING_MANAGE: "teammates: remarketing messages row",
    Permission.WHATSAPP_TEMPLATES_MANAGE: "issue 4: marketers create templates (the original keeps them under channels)",
}


def role_may(role: str, permission: Permission) -> bool:
    """Whether the role's cell is ticked, ignoring modules."""
    return role in MATRIX[permission]


def permission_allowed(*, role: str, enabled_modules: list[str], permission: Permission) -> bool:
    module = MODULE_OF.get(permission)
    if module is not None and module.value not in enabled_modules:
        return False
    return role_may(role, permission)


def render_permissions_markdown() -> str:
    """The generated docs/permissions.md (English labels, so the file does not depend on the active language)."""
    from django.utils import translation

    with translation.override("en"):
        roles = list(Role)
        lines = [
            "# Permission matrix",
            "",
            "Generated from `src/tidings/core/permissions.py` by `tidings permissions-doc`; a test fails when this",
            "file and the code differ. A permission tied to a module is denied to every role while that module is off.",
            "",
            "| permission | " + " | ".join(str(r.label) for r in roles) + " | module | source |",
            "|---|" + "---|" * len(roles) + "---|---|",
        ]
        for permission in Permission:
            cells = ["✔" if role_may(r, permission) else "" for r in roles]
            module = MODULE_OF.get(permission)
            lines.append(
                f"| {permission.label} (`{permission.value}`) | "
                + " | ".join(cells)
                + f" | {module.label if module else ''} | {SOURCES.get(permission, 'expected')} |"
            )
        return "\n".join(lines) + "\n"
