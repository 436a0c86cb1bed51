"""Phone binding by SMS code (SPEC D3) through the browser endpoints: the shop's page asks for a code for a phone,
the fake Twilio carries the SMS (its request log is what the phone received), the page sends the code back and the
browser is bound to the phone's customer. Codes: 6 digits, 10 minutes on the workspace clock, once, 5 tries, a
resend kills the last, only an HMAC stored; send limits per phone and per address; the SMS is paid per segment."""

import datetime
import re

import pytest

from tidings.billing.models import EntryKind, LedgerEntry
from tidings.billing.services import SMS_UNIT_PRICE, balance_top_up
from tidings.billing.sms import sms_segments
from tidings.binding.models import Binding, PhoneCode
from tidings.binding.phone_otp import ADDRESS_LIMITS, MASK, MAX_ATTEMPTS, PHONE_LIMITS
from tidings.binding.services import binding_settings_update, binding_unbind
from tidings.contacts.models import Contact, ContactMerge, MergeReason, TrackingEvent, Visitor
from tidings.contacts.services import contact_create
from tidings.contacts.tracking import visitor_identify
from tidings.messaging.models import Message
from tidings.sandbox.models import SandboxRequest
from tidings.timers.services import clock_advance

from .conftest import hk_phone, new_visitor_id

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded(workspace, sms_account):
    """A shop with an SMS account and prepaid balance."""
    balance_top_up(workspace=workspace, actor=None, amount=100, note="test credit")
    return workspace


def send(browser, workspace, visitor_id, phone, address="203.0.113.7"):
    return browser.client.post("/bind/v1/phone/send", data={"workspace": workspace.slug, "visitor_id": visitor_id,
                                                            "phone": phone},
                               content_type="application/json", REMOTE_ADDR=address,
                               headers={"Origin": "https://shop.example.test"})


def verify(browser, workspace, visitor_id, phone, code):
    return browser.post("/bind/v1/phone/verify", {"workspace": workspace.slug, "visitor_id": visitor_id,
                                                  "phone": phone, "code": code})


def texts_to(workspace, phone) -> list[str]:
    """The SMS bodies the fake Twilio accepted for this phone, oldest first (what the phone received)."""
    return [r.body["Body"] for r in SandboxRequest.objects.filter(workspace=workspace, provider="twilio",
                                                                  response_status=201).order_by("id")
            if r.body.get("To") == phone]


def code_sent(workspace, phone) -> str:
    return re.search(r"(?<!\d)\d{6}(?!\d)", texts_to(workspace, phone)[-1]).group()


def sent(browser, workspace, visitor_id, phone) -> str:
    response = send(browser, workspace, visitor_id, phone)
    assert response.status_code == 200, response.content
    return code_sent(workspace, phone)


def refused(response, status=422) -> tuple[str | None, str | None]:
    assert response.status_code == status, response.content
    body = response.json()
    return body["details"][0]["field"], body.get("code")


def test_send_and_verify_binds_the_browser_to_the_phones_customer(browser, funded, shopper):
    phone = hk_phone()
    response = send(browser, funded, shopper, phone.replace("+852", "").replace("6223", "6223 "))  # typed locally
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["phone"] == phone and body["resend_after"] == 60
    expires = datetime.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert abs(expires - datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)) < datetime.timedelta(
        seconds=30)
    [text] = texts_to(funded, phone)
    code = code_sent(funded, phone)
    assert "Acme Tea" in text and len(code) == 6
    assert Binding.objects.count() == 0

    response = verify(browser, funded, shopper, phone, code)
    assert response.status_code == 200, response.content
    assert response.json() == {"bound": True, "channels": ["sms"]}
    visitor = Visitor.objects.get(visitor_id=shopper)
    contact = Contact.objects.get(pk=visitor.contact_id)
    assert contact.phone == phone and contact.bound_at is not None
    [binding] = Binding.objects.all()
    assert (binding.contact_id, binding.method, binding.channel, binding.visitor_id, binding.visitor_attached) == (
        contact.pk, "phone", "sms", visitor.pk, True)
    assert binding.identity.external_id == phone
    assert binding.get_method_display() == "Phone number (SMS code)"
    # The cart the browser filled anonymously is on the customer's timeline now.
    assert TrackingEvent.objects.get(visitor=visitor).contact_id == contact.pk
    assert browser.status(funded, shopper)["bound"] is True


