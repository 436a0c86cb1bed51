"""Binding links of sandbox accounts open on the simulated phone: the persona picker, the chat with the code
message typed in, m.me / ig.me refs sent as the app's webhooks; and the fake LINE account-link dialog's refusals."""

from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import bindings

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_line_code_link_opens_the_chat_with_the_text_typed_in(browser, workspace, line_account, new_persona,
                                                              shopper, admin, console_client):
    mei = new_persona()
    body = browser.start(workspace, "line_code", shopper).json()
    member = console_client(admin)
    picker = member.get(body["url"])
    assert picker.status_code == 200
    html = picker.content.decode()
    assert mei.name in html and body["text"] in html
    phone_url = f"/sandbox/phone/{mei.pk}?tab=line&text="
    assert phone_url in html.replace("&amp;", "&")
    phone = member.get(f"/sandbox/phone/{mei.pk}", {"tab": "line", "text": body["text"]})
    assert f'value="{body["text"]}" autofocus data-prefilled' in phone.content.decode()
    # Pressing Send on the phone sends it as the customer: the binding happens.
    sent = member.post(f"/sandbox/phone/{mei.pk}/act", {"tab": "line", "action": "send", "text": body["text"]})
    assert sent.status_code == 302
    assert len(bindings(workspace)) == 1


def test_a_messenger_ref_link_is_opened_by_the_chosen_persona(browser, workspace, messenger_account, new_persona,
                                                              shopper, admin, console_client):
    fan = new_persona(line=False, friend=False, messenger={})
    body = browser.start(workspace, "messenger_ref", shopper).json()
    member = console_client(admin)
    assert fan.name in member.get(body["url"]).content.decode()
    ref = parse_qs(urlsplit(body["url"]).query)["ref"][0]
    opened = member.post("/sandbox/open", {"channel": "messenger", "ref": ref, "persona": fan.pk})
    assert opened.status_code == 302 and opened["Location"] == f"/sandbox/phone/{fan.pk}?tab=messenger"
    [binding] = bindings(workspace)
    assert binding.contact_id == fan.contact_id
    assert member.get("/sandbox/open", {"channel": "telegram", "text": "x"}).status_code == 400


def test_the_dialog_refuses_links_without_a_valid_nonce_or_token(workspace, line_account, client):
    base = f"/sandbox/line/{line_account.public_id}/dialog/bot/accountLink"
    assert client.get(base, {"linkToken": "abc", "nonce": "short"}).status_code == 400
    unknown = client.post(base, {"linkToken": "never-issued", "nonce": "n" * 20})
    assert unknown.status_code == 200 and 'data-result="unknown"' in unknown.content.decode()
