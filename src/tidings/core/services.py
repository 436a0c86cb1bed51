"""Every write to core data. Keyword-only, workspace first, one transaction each, audited."""

import datetime
import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .errors import ServiceError
from .models import ApiToken, AuditEntry, Membership, Store, User, WorkerHeartbeat, Workspace
from .modules import ALL_MODULES
from .roles import SALES_ROLES, Role

LANGUAGE_CODES = {code for code, _label in settings.LANGUAGES}
TOKEN_PREFIX = "tid_"


# --- audit -------------------------------------------------------------------------------------------------


def audit_record(*, workspace: Workspace, actor: User | None, action: str, target, changes: dict | None = None):
    return AuditEntry.objects.create(
        workspace=workspace,
        actor=actor,
        actor_label=actor.email if actor else "system",
        action=action,
        target_type=target.__class__.__name__.lower(),
        target_id=str(getattr(target, "pk", "") or ""),
        target_label=str(target)[:254],
        changes=changes or {},
    )


def _diff(instance, values: dict) -> dict:
    """Apply values to instance and return {field: [old, new]} for the ones that changed."""
    changes = {}
    for field, new in values.items():
        old = getattr(instance, field)
        if old != new:
            changes[field] = [_jsonable(old), _jsonable(new)]
            setattr(instance, field, new)
    return changes


def _jsonable(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.timedelta)):
        return str(value)
    if isinstance(value, File):  # an avatar: record the file name, not the bytes
        return value.name or None
    if hasattr(value, "pk"):
        return str(value)
    return value


# --- workspaces ----------------------------------------------------------------------------------------------


