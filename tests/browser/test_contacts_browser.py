"""The contact pages in Chromium: search the list, open a profile, add a tag and edit attributes in place (htmx),
tag several contacts at once, and undo a merge after confirming."""

import pytest
from django.utils import timezone

from tidings.contacts.models import Contact, TrackingEvent
from tidings.contacts.services import (
    contact_create,
    contacts_merge,
    custom_attribute_create,
    identity_set_subscribed,
    identity_upsert,
)
from tidings.core.roles import Role

from .support import screenshot, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def people(workspace, line_account, sms_account):
    mei = contact_create(workspace=workspace, name="陳美玲", phone="+85261234501", email="mei@example.test",
                         member_id="M-001", tags=["VIP"])
    identity, _ = identity_upsert(workspace=workspace, account=line_account, external_id="U-mei",
                                  display_name="Mei", contact=mei)
    identity_set_subscribed(identity=identity, subscribed=True)
    TrackingEvent.objects.create(workspace=workspace, contact=mei, type="add_to_cart", source="web",
                                 occurred_at=timezone.now(), properties={"items": [
                                     {"id": "P1", "name": "凍檸茶禮盒", "price": "128", "quantity": 2}]})
    ken = contact_create(workspace=workspace, name="Ken Wong", phone="+85291234567")
    identity_upsert(workspace=workspace, account=sms_account, external_id="+85291234567", contact=ken)
    for n in range(3):
        contact_create(workspace=workspace, name=f"Guest {n}", email=f"guest{n}@example.test")
    custom_attribute_create(workspace=workspace, key="level", name="Level", type="choice",
                            choices=["Silver", "Gold"])
    custom_attribute_create(workspace=workspace, key="birthday", name="Birthday", type="date")
    custom_attribute_create(workspace=workspace, key="newsletter", name="Newsletter", type="boolean")
    return {"mei": mei, "ken": ken}


def _rows(page) -> int:
    return page.locator("[data-contact]").count()


def test_search_open_profile_tag_and_edit_attributes(new_page, log_in, workspace, make_member, people):
    marketer = make_member(workspace, Role.MARKETER, language="en")
    mei = people["mei"]
    page = new_page(width=1440, height=900)
    log_in(page, marketer)
    page.click("[data-nav=contacts]")
    page.wait_for_selector("[data-count]")
    assert _rows(page) == 5 and "5 contacts" in page.inner_text("[data-count]")
    screenshot(page, "contacts-list")

    # Typing searches as you type (htmx swaps the results, the address keeps the query).
    page.fill("#contact-q", "美玲")
    wait_for(lambda: _rows(page) == 1)
    assert "q=" in page.url
    assert page.inner_text(f"[data-contact='{mei.pk}'] .person strong") == "陳美玲"
    page.fill("#contact-q", "")
    page.select_option("#contact-channel", "sms")
    wait_for(lambda: _rows(page) == 1 and page.is_visible(f"[data-contact='{people['ken'].pk}']"))
    page.select_option("#contact-channel", "")
    wait_for(lambda: _rows(page) == 5)

    page.click(f"[data-contact='{mei.pk}'] .person a")
    page.wait_for_selector("[data-card=details]")
    assert "凍檸茶禮盒" in page.inner_text("[data-card=events]")
    screenshot(page, "contact-profile")

    # A tag, in place.
    page.fill("#add-tag", "回購客")
    page.click("[data-add-tag] button")
    page.wait_for_selector("[data-tag='回購客']")
    assert set(Contact.objects.get(pk=mei.pk).tags.values_list("name", flat=True)) == {"VIP", "回購客"}
    page.click("[data-tag='VIP'] .tag-remove")
    page.wait_for_selector("[data-tag='VIP']", state="detached")

    # A choice attribute: a select; a date: the date picker; yes/no: a checkbox.
    page.click("[data-attribute=level] [data-edit-attribute]")
    page.select_option("[data-attribute=level] select", "Gold")
    screenshot(page, "contact-attribute-editor")
    page.click("[data-attribute=level] button[type=submit]:not([name])")
    page.wait_for_selector("[data-attribute=level] [data-value]:has-text('Gold')")
    page.click("[data-attribute=birthday] [data-edit-attribute]")
    page.fill("[data-attribute=birthday] input[type=date]", "1990-04-12")
    page.press("[data-attribute=birthday] input[type=date]", "Enter")
    page.wait_for_selector("[data-attribute=birthday] [data-value]:has-text('1990-04-12')")
    page.click("[data-attribute=newsletter] [data-edit-attribute]")
    page.check("[data-attribute=newsletter] input[type=checkbox]")
    page.click("[data-attribute=newsletter] button[type=submit]:not([name])")
    page.wait_for_selector("[data-attribute=newsletter] [data-value]:has-text('Yes')")
    mei.refresh_from_db()
    assert mei.attributes == {"level": "Gold", "birthday": "1990-04-12", "newsletter": True}

    # Details, in place; a bad phone stays in the form with its message.
    page.click("[data-edit-details]")
    page.fill("#id_phone", "12")
    page.click("[data-details-form] button[type=submit]")
    page.wait_for_selector("#id_phone-error")
    page.fill("#id_phone", "6123 4599")
    page.fill("#id_name", "Mei Chan")
    page.click("[data-details-form] button[type=submit]")
    page.wait_for_selector("[data-contact-name]:has-text('Mei Chan')")
    assert Contact.objects.get(pk=mei.pk).phone == "+85261234599"

    page.fill("#note-text", "Prefers less sugar")
    page.click("[data-note-form] button[type=submit]")
    page.wait_for_selector("[data-notes] :text('Prefers less sugar')")
    screenshot(page, "contact-profile-edited")


