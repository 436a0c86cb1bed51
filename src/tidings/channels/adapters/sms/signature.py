"""Twilio request signatures (`X-Twilio-Signature`), checked and made with twilio's own RequestValidator."""

from twilio.request_validator import RequestValidator


def twilio_signature(auth_token: str, url: str, params: dict) -> str:
    return RequestValidator(auth_token).compute_signature(url, params)


def twilio_signature_valid(auth_token: str, url: str, params: dict, signature: str | None) -> bool:
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)
