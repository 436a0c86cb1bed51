"""The console's navigation, computed in one place from the permission matrix.

An item is shown when `member_can(membership, item.permission)` — which already folds in the module switch
(`core.permissions.MODULE_OF`), so an item of an add-on disappears while that module is off.
Items of modules not built yet lead to one generic "coming soon" page keyed by their slug.
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tidings.core.permissions import Permission
from tidings.core.selectors import member_can


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    permission: Permission
    url_name: str = ""  # a built page; empty for a planned module (coming soon)
    icon: str = "dot"
    description: str = ""  # what a planned module will do, shown on its coming-soon page
    matches: tuple = field(default_factory=tuple)  # other url names that light this item up

    @property
    def planned(self) -> bool:
        return not self.url_name

    def url(self) -> str:
        if self.planned:
            return reverse("console:coming_soon", kwargs={"slug": self.key})
        return reverse(self.url_name)


@dataclass(frozen=True)
class NavGroup:
    label: str
    items: tuple


P = Permission

GROUPS: tuple[NavGroup, ...] = (
    NavGroup(_("Overview"), (
        NavItem("home", _("Home"), P.OVERVIEW_VIEW, "console:home", icon="home"),
    )),
    NavGroup(_("Conversations"), (
        NavItem("inbox", _("Inbox"), P.CONVERSATIONS_VIEW, "console:inbox", icon="chat",
                matches=("console:inbox_conversation", "console:inbox_whatsapp_start")),
        NavItem("keyword-rules", _("Keyword rules"), P.KEYWORD_REPLY_MANAGE, "console:keyword_rules", icon="bolt",
                matches=("console:keyword_rules_assign", "console:keyword_rule_add", "console:keyword_rule_add_assign",
                         "console:keyword_rule")),
        NavItem("saved-replies", _("Saved replies"), P.CONVERSATIONS_VIEW, "console:saved_replies", icon="list",
                matches=("console:saved_reply_add", "console:saved_reply_edit")),
        NavItem("conversation-exports", _("Export conversations"), P.CONVERSATIONS_EXPORT,
                "console:conversation_exports", icon="card", matches=("console:conversation_export_detail",)),
        NavItem("my-list", _("My list"), P.OMO_MY_LIST, icon="user", description=_(
            "The customers bound to you by your QR code, with channel filter, search and a chat button.")),
        NavItem("team-list", _("Team list"), P.OMO_TEAM_LIST, icon="users", description=_(
            "Customers bound to the sales staff of your store, with the staff member who serves each.")),
        NavItem("orders", _("Orders"), P.ORDERS_VIEW, icon="bag", description=_(
            "Orders created through Chat to Order / WhatsApp Commerce, with editing and batch export.")),
    )),
    NavGroup(_("Marketing"), (
        # Tags, custom attributes, import and export are tabs of the contacts pages, not items of their own.
        NavItem("contacts", _("Contacts"), P.CONTACTS_VIEW, "console:contacts", icon="id",
                matches=("console:contact", "console:tags", "console:custom_attributes",
                         "console:custom_attribute_add", "console:custom_attribute_edit", "console:contact_import",
                         "console:contact_export")),
        NavItem("audiences", _("Audiences"), P.AUDIENCES_MANAGE, icon="target", description=_(
            "Audience packages built from conditions such as tags, subscription and checkout periods, with "
            "live counts.")),
        NavItem("broadcasts", _("Broadcasts"), P.BROADCASTS_MANAGE, icon="send", description=_(
            "Send or schedule messages to an audience on LINE, WhatsApp, Messenger or SMS, with delivery, "
            "open and click statistics.")),
        NavItem("journeys", _("Journeys"), P.JOURNEYS_MANAGE, icon="route", description=_(
            "Automated customer journeys with waits and branches, and statistics for each step.")),
        NavItem("cart-remarketing", _("Cart remarketing"), P.CART_REMARKETING_MANAGE, icon="cart", description=_(
            "Reminders to bound customers who left items in their cart, with a restart cycle.")),
        NavItem("coupons", _("Coupons"), P.COUPONS_MANAGE, icon="ticket", description=_(
            "Coupon cards that customers claim in chat, binding their social identity as they do.")),
        NavItem("notifications", _("Notifications"), P.NOTIFICATIONS_MANAGE, "console:notifications", icon="bell",
                matches=("console:notification_add", "console:notification_edit", "console:notification_detail")),
        NavItem("whatsapp-templates", _("WhatsApp templates"), P.WHATSAPP_TEMPLATES_MANAGE,
                "console:whatsapp_templates", icon="chat",
                matches=("console:whatsapp_template_add", "console:whatsapp_template_edit")),
        NavItem("binding", _("Social binding"), P.SOCIAL_BINDING_MANAGE, "console:social_binding", icon="link"),
    )),
    NavGroup(_("Settings"), (
        NavItem("workspace", _("Workspace settings"), P.WORKSPACE_MANAGE, "console:workspace_settings", icon="gear"),
        NavItem("members", _("Members"), P.MEMBERS_VIEW, "console:members", icon="users",
                matches=("console:member_add", "console:member_edit")),
        NavItem("stores", _("Stores"), P.STORES_MANAGE, "console:stores", icon="store",
                matches=("console:store_add", "console:store_edit")),
        NavItem("channels", _("Channels"), P.CHANNELS_MANAGE, "console:channels", icon="plug",
                matches=("console:channel_add", "console:channel_test", "sandbox_phone:phones")),
        NavItem("integrations", _("Website and shop"), P.INTEGRATIONS_MANAGE, "console:integrations", icon="cart",
                matches=("console:shopify_store",)),
        NavItem("staff-binding", _("Staff binding"), P.OMO_SETTINGS, icon="qr", description=_(
            "How customers are bound to sales staff by QR code: fixed or free binding, and transfer rules.")),
        NavItem("billing", _("Billing"), P.BILLING_VIEW, "console:billing", icon="card",
                matches=("console:billing_bills", "console:billing_bill", "console:billing_usage")),
        NavItem("tokens", _("API tokens"), P.TOKENS_MANAGE, "console:tokens", icon="key",
                matches=("console:token_add",)),
        NavItem("timers", _("Timers"), P.TIMERS_VIEW, "console:timers", icon="clock"),
        NavItem("audit", _("Audit log"), P.AUDIT_VIEW, "console:audit", icon="list"),
    )),
)

ITEMS: dict[str, NavItem] = {item.key: item for group in GROUPS for item in group.items}
PLANNED: dict[str, NavItem] = {key: item for key, item in ITEMS.items() if item.planned}


def visible_items(membership) -> list[NavItem]:
    return [item for group in GROUPS for item in group.items if member_can(membership, item.permission)]


def navigation(membership, *, url_name: str = "", slug: str = "") -> list[dict]:
    """The sidebar for this member: groups with their visible items, the current one marked active."""
    groups = []
    for group in GROUPS:
        entries = []
        for item in group.items:
            if not member_can(membership, item.permission):
                continue
            if item.planned:
                active = url_name == "console:coming_soon" and slug == item.key
            else:
                active = url_name == item.url_name or url_name in item.matches
            entries.append({"key": item.key, "label": item.label, "url": item.url(), "icon": item.icon,
                            "active": active, "planned": item.planned})
        if entries:
            groups.append({"label": group.label, "items": entries})
    return groups