def test_bulk_tag_from_the_list(new_page, log_in, workspace, make_member, people):
    marketer = make_member(workspace, Role.MARKETER, language="en")
    page = new_page(width=1440, height=900)
    log_in(page, marketer)
    page.goto("/contacts/")
    assert page.inner_text("[data-selected-label]") == "Tick contacts to tag them"
    page.check(f"#pick-{people['mei'].pk}")
    page.check(f"#pick-{people['ken'].pk}")
    assert page.inner_text("[data-selected-label]") == "2 selected"
    page.fill("#bulk-tags", "秋季活動")
    screenshot(page, "contacts-bulk")
    page.click("[data-bulk] button[value=add]")
    page.wait_for_selector(".flash-success")
    assert sorted(Contact.objects.filter(tags__name="秋季活動").values_list("name", flat=True)) == \
        ["Ken Wong", "陳美玲"]
    page.check("#check-page")
    assert page.inner_text("[data-selected-label]") == "5 selected"


def test_admin_undoes_a_merge_after_confirming(new_page, log_in, workspace, make_member, people):
    admin = make_member(workspace, Role.ADMIN, language="en")
    mei, ken = people["mei"], people["ken"]
    contacts_merge(workspace=workspace, kept=mei, merged=ken, reason="manual")
    page = new_page(width=1440, height=900)
    log_in(page, admin)
    page.goto(f"/contacts/{mei.pk}/")
    dialogs, answer = [], {"accept": False}

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.accept() if answer["accept"] else dialog.dismiss()

    page.on("dialog", on_dialog)
    page.click("[data-undo-merge]")
    wait_for(lambda: dialogs)
    assert "Ken Wong becomes a separate contact again" in dialogs[0]
    assert Contact.objects.get(pk=ken.pk).merged_into_id == mei.pk  # dismissed: nothing happened
    answer["accept"] = True
    page.click("[data-undo-merge]")
    page.wait_for_selector(".flash-success")
    assert Contact.objects.get(pk=ken.pk).merged_into_id is None
    screenshot(page, "contact-merge-undone")


def test_marketer_renames_and_deletes_a_tag(new_page, log_in, workspace, make_member, people):
    from tidings.contacts.models import Tag
    from tidings.contacts.services import tags_add

    tags_add(workspace=workspace, contact_ids=[people["mei"].pk, people["ken"].pk], names=["秋季活動"])
    marketer = make_member(workspace, Role.MARKETER, language="zh-hant")
    page = new_page(width=1440, height=900)
    log_in(page, marketer)
    page.goto("/contacts/tags/")
    row = page.locator('tr[data-tag="VIP"]')
    row.locator("[data-tag-rename] summary").click()
    row.locator("input[name=name]").fill("VIP 會員")
    screenshot(page, "contacts-tag-rename")
    row.locator("[data-tag-rename] button").click()
    page.wait_for_selector(".flash-success:has-text('VIP 會員')")
    assert sorted(people["mei"].tags.values_list("name", flat=True)) == ["VIP 會員", "秋季活動"]

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.locator('tr[data-tag="秋季活動"] [data-tag-delete] button').click()
    page.wait_for_selector(".flash-success:has-text('2')")
    assert dialogs == ["要刪除標籤 秋季活動 嗎？2 位聯絡人將不再有此標籤。"]
    assert not Tag.objects.filter(workspace=workspace, name="秋季活動").exists()
    assert page.locator('tr[data-tag="秋季活動"]').count() == 0
    screenshot(page, "contacts-tag-deleted")
