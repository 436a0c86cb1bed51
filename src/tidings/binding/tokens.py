"""Binding secrets and how they are stored: random tokens as sha256, 6-digit codes as HMAC-SHA256.

A token is 128 random bits (22 URL-safe characters) - unguessable, so a plain sha256 is enough to store it. A
6-digit code has only 20 bits: a plain hash could be reversed by trying all million, so codes are keyed with a
server secret and the workspace (the same code in two workspaces is two different hashes).
"""

import hashlib
import hmac
import re
import secrets

from django.conf import settings

# Refs on m.me / ig.me links start with this, so the inbound consumer can tell our binding refs from ad refs.
# Meta allows alphanumerics and + - . / : = _ in a ref.
REF_PREFIX = "bind."
CODE_DIGITS = 6
# A code in a chat message: six digits not part of a longer number.
CODE_IN_TEXT = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def token_new() -> str:
    return secrets.token_urlsafe(16)


def code_new() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def token_hash(kind: str, token: str) -> str:
    """sha256 of a token, namespaced by what it is (a ref, a LINE link token, a nonce, a tracked-link tid)."""
    return hashlib.sha256(f"{kind}:{token}".encode()).hexdigest()


def _code_key() -> bytes:
    return hashlib.sha256(f"tidings.binding.code:{settings.SECRET_KEY}".encode()).digest()


def code_hash(workspace_id: int, code: str) -> str:
    return hmac.new(_code_key(), f"{workspace_id}:{code}".encode(), hashlib.sha256).hexdigest()


def codes_in(text: str) -> list[str]:
    """The 6-digit codes a chat message may carry (a long message is not a binding message)."""
    if not text or len(text) > 300:
        return []
    return list(dict.fromkeys(CODE_IN_TEXT.findall(text)))[:3]
