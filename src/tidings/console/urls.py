from django.urls import path

from .views import audit, auth, channels, home, members, stores, timers, tokens, workspace

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
]