def _validate_workspace_fields(values: dict) -> None:
    if "name" in values and not values["name"].strip():
        raise ServiceError(_("A workspace needs a name."), field="name")
    if "time_zone" in values:
        try:
            zoneinfo.ZoneInfo(values["time_zone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ServiceError(_("Unknown time zone."), field="time_zone") from None
    if "currency" in values:
        currency = values["currency"]
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            raise ServiceError(_("Use a three-letter currency code such as TWD or HKD."), field="currency")
    if "default_phone_region" in values:
        import phonenumbers

        if values["default_phone_region"] not in phonenumbers.SUPPORTED_REGIONS:
            raise ServiceError(_("Unknown phone region."), field="default_phone_region")
    if values.get("billing_email"):
        try:
            validate_email(values["billing_email"])
        except ValidationError:
            raise ServiceError(_("Enter a valid email address."), field="billing_email") from None
    if values.get("avatar"):
        _validate_avatar(values["avatar"])
    if "enabled_modules" in values:
        unknown = set(values["enabled_modules"]) - set(ALL_MODULES)
        if unknown:
            raise ServiceError(_("Unknown module: %s") % ", ".join(sorted(unknown)), field="enabled_modules")


AVATAR_MAX_BYTES = 2 * 1024 * 1024
# Magic numbers of the image formats browsers show everywhere; the declared content type is not trusted.
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def _validate_avatar(upload) -> None:
    if upload.size > AVATAR_MAX_BYTES:
        raise ServiceError(_("The avatar may be at most 2 MB."), field="avatar")
    upload.seek(0)
    head = upload.read(12)
    upload.seek(0)
    is_webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if not (is_webp or head.startswith(_IMAGE_SIGNATURES)):
        raise ServiceError(_("The avatar must be a PNG, JPEG, GIF or WebP image."), field="avatar")


@transaction.atomic
def workspace_create(*, slug: str, name: str, actor: User | None = None, **fields) -> Workspace:
    slug = slugify(slug)
    if not slug:
        raise ServiceError(_("A workspace needs a slug."), field="slug")
    if Workspace.objects.filter(slug=slug).exists():
        raise ServiceError(_("That slug is taken."), field="slug")
    _validate_workspace_fields({"name": name, **fields})
    workspace = Workspace.objects.create(slug=slug, name=name, **fields)
    audit_record(workspace=workspace, actor=actor, action="workspace.create", target=workspace)
    return workspace


WORKSPACE_EDITABLE = ("name", "time_zone", "currency", "default_phone_region", "billing_email", "avatar")


@transaction.atomic
def workspace_update(*, workspace: Workspace, actor: User | None, **values) -> Workspace:
    unknown = set(values) - set(WORKSPACE_EDITABLE)
    if unknown:
        raise ServiceError(_("These settings cannot be changed here: %s") % ", ".join(sorted(unknown)))
    _validate_workspace_fields(values)
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    changes = _diff(workspace, values)
    if changes:
        workspace.save()
        if "avatar" in changes:  # the stored name is only known once saved
            changes["avatar"][1] = workspace.avatar.name
        audit_record(workspace=workspace, actor=actor, action="workspace.update", target=workspace, changes=changes)
    return workspace


@transaction.atomic
def workspace_modules_set(*, workspace: Workspace, actor: User | None, modules: list[str]) -> Workspace:
    _validate_workspace_fields({"enabled_modules": modules})
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    ordered = [m for m in ALL_MODULES if m in set(modules)]
    changes = _diff(workspace, {"enabled_modules": ordered})
    if changes:
        workspace.save(update_fields=["enabled_modules"])
        audit_record(workspace=workspace, actor=actor, action="workspace.modules", target=workspace, changes=changes)
    return workspace


def workspace_clock_offset_add(*, workspace: Workspace, by: datetime.timedelta, actor: User | None) -> Workspace:
    """Move a sandbox workspace's test clock forward. Callers fire what falls due (timers.services.clock_advance)."""
    if not workspace.is_sandbox:
        raise ServiceError(_("Only a sandbox workspace has a test clock."), field="advance")
    if by <= datetime.timedelta(0):
        raise ServiceError(_("The clock only moves forward."), field="advance")
    with transaction.atomic():
        locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
        old = locked.clock_offset
        locked.clock_offset = old + by
        locked.save(update_fields=["clock_offset"])
        audit_record(
            workspace=locked, actor=actor, action="clock.advance", target=locked,
            changes={"clock_offset": [str(old), str(locked.clock_offset)]},
        )
    workspace.clock_offset = locked.clock_offset
    return workspace


# --- members -------------------------------------------------------------------------------------------------


def _check_role_fields(*, workspace: Workspace, role: str, store: Store | None, employee_code: str) -> None:
    if role not in Role.values:
        raise ServiceError(_("Unknown role."), field="role")
    if role in SALES_ROLES:
        if store is None:
            raise ServiceError(_("Sales roles belong to a store."), field="store")
        if not employee_code.strip():
            raise ServiceError(_("Sales roles need an employee code."), field="employee_code")
    if store is not None and store.workspace_id != workspace.pk:
        raise ServiceError(_("Unknown store."), field="store")


@transaction.atomic
def member_add(
    *,
    workspace: Workspace,
    actor: User | None,
    email: str,
    role: str,
    name: str = "",
    password: str | None = None,
    store: Store | None = None,
    employee_code: str = "",
) -> Membership:
    """Add a person to the workspace; an existing user (by email) simply gains a seat here."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(_("Enter a valid email address."), field="email") from None
    _check_role_fields(workspace=workspace, role=role, store=store, employee_code=employee_code)
    user = User.objects.filter(email=email).first()
    if user is None:
        if password:
            try:
                password_validation.validate_password(password)
            except ValidationError as exc:
                raise ServiceError(" ".join(exc.messages), field="password") from None
        user = User.objects.create_user(email, password or None, name=name.strip())
        if not password:
            user.set_unusable_password()
            user.save(update_fields=["password"])
    elif Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ServiceError(_("This person is already a member of the workspace."), field="email")
    membership = Membership.objects.create(
        workspace=workspace, user=user, role=role, store=store,
        employee_code=employee_code.strip() if role in SALES_ROLES else "",
    )
    if user.current_workspace_id is None:
        user.current_workspace = workspace
        user.save(update_fields=["current_workspace"])
    audit_record(workspace=workspace, actor=actor, action="member.add", target=membership,
                 changes={"role": [None, role], "email": [None, email]})
    return membership


def _last_active_admin(membership: Membership) -> bool:
    if membership.role != Role.ADMIN or not membership.is_active:
        return False
    others = Membership.objects.for_workspace(membership.workspace).filter(role=Role.ADMIN, is_active=True)
    return not others.exclude(pk=membership.pk).exists()


@transaction.atomic
def member_change_role(
    *, workspace: Workspace, actor: User | None, membership: Membership, role: str,
    store: Store | None = None, employee_code: str = "",
) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk, workspace=workspace)
    _check_role_fields(workspace=workspace, role=role, store=store, employee_code=employee_code)
    if role != Role.ADMIN and _last_active_admin(membership):
        raise ServiceError(_("The workspace must keep at least one active Admin."), field="role")
    is_sales = role in SALES_ROLES
    changes = _diff(membership, {
        "role": role,
        "store": store if is_sales else None,
        "employee_code": employee_code.strip() if is_sales else "",
    })
    if changes:
        membership.save()
        audit_record(workspace=workspace, actor=actor, action="member.role", target=membership, changes=changes)
    return membership


@transaction.atomic
def member_set_active(*, workspace: Workspace, actor: User | None, membership: Membership, active: bool) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk, workspace=workspace)
    if not active and actor is not None and membership.user_id == actor.pk:
        raise ServiceError(_("You cannot deactivate yourself."))
    if not active and _last_active_admin(membership):
        raise ServiceError(_("The workspace must keep at least one active Admin."))
    changes = _diff(membership, {"is_active": active})
    if changes:
        membership.save(update_fields=["is_active"])
        if not active:
            # A deactivated seat cannot use the API either.
            ApiToken.objects.filter(membership=membership, revoked_at__isnull=True).update(revoked_at=timezone.now())
        action = "member.reactivate" if active else "member.deactivate"
        audit_record(workspace=workspace, actor=actor, action=action, target=membership, changes=changes)
    return membership


def user_set_language(*, user: User, language: str) -> User:
    if language not in LANGUAGE_CODES:
        raise ServiceError(_("Unknown language."), field="language")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


def user_switch_workspace(*, user: User, workspace: Workspace) -> User:
    if not Membership.objects.filter(user=user, workspace=workspace, is_active=True).exists():
        raise ServiceError(_("You are not a member of that workspace."))
    user.current_workspace = workspace
    user.save(update_fields=["current_workspace"])
    return user


# --- stores --------------------------------------------------------------------------------------------------


def _check_store(*, workspace: Workspace, name: str, code: str, exclude_pk=None) -> None:
    if not name.strip():
        raise ServiceError(_("A store needs a name."), field="name")
    if not code.strip():
        raise ServiceError(_("A store needs a store code."), field="code")
    clash = Store.objects.for_workspace(workspace).filter(code=code.strip()).exclude(pk=exclude_pk)
    if clash.exists():
        raise ServiceError(_("Another store already uses this code."), field="code")


@transaction.atomic
def store_create(*, workspace: Workspace, actor: User | None, name: str, code: str) -> Store:
    _check_store(workspace=workspace, name=name, code=code)
    store = Store.objects.create(workspace=workspace, name=name.strip(), code=code.strip())
    audit_record(workspace=workspace, actor=actor, action="store.create", target=store,
                 changes={"name": [None, store.name], "code": [None, store.code]})
    return store


@transaction.atomic
def store_update(*, workspace: Workspace, actor: User | None, store: Store, name: str, code: str) -> Store:
    store = Store.objects.select_for_update().get(pk=store.pk, workspace=workspace)
    _check_store(workspace=workspace, name=name, code=code, exclude_pk=store.pk)
    changes = _diff(store, {"name": name.strip(), "code": code.strip()})
    if changes:
        store.save()
        audit_record(workspace=workspace, actor=actor, action="store.update", target=store, changes=changes)
    return store


# --- API tokens ----------------------------------------------------------------------------------------------


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, workspace: Workspace, actor: User | None, membership: Membership, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and the raw token, which is shown once and never stored."""
    if membership.workspace_id != workspace.pk:
        raise ServiceError(_("Unknown member."), field="membership")
    if not membership.is_active:
        raise ServiceError(_("A deactivated member cannot hold API tokens."), field="membership")
    name = (name or "").strip() or _("API token")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        workspace=workspace, membership=membership, name=name[:80], prefix=raw[:12], token_hash=_hash_token(raw),
    )
    audit_record(workspace=workspace, actor=actor, action="token.create", target=token,
                 changes={"name": [None, token.name], "member": [None, membership.user.email]})
    return token, raw


@transaction.atomic
def api_token_revoke(*, workspace: Workspace, actor: User | None, token: ApiToken) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk, workspace=workspace)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(workspace=workspace, actor=actor, action="token.revoke", target=token)
    return token


