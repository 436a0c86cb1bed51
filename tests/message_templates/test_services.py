"""Create, submit, edit, delete and sync templates against the sandbox's fake Graph API; Meta's review comes back
as the signed status webhook when the sandbox clock passes the review delay."""

import datetime

import pytest

from tidings.channels.models import WebhookEvent
from tidings.core.errors import ServiceError
from tidings.message_templates.models import TemplateStatus, WhatsAppTemplate
from tidings.message_templates.services import (
    template_create,
    template_delete,
    template_status_apply,
    template_submit,
    template_update,
    templates_sync,
)
from tidings.sandbox.models import SandboxRequest, SandboxTemplate
from tidings.timers.services import clock_advance

from .conftest import buttons, template_data

pytestmark = pytest.mark.django_db

REVIEW = datetime.timedelta(seconds=31)


def test_create_submits_to_meta_and_is_pending(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    assert template.status == TemplateStatus.PENDING
    assert template.waba_id == wa.settings["waba_id"] and template.account == wa
    stored = SandboxTemplate.objects.get(account=wa, name="order_shipped")
    assert stored.template_id == template.provider_template_id
    request = SandboxRequest.objects.filter(path__endswith="/message_templates", method="POST").get()
    assert request.path == f"/v23.0/{wa.settings['waba_id']}/message_templates"
    assert request.body["components"][-1] == {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "Thanks"},
        {"type": "URL", "text": "Track it", "url": "https://shop.example/track/{{1}}", "example": ["sample 1"]}]}


def test_without_a_whatsapp_account_it_stays_a_draft_until_submitted(workspace):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    assert template.status == TemplateStatus.DRAFT and not template.provider_template_id
    with pytest.raises(ServiceError) as caught:
        template_submit(workspace=workspace, actor=None, template=template)
    assert caught.value.code == "no_account"


def test_draft_then_submit(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data(), submit=False)
    assert template.status == TemplateStatus.DRAFT
    template = template_submit(workspace=workspace, actor=None, template=template)
    assert template.status == TemplateStatus.PENDING and template.provider_template_id


@pytest.mark.django_db(transaction=True)
def test_review_approves_after_the_delay_through_the_signed_webhook(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=10))
    template.refresh_from_db()
    assert template.status == TemplateStatus.PENDING
    clock_advance(workspace=workspace, by=REVIEW)
    template.refresh_from_db()
    assert template.status == TemplateStatus.APPROVED
    event = WebhookEvent.objects.get(account=wa, event_type__contains="template")
    assert event.status == "processed"


@pytest.mark.django_db(transaction=True)
def test_review_rejects_a_name_with_reject_and_keeps_the_reason(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data(name="please_reject_me"))
    clock_advance(workspace=workspace, by=REVIEW)
    template.refresh_from_db()
    assert (template.status, template.rejected_reason) == (TemplateStatus.REJECTED, "INVALID_FORMAT")


@pytest.mark.django_db(transaction=True)
def test_editing_a_rejected_template_resubmits_it(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data(name="reject_once"))
    clock_advance(workspace=workspace, by=REVIEW)
    template = template_update(workspace=workspace, actor=None, template=template,
                               data=template_data(name="reject_once", body="Hi {{1}}, order {{2}} is on its way."))
    assert template.status == TemplateStatus.PENDING and template.rejected_reason == ""
    stored = SandboxTemplate.objects.get(template_id=template.provider_template_id)
    assert stored.status == "PENDING"
    assert stored.components[1]["text"] == "Hi {{1}}, order {{2}} is on its way."


