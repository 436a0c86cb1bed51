from django.urls import path

from .views import (
    audit,
    auth,
    billing,
    channels,
    contact_imports,
    contacts,
    custom_attributes,
    home,
    members,
    notifications,
    social_binding,
    stores,
    timers,
    tokens,
    whatsapp_templates,
    workspace,
)

app_name = "console"
urlpatterns = [
    path("login", auth.login_view, name="login"),
    path("logout", auth.logout_view, name="logout"),
    path("language", auth.language_view, name="language"),
    path("", home.home, name="home"),
    path("workspace/switch", home.switch_workspace, name="switch_workspace"),
    path("soon/<slug:slug>", home.coming_soon, name="coming_soon"),
    path("settings/workspace", workspace.workspace_settings, name="workspace_settings"),
    path("settings/workspace/avatar", workspace.workspace_avatar, name="workspace_avatar"),
    path("members/", members.member_list, name="members"),
    path("members/add", members.member_add_view, name="member_add"),
    path("members/<int:member_id>/role", members.member_edit, name="member_edit"),
    path("members/<int:member_id>/deactivate", members.member_deactivate, name="member_deactivate"),
    path("members/<int:member_id>/reactivate", members.member_reactivate, name="member_reactivate"),
    path("stores/", stores.store_list, name="stores"),
    path("stores/add", stores.store_add, name="store_add"),
    path("stores/<int:store_id>/edit", stores.store_edit, name="store_edit"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/add", tokens.token_add, name="token_add"),
    path("tokens/<int:token_id>/revoke", tokens.token_revoke, name="token_revoke"),
    path("timers/", timers.timer_list, name="timers"),
    path("timers/advance", timers.clock_advance_view, name="clock_advance"),
    path("audit/", audit.audit_list, name="audit"),
    path("channels/", channels.channel_list, name="channels"),
    path("channels/add", channels.channel_add, name="channel_add"),
    path("channels/<int:account_id>/active", channels.channel_set_active, name="channel_set_active"),
    path("channels/<int:account_id>/test", channels.channel_test, name="channel_test"),
    path("whatsapp-templates/", whatsapp_templates.template_list, name="whatsapp_templates"),
    path("whatsapp-templates/add", whatsapp_templates.template_add, name="whatsapp_template_add"),
    path("whatsapp-templates/preview", whatsapp_templates.template_preview, name="whatsapp_template_preview"),
    path("whatsapp-templates/sync", whatsapp_templates.template_sync_view, name="whatsapp_template_sync"),
    path("whatsapp-templates/<int:whatsapp_template_id>/edit", whatsapp_templates.template_edit,
         name="whatsapp_template_edit"),
    path("whatsapp-templates/<int:whatsapp_template_id>/submit", whatsapp_templates.template_submit_view,
         name="whatsapp_template_submit"),
    path("whatsapp-templates/<int:whatsapp_template_id>/delete", whatsapp_templates.template_delete_view,
         name="whatsapp_template_delete"),
]
# Each of these view modules lists its own routes (the Social CDP pages).
urlpatterns += [*contacts.URLS, *custom_attributes.URLS, *contact_imports.URLS, *social_binding.URLS]
urlpatterns += [*notifications.URLS, *billing.URLS]  # LINE notification shortcut; balance and bills

from .views import integrations  # noqa: E402  (tracking script and Shopify: settings/integrations…)
urlpatterns += integrations.URLS

# Inbox 2.0: the inbox, its composer and side panel, the real-time stream, keyword rules, saved replies, exports.
from .views import conversation_exports, inbox, inbox_compose, inbox_events, keyword_rules, saved_replies  # noqa: E402

urlpatterns += [*inbox.URLS, *inbox_compose.URLS, *inbox_events.URLS, *keyword_rules.URLS, *saved_replies.URLS,
                *conversation_exports.URLS]
