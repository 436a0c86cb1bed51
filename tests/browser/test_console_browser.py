"""The console in a real browser: login, language switch, role navigation, phone layout."""

import pytest

from tidings.core.models import User
from tidings.core.roles import Role

pytestmark = pytest.mark.browser


def test_login_and_switch_language(new_page, log_in, workspace, make_member):
    admin = make_member(workspace, Role.ADMIN, name="Ada", language="zh-hant")
    page = new_page()
    log_in(page, admin)
    assert "歡迎，Ada" in page.inner_text("h1")
    assert page.inner_text("[data-nav=members]").strip() == "團隊成員"

    page.click("summary[aria-label='語言']")
    page.click("button[data-language=en]")
    page.wait_for_selector("text=Welcome, Ada")
    assert page.inner_text("[data-nav=members]").strip() == "Members"

    page.click("summary[aria-label='Language']")
    page.click("button[data-language=zh-hans]")
    page.wait_for_selector("text=欢迎，Ada")
    assert page.inner_text("[data-nav=members]").strip() == "团队成员"
    assert User.objects.get(pk=admin.user.pk).language == "zh-hans"


def test_language_switch_on_the_login_page(new_page):
    page = new_page()
    page.goto("/login")
    page.click(".auth-languages button[data-language=en]")
    page.wait_for_selector("text=Log in to your workspace")
    page.click(".auth-languages button[data-language=zh-hant]")
    page.wait_for_selector("text=登入您的工作區")


def test_wrong_password_shows_an_error(new_page, workspace, make_member):
    admin = make_member(workspace, Role.ADMIN)
    page = new_page()
    page.goto("/login")
    page.click(".auth-languages button[data-language=en]")
    page.fill("input[name=email]", admin.user.email)
    page.fill("input[name=password]", "not-the-password")
    page.click(".auth-card button[type=submit]")
    page.wait_for_selector("text=That email and password do not match an active account.")


def test_navigation_differs_by_role(new_page, log_in, workspace, make_member):
    admin = make_member(workspace, Role.ADMIN)
    agent = make_member(workspace, Role.CS_AGENT)

    page = new_page()
    log_in(page, admin)
    for key in ("members", "stores", "tokens", "workspace", "audit", "timers"):
        assert page.is_visible(f"[data-nav={key}]"), key
    page.click("[data-nav=members]")
    assert page.is_visible("text=Add member")

    page = new_page()
    log_in(page, agent)
    assert page.is_visible("[data-nav=members]")  # every role reads the member list
    for key in ("stores", "tokens", "workspace", "audit", "timers", "contacts"):
        assert page.locator(f"[data-nav={key}]").count() == 0, key
    assert page.is_visible("[data-nav=inbox]")
    page.click("[data-nav=members]")
    assert page.locator("text=Add member").count() == 0
    page.goto("/stores/")
    assert page.is_visible("text=Not allowed")


def test_phone_layout_has_a_nav_toggle(new_page, log_in, workspace, make_member):
    admin = make_member(workspace, Role.ADMIN)
    page = new_page(width=390, height=844)
    log_in(page, admin)
    toggle = page.locator("[data-nav-toggle]")
    assert toggle.is_visible()
    assert not page.locator("[data-nav=stores]").is_visible() or not page.locator("#sidebar").is_visible() \
        or page.locator("#sidebar").bounding_box()["x"] < 0
    toggle.click()
    page.wait_for_timeout(300)
    assert page.locator("#sidebar").bounding_box()["x"] >= 0
    assert toggle.get_attribute("aria-expanded") == "true"
    page.click("[data-nav=stores]")
    page.wait_for_url("**/stores/")
    assert "Stores" in page.inner_text("h1")


def test_member_search_filters_without_reload(new_page, log_in, workspace, make_member):
    admin = make_member(workspace, Role.ADMIN)
    make_member(workspace, Role.MARKETER, email="mei@acme.test", name="Mei")
    make_member(workspace, Role.CS_AGENT, email="kai@acme.test", name="Kai")
    page = new_page()
    log_in(page, admin)
    page.goto("/members/")
    page.fill("#member-q", "mei")
    page.wait_for_function("!document.querySelector('#member-table').innerText.includes('kai@acme.test')")
    assert "mei@acme.test" in page.inner_text("#member-table")
    assert "q=mei" in page.url


def test_add_member_form_shows_store_fields_only_for_sales_roles(new_page, log_in, workspace, make_member):
    admin = make_member(workspace, Role.ADMIN)
    page = new_page()
    log_in(page, admin)
    page.goto("/members/add")
    assert not page.is_visible("#id_employee_code")
    page.select_option("#id_role", "sales_person")
    assert page.is_visible("#id_employee_code") and page.is_visible("#id_store")
    page.select_option("#id_role", "cs_agent")
    assert not page.is_visible("#id_employee_code")
