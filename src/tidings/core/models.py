"""Workspaces (tenants), users, memberships, stores, API tokens, the audit log and worker heartbeats."""

import datetime

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .modules import ALL_MODULES
from .roles import Role


class WorkspaceScopedQuerySet(models.QuerySet):
    """Every domain queryset is reached through `.for_workspace(ws)` (DESIGN mechanism 1)."""

    def for_workspace(self, workspace):
        return self.filter(workspace=workspace)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. What they may do depends on their membership in the current workspace."""

    email = models.EmailField(_("email"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=10, default="zh-hant")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    current_workspace = models.ForeignKey("Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self):
        return self.name or self.email


def _all_modules():
    return list(ALL_MODULES)


class Workspace(models.Model):
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=120)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Taipei")
    currency = models.CharField(_("currency"), max_length=3, default="TWD")
    default_phone_region = models.CharField(_("default phone region"), max_length=2, default="HK")
    avatar = models.FileField(_("avatar"), upload_to="avatars/", blank=True)
    billing_email = models.EmailField(_("billing email"), blank=True)
    is_sandbox = models.BooleanField(_("sandbox"), default=False)
    enabled_modules = models.JSONField(_("enabled modules"), default=_all_modules)
    # Sandbox test clock: how far this workspace's "now" is ahead of real time.
    clock_offset = models.DurationField(default=datetime.timedelta)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name

    def has_module(self, module: str) -> bool:
        return module in self.enabled_modules


class Store(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="stores")
    name = models.CharField(_("name"), max_length=120)
    code = models.CharField(_("store code"), max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "code"], name="store_code_unique_in_workspace")]
        ordering = ["code"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class Membership(models.Model):
    """A user's seat in one workspace: role, and for sales roles, store and employee code."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    employee_code = models.CharField(_("employee code"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_workspace")]
        indexes = [models.Index(fields=["workspace", "role"])]
        ordering = ["id"]

    def __str__(self):
        return f"{self.user.email} @ {self.workspace.slug} ({self.role})"


class ApiToken(models.Model):
    """A bearer token bound to one workspace and one member; only its SHA-256 is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"])]
        ordering = ["-created_at"]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEntry(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"])]
        ordering = ["-created_at", "-id"]


class WorkerHeartbeat(models.Model):
    """Written by each `tidings worker` every few seconds; /healthz reports the freshest."""

    worker_id = models.CharField(max_length=120, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
