"""Core writes: every refusal changes nothing, every change is audited."""

import datetime

import pytest
from django.core.management import call_command

from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.core.models import ApiToken, AuditEntry, Membership, Store, Workspace
from tidings.core.roles import Role
from tidings.core.services import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    login_attempts_exhausted,
    login_failure_record,
    login_failures_clear,
    member_add,
    member_change_role,
    member_set_active,
    store_create,
    store_update,
    user_set_language,
    user_switch_workspace,
    workspace_clock_offset_add,
    workspace_modules_set,
    workspace_update,
)


def test_workspace_update_validates_and_audits(workspace, admin):
    with pytest.raises(ServiceError) as error:
        workspace_update(workspace=workspace, actor=admin.user, time_zone="Mars/Olympus", name="New")
    assert error.value.field == "time_zone"
    workspace.refresh_from_db()
    assert workspace.name == "Acme Tea"

    workspace_update(workspace=workspace, actor=admin.user, name="Acme Tea HK", currency="HKD")
    entry = AuditEntry.objects.for_workspace(workspace).get(action="workspace.update")
    assert entry.actor == admin.user
    assert entry.changes == {"name": ["Acme Tea", "Acme Tea HK"], "currency": ["TWD", "HKD"]}


@pytest.mark.parametrize("field, value", [("currency", "twd"), ("default_phone_region", "ZZ"), ("billing_email", "nope")])
def test_workspace_update_refuses_bad_values(workspace, admin, field, value):
    with pytest.raises(ServiceError) as error:
        workspace_update(workspace=workspace, actor=admin.user, **{field: value})
    assert error.value.field == field


def test_modules_are_validated_and_audited(workspace, admin):
    with pytest.raises(ServiceError):
        workspace_modules_set(workspace=workspace, actor=admin.user, modules=["omo", "teleport"])
    workspace_modules_set(workspace=workspace, actor=admin.user, modules=["omo", "coupons"])
    workspace.refresh_from_db()
    assert workspace.enabled_modules == ["coupons", "omo"]
    assert AuditEntry.objects.for_workspace(workspace).filter(action="workspace.modules").count() == 1


def test_member_add_refuses_bad_email_and_sales_without_store(workspace, admin):
    before = Membership.objects.count()
    with pytest.raises(ServiceError) as error:
        member_add(workspace=workspace, actor=admin.user, email="not-an-email", role=Role.CS_AGENT)
    assert error.value.field == "email"
    with pytest.raises(ServiceError) as error:
        member_add(workspace=workspace, actor=admin.user, email="s@acme.test", role=Role.SALES_PERSON)
    assert error.value.field == "store"
    assert Membership.objects.count() == before


def test_one_person_in_two_workspaces(workspace, other_workspace, admin):
    member_add(workspace=other_workspace, actor=None, email="admin@acme.test", role=Role.MARKETER)
    assert admin.user.memberships.count() == 2
    user_switch_workspace(user=admin.user, workspace=other_workspace)
    admin.user.refresh_from_db()
    assert admin.user.current_workspace == other_workspace
    with pytest.raises(ServiceError):
        member_add(workspace=workspace, actor=None, email="ADMIN@acme.test", role=Role.CS_AGENT)


def test_workspace_switch_refused_without_a_seat(workspace, other_workspace, admin):
    with pytest.raises(ServiceError):
        user_switch_workspace(user=admin.user, workspace=other_workspace)


def test_role_change_keeps_one_admin_and_clears_store_for_non_sales(workspace, admin, make_member):
    with pytest.raises(ServiceError):
        member_change_role(workspace=workspace, actor=admin.user, membership=admin, role=Role.MARKETER)
    store = store_create(workspace=workspace, actor=admin.user, name="Central", code="C1")
    agent = make_member(workspace, Role.CS_AGENT)
    member_change_role(workspace=workspace, actor=admin.user, membership=agent, role=Role.SALES_PERSON,
                       store=store, employee_code="E77")
    agent.refresh_from_db()
    assert (agent.role, agent.store, agent.employee_code) == (Role.SALES_PERSON, store, "E77")
    member_change_role(workspace=workspace, actor=admin.user, membership=agent, role=Role.CS_MANAGER)
    agent.refresh_from_db()
    assert (agent.store, agent.employee_code) == (None, "")
    actions = list(AuditEntry.objects.for_workspace(workspace).filter(action="member.role").values_list("changes", flat=True))
    assert len(actions) == 2


def test_store_of_another_workspace_is_refused(workspace, other_workspace, admin, make_member):
    foreign = store_create(workspace=other_workspace, actor=None, name="Elsewhere", code="X1")
    agent = make_member(workspace, Role.CS_AGENT)
    with pytest.raises(ServiceError) as error:
        member_change_role(workspace=workspace, actor=admin.user, membership=agent, role=Role.SALES_PERSON,
                           store=foreign, employee_code="E1")
    assert error.value.field == "store"


