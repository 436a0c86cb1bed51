"""Secrets at rest (channel tokens, app secrets): Fernet with a key from the environment."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    key = settings.ENCRYPTION_KEY
    if not key:
        # Derived from SECRET_KEY so a laptop install works out of the box; set TIDINGS_ENCRYPTION_KEY in production.
        key = base64.urlsafe_b64encode(hashlib.sha256(f"tidings-secrets:{settings.SECRET_KEY}".encode()).digest())
    return Fernet(key)


def encrypt_json(data: dict) -> str:
    return _fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise RuntimeError("Channel credentials cannot be decrypted: was TIDINGS_ENCRYPTION_KEY changed?") from exc
