"""Tracked links (SPEC C5): URLs on buttons and cards go through /l/<token>, which records one `clicked` per message.

Only tappable actions are rewritten - `uri` actions on buttons, carousel columns, image-carousel columns, imagemap
areas, coupon buttons and quick replies. A URL a person typed inside plain text stays as it is: we do not alter what
an agent wrote, and LINE shows text URLs as they are.
"""

import copy
import secrets
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing

from tidings.core import clock

from .models import TrackedLink

# A tracked link's redirect adds `_tid`: a signed (message id, workspace id, click time) the shop page's script
# hands to /bind/v1/tracked so the binding app can bind that browser to the message's recipient (SPEC D2).
TID_PARAM = "_tid"
TID_SALT = "tidings.messaging.tracked-link-tid"


def link_url(token: str) -> str:
    return f"{settings.BASE_URL}/l/{token}"


def _tracked(action) -> bool:
    # Web pages only: tel:, line:// and app links open apps, not a browser that could follow our redirect.
    # Not every field named like an action is one: a list message's `button` is its menu label, a string.
    return (isinstance(action, dict) and action.get("type") == "uri"
            and str(action.get("uri", "")).startswith(("http://", "https://")))


def _uri_actions(content: dict):
    """Every action dict in `content` whose `uri` we track."""
    candidates = [*(content.get("actions") or [])]  # buttons; imagemap areas
    for column in content.get("columns") or []:
        candidates += column.get("actions") or []
        candidates.append(column.get("action"))
    candidates.append(content.get("button"))
    candidates += content.get("quick_replies") or []
    return [action for action in candidates if _tracked(action)]


def contents_have_links(contents: list[dict]) -> bool:
    """True if any content carries a URL we would track (then a bulk send goes out as per-recipient pushes)."""
    return any(True for content in contents for _ in _uri_actions(content))


def _new_token() -> str:
    return secrets.token_urlsafe(12)  # 16 URL-safe characters, 96 random bits


def links_prepare(message, content: dict) -> tuple[dict, list[TrackedLink]]:
    """The content with its action URLs replaced by tracked ones, and the (unsaved) TrackedLink rows for `message`.

    One link per distinct URL in the message, so two buttons to the same page share a token. The caller saves the
    rows (in bulk when sending to many) in the transaction that stores the message.
    """
    if not contents_have_links([content]):
        return content, []  # nothing to rewrite: skip the copy (a broadcast prepares one per recipient)
    content = copy.deepcopy(content)
    by_url: dict[str, TrackedLink] = {}
    for action in _uri_actions(content):
        url = action["uri"]
        link = by_url.get(url)
        if link is None:
            link = by_url[url] = TrackedLink(
                workspace_id=message.workspace_id, message=message, token=_new_token(), url=url
            )
        action["uri"] = link_url(link.token)
    return content, list(by_url.values())


def tid_make(*, message_id: int, workspace_id: int, at) -> str:
    """Signed, not encrypted: it says which message was clicked and when (workspace clock, epoch seconds)."""
    return signing.dumps({"m": message_id, "w": workspace_id, "t": int(at.timestamp())}, salt=TID_SALT)


def tid_read(tid: str) -> dict | None:
    """{"m": message id, "w": workspace id, "t": click time} of a tid we signed; None when forged or malformed."""
    try:
        data = signing.loads(tid, salt=TID_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(key), int) for key in ("m", "w", "t")):
        return None
    return data


def url_with_param(url: str, name: str, value: str) -> str:
    """The URL with one query parameter added (kept before any #fragment)."""
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({name: value})))


def tracked_link_destination(*, token: str, url: str) -> str:
    """Where a click on the tracked link `token` goes: its URL with a fresh `_tid` for the clicked message."""
    link = TrackedLink.objects.select_related("workspace").filter(token=token).first()
    if link is None:
        return url
    tid = tid_make(message_id=link.message_id, workspace_id=link.workspace_id, at=clock.now(link.workspace))
    return url_with_param(url, TID_PARAM, tid)
