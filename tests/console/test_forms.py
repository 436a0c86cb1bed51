"""Console forms call the services, and the services' refusals show up inline."""

import datetime

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from tidings.core.models import ApiToken, AuditEntry, Membership, Store, User
from tidings.core.roles import Role
from tidings.timers.services import timer_schedule
from tests.conftest import PASSWORD


@pytest.fixture
def admin_client(admin, console_client):
    return console_client(admin)


def test_add_member_with_bad_email_shows_inline_error_and_creates_nothing(workspace, admin_client):
    before = (User.objects.count(), Membership.objects.count())
    response = admin_client.post("/members/add", {"email": "not-an-email", "name": "X", "role": Role.CS_AGENT})
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert b'class="field-error"' in response.content
    assert (User.objects.count(), Membership.objects.count()) == before


def test_add_sales_member_needs_store_and_code(workspace, admin_client):
    response = admin_client.post("/members/add", {"email": "s@acme.test", "role": Role.SALES_PERSON})
    assert "store" in response.context["form"].errors
    store = Store.objects.create(workspace=workspace, name="Main", code="M1")
    response = admin_client.post("/members/add", {
        "email": "s@acme.test", "name": "Sally", "role": Role.SALES_PERSON, "store": store.pk, "employee_code": "E9",
    })
    assert response.status_code == 302
    seat = Membership.objects.get(workspace=workspace, user__email="s@acme.test")
    assert (seat.store, seat.employee_code) == (store, "E9")


def test_store_of_another_workspace_cannot_be_chosen(workspace, other_workspace, admin_client):
    foreign = Store.objects.create(workspace=other_workspace, name="Rival", code="R1")
    response = admin_client.post("/members/add", {
        "email": "s2@acme.test", "role": Role.SALES_PERSON, "store": foreign.pk, "employee_code": "E1",
    })
    assert "store" in response.context["form"].errors
    assert not Membership.objects.filter(user__email="s2@acme.test").exists()


def test_changing_a_role_writes_an_audit_entry(workspace, admin, make_member, admin_client):
    agent = make_member(workspace, Role.CS_AGENT)
    response = admin_client.post(f"/members/{agent.pk}/role", {"role": Role.MARKETER})
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.role == Role.MARKETER
    entry = AuditEntry.objects.for_workspace(workspace).filter(action="member.role").get()
    assert entry.actor == admin.user
    assert entry.changes["role"] == [Role.CS_AGENT, Role.MARKETER]
    assert b"member.role" in admin_client.get("/audit/?action=member.").content


def test_last_admin_cannot_be_demoted_error_is_inline(admin, admin_client):
    response = admin_client.post(f"/members/{admin.pk}/role", {"role": Role.MARKETER})
    assert response.status_code == 200
    assert response.context["form"].errors["role"]


def test_deactivate_and_reactivate(workspace, make_member, admin_client):
    agent = make_member(workspace, Role.CS_AGENT)
    assert admin_client.get(f"/members/{agent.pk}/deactivate").status_code == 405
    admin_client.post(f"/members/{agent.pk}/deactivate")
    agent.refresh_from_db()
    assert not agent.is_active
    listed = admin_client.get("/members/?status=inactive")
    assert agent.user.email.encode() in listed.content
    admin_client.post(f"/members/{agent.pk}/reactivate")
    agent.refresh_from_db()
    assert agent.is_active


def test_member_search_and_filters(workspace, make_member, admin_client):
    make_member(workspace, Role.MARKETER, email="mei@acme.test", name="Mei")
    seller = make_member(workspace, Role.SALES_PERSON, email="sally@acme.test", name="Sally")
    assert b"mei@acme.test" in admin_client.get("/members/?q=mei").content
    assert b"mei@acme.test" not in admin_client.get("/members/?q=sally").content
    by_code = admin_client.get(f"/members/?q={seller.employee_code}").content
    assert b"sally@acme.test" in by_code and b"mei@acme.test" not in by_code
    by_role = admin_client.get("/members/?role=marketer").content
    assert b"mei@acme.test" in by_role and b"sally@acme.test" not in by_role