def test_a_known_phone_binds_to_its_customer_and_the_answers_do_not_tell(browser, funded, shopper):
    known = contact_create(workspace=funded, name="陳美玲", phone=hk_phone())
    stranger = hk_phone()
    answers = [send(browser, funded, new_visitor_id(), phone).json() for phone in (known.phone, stranger)]
    assert [sorted(a) for a in answers] == [["expires_at", "phone", "resend_after"]] * 2
    assert answers[0]["resend_after"] == answers[1]["resend_after"]
    # A code asked for by another browser does not bind this one.
    assert refused(verify(browser, funded, shopper, known.phone, code_sent(funded, known.phone)))[1] == "code_expired"

    clock_advance(workspace=funded, by=datetime.timedelta(seconds=61))
    code = sent(browser, funded, shopper, known.phone)
    assert verify(browser, funded, shopper, known.phone, code).status_code == 200
    assert Visitor.objects.get(visitor_id=shopper).contact_id == known.pk
    assert Contact.objects.filter(phone=known.phone).count() == 1


def test_wrong_codes_count_and_the_sixth_try_fails_even_with_the_right_code(browser, funded, shopper):
    phone = hk_phone()
    code = sent(browser, funded, shopper, phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for n in range(1, MAX_ATTEMPTS):
        response = verify(browser, funded, shopper, phone, wrong)
        assert refused(response) == ("code", "code_wrong")
        assert str(MAX_ATTEMPTS - n) in response.json()["message"]
        assert PhoneCode.objects.get().attempts == n
    assert refused(verify(browser, funded, shopper, phone, wrong)) == ("code", "code_expired")  # the fifth: dead
    assert refused(verify(browser, funded, shopper, phone, code)) == ("code", "code_expired")
    row = PhoneCode.objects.get()
    assert row.attempts == MAX_ATTEMPTS and row.voided_at is not None and row.consumed_at is None
    assert Binding.objects.count() == 0 and Visitor.objects.get(visitor_id=shopper).contact_id is None


def test_a_code_expires_after_ten_minutes(browser, funded, shopper):
    phone = hk_phone()
    code = sent(browser, funded, shopper, phone)
    clock_advance(workspace=funded, by=datetime.timedelta(minutes=9, seconds=50))
    assert refused(verify(browser, funded, shopper, phone, "000000" if code != "000000" else "000001")) == (
        "code", "code_wrong")  # still live just before
    clock_advance(workspace=funded, by=datetime.timedelta(seconds=10))
    assert refused(verify(browser, funded, shopper, phone, code)) == ("code", "code_expired")
    assert Binding.objects.count() == 0
    # A new code works again.
    code = sent(browser, funded, shopper, phone)
    assert verify(browser, funded, shopper, phone, code).status_code == 200


def test_a_code_works_once(browser, funded, shopper):
    phone = hk_phone()
    code = sent(browser, funded, shopper, phone)
    assert verify(browser, funded, shopper, phone, code).status_code == 200
    assert refused(verify(browser, funded, shopper, phone, code)) == ("code", "code_expired")
    other = new_visitor_id()
    assert refused(verify(browser, funded, other, phone, code)) == ("code", "code_expired")
    assert Binding.objects.count() == 1 and Visitor.objects.get(visitor_id=other).contact_id is None


def test_a_resend_kills_the_old_code(browser, funded, shopper, monkeypatch):
    # Two different draws, so the old code is told apart from the new one (a repeat is one in a million).
    draws = iter([123456, 654321])
    monkeypatch.setattr("tidings.binding.phone_otp.secrets.randbelow", lambda _n: next(draws))
    phone = hk_phone()
    first = sent(browser, funded, shopper, phone)
    clock_advance(workspace=funded, by=datetime.timedelta(seconds=61))
    second = sent(browser, funded, shopper, phone)
    assert (first, second) == ("123456", "654321")
    assert len(texts_to(funded, phone)) == 2
    assert refused(verify(browser, funded, shopper, phone, first))[1] == "code_wrong"
    assert PhoneCode.objects.filter(voided_at__isnull=False).count() == 1
    assert verify(browser, funded, shopper, phone, second).status_code == 200


def test_per_phone_limits_one_a_minute_and_five_an_hour(browser, funded):
    phone = hk_phone()
    (per_minute, minute), (per_hour, hour) = PHONE_LIMITS
    assert (per_minute, per_hour) == (1, 5)
    assert send(browser, funded, new_visitor_id(), phone).status_code == 200
    response = send(browser, funded, new_visitor_id(), phone, address="198.51.100.9")  # another browser and address
    assert refused(response, 429) == ("phone", "rate_limited")
    assert 55 <= int(response["Retry-After"]) <= 61
    for _n in range(per_hour - 1):
        clock_advance(workspace=funded, by=minute + datetime.timedelta(seconds=1))
        assert send(browser, funded, new_visitor_id(), phone).status_code == 200
    clock_advance(workspace=funded, by=minute + datetime.timedelta(seconds=1))
    response = send(browser, funded, new_visitor_id(), phone)
    assert refused(response, 429) == ("phone", "rate_limited")
    # The first of the five leaves the hour 3600 s after it was sent; 5 × 61 s of test clock (and a few real
    # seconds) have passed since.
    assert 3600 - 5 * 61 - 30 <= int(response["Retry-After"]) <= 3600 - 5 * 61 + 1
    assert len(texts_to(funded, phone)) == per_hour
    clock_advance(workspace=funded, by=datetime.timedelta(seconds=int(response["Retry-After"])))
    assert send(browser, funded, new_visitor_id(), phone).status_code == 200


def test_per_address_limit(browser, funded):
    [(per_hour, _hour)] = ADDRESS_LIMITS
    for _n in range(per_hour):
        assert send(browser, funded, new_visitor_id(), hk_phone(), address="192.0.2.50").status_code == 200
    phone = hk_phone()
    response = send(browser, funded, new_visitor_id(), phone, address="192.0.2.50")
    assert refused(response, 429) == ("phone", "rate_limited") and int(response["Retry-After"]) > 3000
    assert texts_to(funded, phone) == []
    assert send(browser, funded, new_visitor_id(), phone, address="192.0.2.51").status_code == 200
    # Addresses are kept only as keyed hashes.
    assert not PhoneCode.objects.filter(address_hash__contains="192.0.2").exists()


@pytest.mark.parametrize("phone", ["12345", "+852 2123 4567", "not a phone", ""])
def test_a_bad_or_landline_phone_is_refused(browser, funded, shopper, phone):
    assert refused(send(browser, funded, shopper, phone)) == ("phone", None)
    assert SandboxRequest.objects.count() == 0 and PhoneCode.objects.count() == 0


def test_balance_below_grace_sends_nothing_and_charges_nothing(browser, workspace, sms_account, shopper):
    phone = hk_phone()  # balance 0, grace minimum 0: one segment would take it below
    response = send(browser, workspace, shopper, phone)
    assert refused(response) == ("phone", "balance_below_grace")
    assert "0.00" not in response.json()["message"]  # the shopper is not told the shop's balance
    assert texts_to(workspace, phone) == []
    assert not LedgerEntry.objects.filter(kind=EntryKind.SMS_CHARGE).exists()
    assert not Message.objects.exists() and not PhoneCode.objects.exists()
    assert not Contact.objects.filter(phone=phone).exists()


def test_no_sms_account_and_binding_off_are_refused(browser, workspace, admin, shopper):
    assert refused(send(browser, workspace, shopper, hk_phone())) == ("phone", "no_sms_account")
    binding_settings_update(workspace=workspace, by=admin, enabled=False)
    assert refused(send(browser, workspace, shopper, hk_phone()))[0] == "workspace"
    assert [m["method"] for m in browser.status(workspace, shopper)["methods"]] == []


def test_status_offers_phone_binding_with_an_sms_account(browser, workspace, sms_account, shopper):
    assert browser.status(workspace, shopper)["methods"] == [
        {"method": "phone", "account": {"id": sms_account.pk, "channel": "sms", "name": "Acme SMS"}}]


def test_the_sms_is_charged_one_unit_per_segment(browser, funded, shopper):
    phone = hk_phone()
    sent(browser, funded, shopper, phone)
    [text] = texts_to(funded, phone)
    segments = sms_segments(text)[0]
    message = Message.objects.get(source="phone_binding")
    [charge] = LedgerEntry.objects.filter(kind=EntryKind.SMS_CHARGE)
    assert (charge.feature, charge.channel, charge.segments, charge.message_id) == (
        "phone_binding", "sms", segments, message.pk)
    assert charge.amount == -SMS_UNIT_PRICE * segments


def test_a_long_shop_name_costs_more_segments(browser, funded, shopper):
    funded.name = "茶" * 40  # UCS-2: the text no longer fits 70 units
    funded.save(update_fields=["name"])
    phone = hk_phone()
    sent(browser, funded, shopper, phone)
    [text] = texts_to(funded, phone)
    [charge] = LedgerEntry.objects.filter(kind=EntryKind.SMS_CHARGE)
    assert charge.segments == sms_segments(text)[0] >= 2


def test_the_code_is_never_stored_in_plain_text(browser, funded, shopper):
    phone = hk_phone()
    code = sent(browser, funded, shopper, phone)
    row = PhoneCode.objects.values().get()
    assert all(code not in str(value) for value in row.values())
    # The pipeline's copy of the SMS is masked once the provider has it.
    message = Message.objects.get(source="phone_binding")
    assert message.status == "sent"
    assert code not in message.content["text"] and MASK in message.content["text"]
    assert "Acme Tea" in message.content["text"]


def test_a_code_from_one_workspace_does_not_verify_in_another(browser, funded, other_workspace, shopper):
    phone = hk_phone()
    code = sent(browser, funded, shopper, phone)
    assert refused(verify(browser, other_workspace, shopper, phone, code)) == ("code", "code_expired")
    assert not Binding.objects.exists()
    assert verify(browser, funded, shopper, phone, code).status_code == 200  # untouched in its own workspace


def test_bad_codes_are_refused_without_counting(browser, funded, shopper):
    phone = hk_phone()
    sent(browser, funded, shopper, phone)
    for code in ("12345", "abcdef", "1234567", ""):
        assert refused(verify(browser, funded, shopper, phone, code)) == ("code", None)
    assert PhoneCode.objects.get().attempts == 0


def test_a_logged_in_member_is_merged_with_the_phones_customer_and_unbinding_restores_both(
        browser, funded, admin, line_account, new_persona):
    mei = new_persona()  # a LINE friend whose contact carries her phone
    visitor = visitor_identify(workspace=funded, visitor_id=new_visitor_id(), member_id="M-7007")
    member = visitor.contact
    code = sent(browser, funded, visitor.visitor_id, mei.phone)
    assert verify(browser, funded, visitor.visitor_id, mei.phone, code).status_code == 200

    visitor.refresh_from_db()
    assert visitor.contact_id == mei.contact_id  # the contact reachable on LINE is kept
    member.refresh_from_db()
    assert member.merged_into_id == mei.contact_id
    merge = ContactMerge.objects.get()
    assert merge.reason == MergeReason.PHONE
    [binding] = Binding.objects.all()
    assert list(binding.merges.all()) == [merge] and not binding.visitor_attached
    assert Contact.objects.get(pk=mei.contact_id).member_id == "M-7007"

    binding_unbind(workspace=funded, contact=Contact.objects.get(pk=mei.contact_id), by=admin)
    member.refresh_from_db()
    visitor.refresh_from_db()
    merge.refresh_from_db()
    assert merge.undone_at is not None and member.merged_into_id is None and member.member_id == "M-7007"
    assert visitor.contact_id == member.pk
    assert Contact.objects.get(pk=mei.contact_id).bound_at is None
    assert Binding.objects.get().unbound_at is not None
    assert browser.status(funded, visitor.visitor_id)["bound"] is False


def test_unbinding_an_anonymous_browser_makes_it_anonymous_again(browser, funded, admin, shopper):
    phone = hk_phone()
    code = sent(browser, funded, shopper, phone)
    verify(browser, funded, shopper, phone, code)
    contact = Contact.objects.get(phone=phone)
    binding_unbind(workspace=funded, contact=contact, by=admin)
    visitor = Visitor.objects.get(visitor_id=shopper)
    assert visitor.contact_id is None and TrackingEvent.objects.get(visitor=visitor).contact_id is None
    contact.refresh_from_db()
    assert contact.bound_at is None
    # Binding again later works with a new code.
    clock_advance(workspace=funded, by=datetime.timedelta(seconds=61))
    code = sent(browser, funded, shopper, phone)
    assert verify(browser, funded, shopper, phone, code).status_code == 200
    assert Visitor.objects.get(visitor_id=shopper).contact_id == contact.pk


def test_two_member_ids_are_two_people(browser, funded):
    phone = hk_phone()
    contact_create(workspace=funded, name="Other member", phone=phone, member_id="M-1")
    visitor = visitor_identify(workspace=funded, visitor_id=new_visitor_id(), member_id="M-2")
    code = sent(browser, funded, visitor.visitor_id, phone)
    assert refused(verify(browser, funded, visitor.visitor_id, phone, code)) == ("phone", "member_id_conflict")
    assert not Binding.objects.exists() and not ContactMerge.objects.exists()
    assert PhoneCode.objects.get().voided_at is not None
    visitor.refresh_from_db()
    assert Contact.objects.get(pk=visitor.contact_id).member_id == "M-2"