# Writing last_used_at on every call would turn each API read into a write; a minute's precision is enough.
LAST_USED_PRECISION = datetime.timedelta(minutes=1)


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token for this raw bearer value, its member active, or None."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("workspace", "membership__user")
        .filter(token_hash=_hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.membership.is_active or not token.membership.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- login rate limit ----------------------------------------------------------------------------------------


def _login_key(email: str, address: str) -> str:
    digest = hashlib.sha256(f"{email.strip().lower()}|{address}".encode()).hexdigest()
    return f"login-attempts:{digest}"


def login_attempts_exhausted(*, email: str, address: str) -> bool:
    return cache.get(_login_key(email, address), 0) >= settings.LOGIN_RATE_LIMIT


def login_failure_record(*, email: str, address: str) -> None:
    key = _login_key(email, address)
    if cache.add(key, 1, timeout=settings.LOGIN_RATE_WINDOW):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.LOGIN_RATE_WINDOW)


def login_failures_clear(*, email: str, address: str) -> None:
    cache.delete(_login_key(email, address))


# --- worker heartbeat ----------------------------------------------------------------------------------------


def worker_heartbeat(*, worker_id: str) -> None:
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(last_seen=now)
    if not updated:
        WorkerHeartbeat.objects.create(worker_id=worker_id, started_at=now, last_seen=now)


def worker_heartbeat_remove(*, worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