def test_non_manager_sees_the_list_without_actions(workspace, make_member, console_client):
    marketer = make_member(workspace, Role.MARKETER)
    page = console_client(marketer).get("/members/").content
    assert b"/members/add" not in page and b"/deactivate" not in page
    assert console_client(marketer).post(f"/members/{marketer.pk}/deactivate").status_code == 403


def test_workspace_settings_service_error_is_inline_and_nothing_changes(workspace, admin_client):
    response = admin_client.post("/settings/workspace", {
        "name": "Acme Tea", "time_zone": "Mars/Olympus", "currency": "TWD", "default_phone_region": "HK",
        "modules": workspace.enabled_modules,
    })
    assert response.status_code == 200
    assert response.context["form"].errors["time_zone"]
    workspace.refresh_from_db()
    assert workspace.time_zone == "Asia/Taipei"


def test_workspace_settings_save(workspace, admin_client):
    response = admin_client.post("/settings/workspace", {
        "name": "Acme Tea HK", "time_zone": "Asia/Hong_Kong", "currency": "HKD", "default_phone_region": "HK",
        "billing_email": "bills@acme.test", "modules": ["coupons", "omo"],
    })
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.name, workspace.time_zone, workspace.currency) == ("Acme Tea HK", "Asia/Hong_Kong", "HKD")
    assert workspace.enabled_modules == ["coupons", "omo"]


def test_a_module_switched_off_hides_its_nav_item(workspace, make_member, admin_client, console_client):
    marketer = make_member(workspace, Role.MARKETER)
    assert b'data-nav="coupons"' in console_client(marketer).get("/").content
    modules = [m for m in workspace.enabled_modules if m != "coupons"]
    admin_client.post("/settings/workspace", {
        "name": workspace.name, "time_zone": workspace.time_zone, "currency": workspace.currency,
        "default_phone_region": "HK", "modules": modules,
    })
    page = console_client(marketer).get("/").content
    assert b'data-nav="coupons"' not in page
    assert b'data-nav="broadcasts"' in page  # not tied to a module
    assert console_client(marketer).get("/soon/coupons").status_code == 403


def test_language_switch_persists_on_the_user(admin, admin_client):
    response = admin_client.post("/language", {"language": "zh-hans", "next": "/members/"})
    assert response.status_code == 302 and response["Location"] == "/members/"
    admin.user.refresh_from_db()
    assert admin.user.language == "zh-hans"
    assert response.cookies["tidings_language"].value == "zh-hans"
    assert "成员" in admin_client.get("/members/").content.decode()


