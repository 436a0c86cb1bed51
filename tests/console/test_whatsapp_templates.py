"""The console's WhatsApp templates pages: list with status badges, editor with live preview, submit, delete, sync,
permissions, and the pages in English, Traditional and Simplified Chinese."""

import json

import pytest
from django.urls import reverse

from tidings.core.roles import Role
from tidings.message_templates.models import WhatsAppTemplate
from tidings.message_templates.services import template_create
from tidings.sandbox.models import SandboxTemplate

from tests.message_templates.conftest import buttons, template_data

pytestmark = pytest.mark.django_db

LIST = reverse("console:whatsapp_templates")
ADD = reverse("console:whatsapp_template_add")


def form_data(**overrides) -> dict:
    data = {"name": "order_shipped", "language": "en", "category": "UTILITY", "audience": "general",
            "header_format": "TEXT", "header_text": "Your order is on its way", "header_url": "",
            "body": "Hi {{1}}, order {{2}} left our warehouse today.", "body_examples": "Mei\n#1024",
            "footer": "Reply STOP to opt out", "buttons": json.dumps(buttons("qr", "url")), "intent": "submit"}
    data.update(overrides)
    return data


@pytest.fixture
def marketer(workspace, make_member, console_client):
    return console_client(make_member(workspace, Role.MARKETER))


def test_empty_list_explains_what_templates_are(marketer):
    page = marketer.get(LIST).content.decode()
    assert "No WhatsApp templates yet" in page
    assert "No WhatsApp account is connected yet" in page


def test_create_submits_and_lists_with_a_status_badge(workspace, whatsapp_account, marketer):
    response = marketer.post(ADD, form_data())
    assert response.status_code == 302
    template = WhatsAppTemplate.objects.get()
    assert template.status == "PENDING" and template.examples["body"] == ["Mei", "#1024"]
    page = marketer.get(LIST).content.decode()
    assert 'data-status="PENDING"' in page and "In review" in page


def test_save_draft_keeps_it_unsubmitted(workspace, whatsapp_account, marketer):
    marketer.post(ADD, form_data(intent="draft"))
    assert WhatsAppTemplate.objects.get().status == "DRAFT" and not SandboxTemplate.objects.exists()
    template = WhatsAppTemplate.objects.get()
    marketer.post(reverse("console:whatsapp_template_submit", kwargs={"whatsapp_template_id": template.pk}))
    template.refresh_from_db()
    assert template.status == "PENDING"


def test_a_broken_button_mix_is_shown_on_the_buttons_editor(whatsapp_account, marketer):
    response = marketer.post(ADD, form_data(buttons=json.dumps(buttons("qr", "url", "qr"))))
    page = response.content.decode()
    assert response.status_code == 200
    assert ("Button 3: Quick reply buttons must stay together in one group: put them all before or all after the "
            "other buttons.") in page
    assert 'data-error-index="2"' in page
    assert not WhatsAppTemplate.objects.exists()


def test_field_errors_land_on_their_field(whatsapp_account, marketer):
    page = marketer.post(ADD, form_data(header_text="h" * 61)).content.decode()
    assert 'id="id_header_text-error">At most 60 characters (this has 61).' in page


def test_live_preview_folds_buttons_and_fills_samples(marketer):
    response = marketer.post(reverse("console:whatsapp_template_preview"), form_data(
        buttons=json.dumps(buttons("qr", "qr", "qr", "url", "phone"))))
    page = response.content.decode()
    assert "Hi Mei, order #1024 left our warehouse today." in page
    assert page.count("See all options") == 1
    shown, folded = page.split("See all options")
    assert shown.count('data-kind="') == 2
    assert folded.count('data-kind="') == 3
    assert "WhatsApp would refuse" not in page


def test_live_preview_says_what_meta_would_refuse(marketer):
    page = marketer.post(reverse("console:whatsapp_template_preview"), form_data(
        audience="general", buttons=json.dumps(buttons("order")))).content.decode()
    assert "WhatsApp would refuse this: The “go to order” button is only for templates whose audience" in page


def test_edit_a_draft_and_delete(workspace, marketer):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    edit = reverse("console:whatsapp_template_edit", kwargs={"whatsapp_template_id": template.pk})
    page = marketer.get(edit).content.decode()
    assert "order_shipped" in page and "Track it" in page  # the buttons editor starts from the saved buttons
    marketer.post(edit, form_data(footer="Thanks!", intent="draft"))
    template.refresh_from_db()
    assert template.footer == "Thanks!"
    marketer.post(reverse("console:whatsapp_template_delete", kwargs={"whatsapp_template_id": template.pk}))
    assert not WhatsAppTemplate.objects.exists()


def test_sync_now(workspace, whatsapp_account, marketer):
    SandboxTemplate.objects.create(account=whatsapp_account, template_id="777", name="from_manager", language="en",
                                   category="MARKETING", status="APPROVED",
                                   components=[{"type": "BODY", "text": "Hello there"}])
    response = marketer.post(reverse("console:whatsapp_template_sync"), follow=True)
    assert "Synced with WhatsApp: 0 updated, 1 added." in response.content.decode()
    assert 'data-status="APPROVED"' in response.content.decode()


@pytest.mark.parametrize("role,status", [(Role.ADMIN, 200), (Role.MARKETER, 200), (Role.SUPERVISOR, 200),
                                         (Role.CS_AGENT, 403), (Role.SALES_MANAGER, 403)])
def test_marketers_and_admins_only(workspace, make_member, console_client, role, status):
    client = console_client(make_member(workspace, role))
    assert client.get(LIST).status_code == status
    assert client.get(ADD).status_code == status
    home = client.get(reverse("console:home")).content.decode()
    assert (f'href="{LIST}"' in home) is (status == 200)


@pytest.mark.parametrize("language,expected", [("en", "WhatsApp templates"), ("zh-hant", "WhatsApp"),
                                               ("zh-hans", "WhatsApp")])
def test_pages_render_in_each_language(workspace, make_member, console_client, language, expected):
    client = console_client(make_member(workspace, Role.ADMIN, language=language))
    for url in (LIST, ADD):
        response = client.get(url)
        assert response.status_code == 200 and expected in response.content.decode()
