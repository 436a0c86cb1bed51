"""Add-on modules a workspace can enable (SPEC P1: the seeds' "applicable plans")."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Module(models.TextChoices):
    CART_REMARKETING = "cart_remarketing", _("Cart remarketing")
    COUPONS = "coupons", _("Coupons")
    CHAT_TO_ORDER = "chat_to_order", _("Chat to Order / WhatsApp Commerce")
    OMO = "omo", _("OMO")
    SOCIAL_CDP = "social_cdp", _("Social CDP")
    AUDIENCES = "audiences", _("Audience management")
    JOURNEYS = "journeys", _("Journeys")
    INSIDER = "insider", _("Insider integration")
    NOTIFICATION_API = "notification_api", _("Notification API")


ALL_MODULES = [m.value for m in Module]
