"""The deep links a browser opens to bind: each chat app's own link for a live account; for a sandbox account, the
simulated phone (which stands in for the app) or the fake LINE's account-link dialog."""

import re
from urllib.parse import quote, urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError

LINE_ACCOUNT_LINK_DIALOG = "https://access.line.me/dialog/bot/accountLink"


def _sandbox_open(channel: str, **params) -> str:
    return f"{settings.BASE_URL}{reverse('sandbox_phone:open_link')}?{urlencode({'channel': channel, **params})}"


def _setting(account, key: str, field: str = "account") -> str:
    value = str((account.settings or {}).get(key) or "").strip()
    if not value:
        raise ServiceError(_("The account “%(name)s” has no %(setting)s set; add it on the Channels page.")
                           % {"name": account.name, "setting": key}, field=field)
    return value


def line_message_url(account, text: str) -> str:
    """LINE's "send a message to this Official Account" link with `text` pre-filled (the basic ID, e.g. @abc1234)."""
    if account.is_sandbox:
        return _sandbox_open("line", text=text)
    basic_id = _setting(account, "basic_id")
    return f"https://line.me/R/oaMessage/{quote(basic_id, safe='')}/?{quote(text, safe='')}"


def whatsapp_message_url(account, text: str) -> str:
    if account.is_sandbox:
        return _sandbox_open("whatsapp", text=text)
    digits = re.sub(r"\D", "", _setting(account, "display_phone_number"))
    return f"https://wa.me/{digits}?{urlencode({'text': text}, quote_via=quote)}"


def messenger_ref_url(account, ref: str) -> str:
    if account.is_sandbox:
        return _sandbox_open("messenger", ref=ref)
    page = str((account.settings or {}).get("page_username") or account.external_id).strip()
    return f"https://m.me/{quote(page, safe='.')}?{urlencode({'ref': ref})}"


def instagram_ref_url(account, ref: str) -> str:
    if account.is_sandbox:
        return _sandbox_open("instagram", ref=ref)
    username = _setting(account, "username").lstrip("@")
    return f"https://ig.me/m/{quote(username, safe='._')}?{urlencode({'ref': ref})}"


def line_account_link_url(account, link_token: str, nonce: str) -> str:
    """Where the shop sends the member after login; a sandbox account's dialog is the fake LINE's."""
    base = f"{account.base_url.rstrip('/')}/dialog/bot/accountLink" if account.is_sandbox else LINE_ACCOUNT_LINK_DIALOG
    return f"{base}?{urlencode({'linkToken': link_token, 'nonce': nonce})}"


def login_url_with_link_token(login_url: str, link_token: str) -> str:
    base, hash_mark, fragment = login_url.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{urlencode({'linkToken': link_token})}{hash_mark}{fragment}"
