"""The seven member roles (SPEC P2). Roles are data on a membership; what each may do is in permissions.py."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    SUPERVISOR = "supervisor", _("Supervisor")
    CS_MANAGER = "cs_manager", _("CS Manager")
    CS_AGENT = "cs_agent", _("CS Agent")
    MARKETER = "marketer", _("Marketer")
    SALES_MANAGER = "sales_manager", _("Sales Manager")
    SALES_PERSON = "sales_person", _("Sales Person")


# Sales roles belong to a store and carry an employee code (SPEC P3).
SALES_ROLES = frozenset({Role.SALES_MANAGER, Role.SALES_PERSON})
