"""Identifiers shaped like LINE's: ULID webhook event ids, numeric message ids, quote and reply tokens."""

import hashlib
import random
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms: int | None = None) -> str:
    """A ULID (26 Crockford base-32 chars: 48-bit millisecond time, 80 random bits), as LINE's `webhookEventId`."""
    value = ((int(time.time() * 1000) if ms is None else ms) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def message_id() -> str:
    """LINE message ids are decimal strings of 18 digits. Not a secret (LINE's grow with time), so the fast
    generator."""
    return str(random.randrange(10**17, 10**18))


def message_ids(count: int) -> list[str]:
    """`count` consecutive message ids, as one request's messages get from LINE: a multicast needs up to 2,500, and
    drawing each at random was a tenth of the fake's time answering one."""
    first = random.randrange(10**17, 10**18 - count)
    return [str(first + i) for i in range(count)]


def quote_token() -> str:
    return secrets.token_urlsafe(96)[:128]


def reply_token() -> str:
    return secrets.token_hex(16)


def link_token() -> str:
    return secrets.token_urlsafe(24)[:32]


def request_id() -> str:
    """`x-line-request-id`: one per request, UUID-shaped."""
    import uuid

    return str(uuid.uuid4())


def bot_user_id(account) -> str:
    """The bot's own user id (webhook `destination`), stable for the account: `U` + 32 hex."""
    return "U" + hashlib.sha256(f"tidings-sandbox-bot:{account.public_id}".encode()).hexdigest()[:32]


# Message types LINE hands back a quote token for (they can be quoted in a later reply).
QUOTABLE = {"text", "textV2", "sticker", "image", "video", "audio", "location"}