def test_deactivation_revokes_tokens_and_protects_last_admin(workspace, admin, make_member):
    agent = make_member(workspace, Role.CS_AGENT)
    _token, raw = api_token_create(workspace=workspace, actor=admin.user, membership=agent, name="bot")
    assert api_token_authenticate(raw=raw) is not None
    member_set_active(workspace=workspace, actor=admin.user, membership=agent, active=False)
    assert api_token_authenticate(raw=raw) is None
    with pytest.raises(ServiceError):
        member_set_active(workspace=workspace, actor=admin.user, membership=admin, active=False)


def test_store_codes_unique_per_workspace(workspace, other_workspace, admin):
    store_create(workspace=workspace, actor=admin.user, name="Xinyi", code="TPE")
    store_create(workspace=other_workspace, actor=None, name="Xinyi", code="TPE")
    with pytest.raises(ServiceError) as error:
        store_create(workspace=workspace, actor=admin.user, name="Other", code="TPE")
    assert error.value.field == "code"
    second = store_create(workspace=workspace, actor=admin.user, name="Da'an", code="DA")
    with pytest.raises(ServiceError):
        store_update(workspace=workspace, actor=admin.user, store=second, name="Da'an", code="TPE")
    assert Store.objects.for_workspace(workspace).count() == 2


def test_tokens_are_hashed_revocable_and_record_last_use(workspace, admin):
    token, raw = api_token_create(workspace=workspace, actor=admin.user, membership=admin, name="shop")
    assert raw.startswith("tid_") and raw not in token.token_hash
    assert not ApiToken.objects.filter(token_hash=raw).exists()
    assert token.last_used_at is None
    found = api_token_authenticate(raw=raw)
    assert found.pk == token.pk and found.last_used_at is not None
    assert api_token_authenticate(raw=raw + "x") is None
    api_token_revoke(workspace=workspace, actor=admin.user, token=token)
    assert api_token_authenticate(raw=raw) is None
    assert list(AuditEntry.objects.for_workspace(workspace).filter(target_type="apitoken").values_list("action", flat=True)) == [
        "token.revoke", "token.create"
    ]


def test_language_choice_is_validated(admin):
    user_set_language(user=admin.user, language="zh-hans")
    admin.user.refresh_from_db()
    assert admin.user.language == "zh-hans"
    with pytest.raises(ServiceError):
        user_set_language(user=admin.user, language="fr")


def test_login_rate_limit_counts_per_email_and_address(db, settings):
    settings.LOGIN_RATE_LIMIT = 3
    for _ in range(3):
        assert not login_attempts_exhausted(email="a@x.test", address="1.2.3.4")
        login_failure_record(email="a@x.test", address="1.2.3.4")
    assert login_attempts_exhausted(email="A@x.test", address="1.2.3.4")
    assert not login_attempts_exhausted(email="a@x.test", address="5.6.7.8")
    login_failures_clear(email="a@x.test", address="1.2.3.4")
    assert not login_attempts_exhausted(email="a@x.test", address="1.2.3.4")


def test_test_clock_only_for_sandbox(make_workspace):
    live = make_workspace(sandbox=False)
    with pytest.raises(ServiceError):
        workspace_clock_offset_add(workspace=live, by=datetime.timedelta(hours=1), actor=None)
    sandbox = make_workspace(sandbox=True)
    before = clock.now(sandbox)
    workspace_clock_offset_add(workspace=sandbox, by=datetime.timedelta(hours=2), actor=None)
    assert clock.now(sandbox) - before >= datetime.timedelta(hours=2)
    assert abs((clock.now(live) - clock.now(None)).total_seconds()) < 1


def test_demo_loads_once_with_one_member_per_role(db, capsys):
    call_command("demo")
    call_command("demo")
    demo = Workspace.objects.get(slug="demo")
    assert demo.is_sandbox and demo.time_zone == "Asia/Taipei" and demo.currency == "TWD"
    assert demo.default_phone_region == "HK"
    assert sorted(demo.memberships.values_list("role", flat=True)) == sorted(Role.values)
    assert demo.memberships.count() == 7
    sales = demo.memberships.get(user__email="sales@demo.test")
    assert sales.store is not None and sales.employee_code
    # The prepaid SMS balance: the old quota migrated once (500) and one top-up (2,000), not doubled by a reload.
    from tidings.billing.selectors import balance_get

    assert balance_get(demo) == 2500


def test_token_command_prints_the_token_last(db, capsys):
    call_command("demo")
    capsys.readouterr()
    call_command("token", "create", "--workspace", "demo", "--email", "cs-agent@demo.test")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    token = api_token_authenticate(raw=raw)
    assert token.membership.user.email == "cs-agent@demo.test" and token.workspace.slug == "demo"


def test_avatar_must_be_a_small_image_and_is_audited_by_name(workspace, admin, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
    with pytest.raises(ServiceError) as error:
        workspace_update(workspace=workspace, actor=admin.user,
                         avatar=SimpleUploadedFile("evil.png", b"<script>alert(1)</script>", "image/png"))
    assert error.value.field == "avatar"
    workspace_update(workspace=workspace, actor=admin.user, avatar=SimpleUploadedFile("logo.png", png, "image/png"))
    workspace.refresh_from_db()
    assert workspace.avatar.name.startswith("avatars/logo")
    entry = AuditEntry.objects.for_workspace(workspace).get(action="workspace.update")
    assert entry.changes["avatar"][1] == workspace.avatar.name