def test_language_switch_ignores_unknown_language_and_foreign_next(admin, admin_client):
    response = admin_client.post("/language", {"language": "xx", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    admin.user.refresh_from_db()
    assert admin.user.language == "en"


def test_language_on_login_page_sets_the_cookie(client):
    response = client.post("/language", {"language": "en", "next": "/login"})
    assert response.cookies["tidings_language"].value == "en"
    assert b"Log in to your workspace" in client.get("/login").content


@override_settings(LOGIN_RATE_LIMIT=5)
def test_login_rate_limit_refuses_the_sixth_attempt_even_with_the_right_password(admin, client):
    cache.clear()
    for _ in range(5):
        response = client.post("/login", {"email": admin.user.email, "password": "wrong-password"})
        assert response.status_code == 400
    response = client.post("/login", {"email": admin.user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by this one.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/login", {"email": admin.user.email, "password": PASSWORD}).status_code == 302
    cache.clear()


def test_login_success_clears_failures_and_logout(admin, client):
    cache.clear()
    client.post("/login", {"email": admin.user.email, "password": "nope"})
    response = client.post("/login", {"email": admin.user.email.upper(), "password": PASSWORD, "next": "/members/"})
    assert response.status_code == 302 and response["Location"] == "/members/"
    assert client.get("/members/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/members/").status_code == 302


def test_workspace_switcher(workspace, other_workspace, admin, make_member, admin_client):
    make_member(other_workspace, Role.MARKETER, email=admin.user.email)
    page = admin_client.get("/").content.decode()
    assert "Rival Coffee" in page
    admin_client.post("/workspace/switch", {"workspace": other_workspace.pk})
    admin.user.refresh_from_db()
    assert admin.user.current_workspace == other_workspace
    assert admin_client.get("/stores/").status_code == 403  # a marketer there


def test_workspace_switcher_refuses_a_workspace_without_a_seat(other_workspace, admin_client):
    assert admin_client.post("/workspace/switch", {"workspace": other_workspace.pk}).status_code == 404


def test_store_add_and_edit(workspace, admin_client):
    assert admin_client.post("/stores/add", {"name": "", "code": "A"}).context["form"].errors["name"]
    admin_client.post("/stores/add", {"name": "Xinyi", "code": "TPE"})
    store = Store.objects.get(workspace=workspace, code="TPE")
    Store.objects.create(workspace=workspace, name="Other", code="HK")
    response = admin_client.post(f"/stores/{store.pk}/edit", {"name": "Xinyi", "code": "HK"})
    assert response.context["form"].errors["code"]
    admin_client.post(f"/stores/{store.pk}/edit", {"name": "Xinyi 2", "code": "TPE2"})
    store.refresh_from_db()
    assert (store.name, store.code) == ("Xinyi 2", "TPE2")


def test_token_is_shown_once_and_can_be_revoked(workspace, admin, admin_client):
    response = admin_client.post("/tokens/add", {"name": "shop", "membership": admin.pk})
    assert response.status_code == 200
    raw = response.context["raw"]
    assert raw.encode() in response.content
    token = ApiToken.objects.get(workspace=workspace, name="shop")
    listing = admin_client.get("/tokens/").content
    assert raw.encode() not in listing and token.prefix.encode() in listing
    admin_client.post(f"/tokens/{token.pk}/revoke")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_token_member_must_be_in_this_workspace(other_workspace, make_member, admin_client):
    foreign = make_member(other_workspace, Role.ADMIN)
    response = admin_client.post("/tokens/add", {"name": "x", "membership": foreign.pk})
    assert response.context["form"].errors["membership"]


def test_timers_page_and_clock_advance(workspace, admin_client):
    from tidings.core import clock

    timer_schedule(workspace=workspace, kind="console_test.noop", key="nightly-report-key", delay=datetime.timedelta(hours=1))
    page = admin_client.get("/timers/")
    assert b"nightly-report-key" in page.content and b"Test clock" in page.content
    response = admin_client.post("/timers/advance", {"advance": "soon"})
    assert response.status_code == 400 and response.context["form"].errors["advance"]
    before = clock.now(workspace)
    response = admin_client.post("/timers/advance", {"advance": "2h30m"}, follow=True)
    workspace.refresh_from_db()
    assert clock.now(workspace) - before >= datetime.timedelta(hours=2, minutes=30)
    assert b"2h30m" in response.content and b"1 timer fired" in response.content
    # A distinctive key: a two-letter one like "k1" turned up inside the page's random CSRF token.
    assert b"nightly-report-key" not in response.content


def test_live_workspace_has_no_clock_form(make_workspace, make_member, console_client):
    live = make_workspace(sandbox=False)
    client = console_client(make_member(live, Role.ADMIN))
    assert b"Test clock" not in client.get("/timers/").content


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def test_avatar_upload(workspace, admin_client, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    response = admin_client.post("/settings/workspace", {
        "name": workspace.name, "time_zone": workspace.time_zone, "currency": workspace.currency,
        "default_phone_region": "HK", "modules": workspace.enabled_modules,
        "avatar": SimpleUploadedFile("logo.png", PNG_1PX, "image/png"),
    })
    assert response.status_code == 302
    assert admin_client.get("/settings/workspace/avatar").status_code == 200


def test_audit_shows_role_names_and_filters_by_prefix(workspace, make_member, admin_client):
    agent = make_member(workspace, Role.CS_AGENT)
    admin_client.post(f"/members/{agent.pk}/role", {"role": Role.SUPERVISOR})
    admin_client.post("/stores/add", {"name": "Xinyi", "code": "TPE"})
    page = admin_client.get("/audit/?action=member.role").content.decode()
    assert "CS Agent" in page and "Supervisor" in page
    assert "store.create" not in page
    assert "store.create" in admin_client.get("/audit/").content.decode()