@pytest.mark.django_db(transaction=True)
def test_editing_an_approved_template_sends_it_back_to_review(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    clock_advance(workspace=workspace, by=REVIEW)
    template = template_update(workspace=workspace, actor=None, template=template,
                               data=template_data(footer="New footer"))
    assert template.status == TemplateStatus.PENDING
    clock_advance(workspace=workspace, by=REVIEW)
    assert SandboxTemplate.objects.get().status == "APPROVED"
    templates_sync(workspace=workspace, actor=None)  # "sync now" always gets Meta's answer
    template.refresh_from_db()
    assert (template.status, template.footer) == (TemplateStatus.APPROVED, "New footer")


@pytest.mark.django_db(transaction=True)
def test_the_second_approval_after_an_edit_arrives_by_webhook(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    clock_advance(workspace=workspace, by=REVIEW)
    template = template_update(workspace=workspace, actor=None, template=template,
                               data=template_data(footer="New footer"))
    clock_advance(workspace=workspace, by=REVIEW)
    template.refresh_from_db()
    assert template.status == TemplateStatus.APPROVED


@pytest.mark.django_db(transaction=True)
def test_a_template_in_review_cannot_be_edited_and_name_is_fixed_once_submitted(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    with pytest.raises(ServiceError) as caught:
        template_update(workspace=workspace, actor=None, template=template, data=template_data(footer="x"))
    assert caught.value.code == "in_review"
    clock_advance(workspace=workspace, by=REVIEW)
    with pytest.raises(ServiceError) as caught:
        template_update(workspace=workspace, actor=None, template=template, data=template_data(name="renamed"))
    assert caught.value.field == "name"


def test_a_draft_can_be_renamed(workspace):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    template = template_update(workspace=workspace, actor=None, template=template, data=template_data(name="new"))
    assert (template.name, template.status) == ("new", TemplateStatus.DRAFT)


def test_same_name_and_language_twice_is_refused(workspace, wa):
    template_create(workspace=workspace, actor=None, data=template_data())
    with pytest.raises(ServiceError) as caught:
        template_create(workspace=workspace, actor=None, data=template_data())
    assert caught.value.field == "name"
    assert template_create(workspace=workspace, actor=None, data=template_data(language="zh_TW")).pk


def test_meta_refusal_stores_nothing_and_says_why(workspace, wa):
    SandboxTemplate.objects.create(account=wa, template_id="99", name="order_shipped", language="en",
                                   category="UTILITY")  # made elsewhere (WhatsApp Manager)
    with pytest.raises(ServiceError) as caught:
        template_create(workspace=workspace, actor=None, data=template_data())
    assert caught.value.code == "meta_refused"
    assert "already en content" in str(caught.value.message)
    assert not WhatsAppTemplate.objects.exists()


def test_delete_removes_it_here_and_at_meta(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    template_delete(workspace=workspace, actor=None, template=template)
    assert not WhatsAppTemplate.objects.exists() and not SandboxTemplate.objects.exists()
    # the review timer of a deleted template does nothing
    assert clock_advance(workspace=workspace, by=REVIEW) == 1


def test_delete_of_a_template_meta_no_longer_has(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    SandboxTemplate.objects.all().delete()
    template_delete(workspace=workspace, actor=None, template=template)
    assert not WhatsAppTemplate.objects.exists()


def test_sync_updates_statuses_and_adds_templates_made_elsewhere(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    SandboxTemplate.objects.filter(template_id=template.provider_template_id).update(status="APPROVED")
    for n in range(120):  # more than one page of the Graph list
        SandboxTemplate.objects.create(account=wa, template_id=str(5000 + n), name=f"made_elsewhere_{n}",
                                       language="en", category="MARKETING", status="REJECTED",
                                       rejected_reason="SCAM",
                                       components=[{"type": "BODY", "text": f"Offer {n}"}])
    counts = templates_sync(workspace=workspace, actor=None)
    assert counts == {"updated": 1, "added": 120}
    template.refresh_from_db()
    assert template.status == TemplateStatus.APPROVED
    other = WhatsAppTemplate.objects.get(name="made_elsewhere_7")
    assert (other.status, other.rejected_reason, other.body) == ("REJECTED", "SCAM", "Offer 7")
    assert templates_sync(workspace=workspace, actor=None) == {"updated": 0, "added": 0}


def test_status_values_from_meta(workspace, wa):
    template = template_create(workspace=workspace, actor=None, data=template_data())
    value = {"event": "REJECTED", "message_template_id": int(template.provider_template_id),
             "message_template_name": "order_shipped", "message_template_language": "en",
             "reason": "INCORRECT_CATEGORY"}
    assert template_status_apply(account=wa, value=value).rejected_reason == "INCORRECT_CATEGORY"
    # by name and language when the id is not known here
    value = {**value, "message_template_id": 1, "event": "PAUSED"}
    assert template_status_apply(account=wa, value=value).status == TemplateStatus.PAUSED
    # quality updates carry no event: nothing changes
    quality = {"previous_quality_score": "GREEN", "new_quality_score": "YELLOW",
               "message_template_id": int(template.provider_template_id)}
    assert template_status_apply(account=wa, value=quality) is None


def test_order_button_goes_to_meta_as_order_details(workspace, wa):
    template_create(workspace=workspace, actor=None, data=template_data(
        name="order_notice", audience="system_notification", buttons=buttons("order", "qr")))
    request = SandboxRequest.objects.filter(path__endswith="/message_templates", method="POST").get()
    assert request.body["display_format"] == "ORDER_DETAILS"
    assert request.body["components"][-1]["buttons"][0] == {"type": "ORDER_DETAILS", "text": "View order"}


def test_other_workspaces_templates_are_untouched_by_status_webhooks(workspace, other_workspace, wa):
    from tidings.channels.services import account_create

    theirs = account_create(workspace=other_workspace, actor=None, channel="whatsapp", name="Rival")
    mine = template_create(workspace=workspace, actor=None, data=template_data())
    value = {"event": "APPROVED", "message_template_id": int(mine.provider_template_id),
             "message_template_name": "order_shipped", "message_template_language": "en"}
    assert template_status_apply(account=theirs, value=value) is None
    mine.refresh_from_db()
    assert mine.status == TemplateStatus.PENDING
