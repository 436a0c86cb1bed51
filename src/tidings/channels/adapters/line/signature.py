"""LINE webhook signatures: base64(HMAC-SHA256(channel secret, raw body)) in `x-line-signature`."""

import base64
import hashlib
import hmac


def line_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def line_signature_valid(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature or not secret:
        return False
    return hmac.compare_digest(line_signature(secret, body), signature)


def pnp_phone_hash(e164: str) -> str:
    """LINE notification messages address a phone as the lowercase hex SHA-256 of its E.164 form."""
    return hashlib.sha256(e164.replace("-", "").encode()).hexdigest()
