from django.urls import path, re_path

from . import account_link, views

# Mounted at /sandbox/line/: each sandbox account's base_url is /sandbox/line/<public_id>, so the paths below are
# LINE's own (https://api.line.me/v2/bot/message/push → {base_url}/v2/bot/message/push).
urlpatterns = [
    path("<uuid:public_id>/v2/bot/message/push", views.push, name="fake-line-push"),
    path("<uuid:public_id>/v2/bot/message/multicast", views.multicast, name="fake-line-multicast"),
    path("<uuid:public_id>/v2/bot/message/reply", views.reply, name="fake-line-reply"),
    path("<uuid:public_id>/bot/pnp/push", views.pnp_push, name="fake-line-pnp-push"),
    path("<uuid:public_id>/v2/bot/profile/<str:user_id>", views.profile, name="fake-line-profile"),
    path("<uuid:public_id>/v2/bot/user/<str:user_id>/linkToken", views.link_token, name="fake-line-link-token"),
    path("<uuid:public_id>/v2/bot/message/aggregation/info", views.aggregation_info, name="fake-line-aggregation-info"),
    path("<uuid:public_id>/v2/bot/message/aggregation/list", views.aggregation_list, name="fake-line-aggregation-list"),
    path("<uuid:public_id>/v2/bot/insight/message/event/aggregation", views.unit_statistics,
         name="fake-line-unit-statistics"),
    # LINE's account-link dialog lives on access.line.me; a sandbox account serves it under its base_url.
    path("<uuid:public_id>/dialog/bot/accountLink", account_link.dialog, name="fake-line-account-link"),
    re_path(r"^(?P<public_id>[0-9a-f-]{36})/(?P<rest>.*)$", views.unknown, name="fake-line-unknown"),
]
