"""Shared helpers for SMS / fake-Twilio tests: a persona with a phone, its SMS identity, calls to the fake."""

import base64
from urllib.parse import urlencode

import pytest
from django.test import Client

from tidings.contacts.services import identity_upsert
from tidings.sandbox.models import Persona

PERSONA_PHONE = "+85261234567"
NOBODY_PHONE = "+85261239999"  # a valid number with no persona behind it


def basic(account, token=None) -> dict:
    raw = f"{account.external_id}:{token if token is not None else account.credentials['auth_token']}"
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def messages_url(account) -> str:
    return f"/sandbox/twilio/{account.public_id}/2010-04-01/Accounts/{account.external_id}/Messages.json"


def create(account, client=None, token=None, **fields):
    fields = {"To": PERSONA_PHONE, "From": account.settings["from"], "Body": "Hello", **fields}
    fields = {k: v for k, v in fields.items() if v is not None}
    return (client or Client()).post(messages_url(account), data=urlencode(fields),
                                     content_type="application/x-www-form-urlencoded", headers=basic(account, token))


@pytest.fixture
def persona(workspace):
    return Persona.objects.create(workspace=workspace, name="Mei", phone=PERSONA_PHONE)


@pytest.fixture
def sms_identity(workspace, sms_account):
    identity, _ = identity_upsert(workspace=workspace, account=sms_account, external_id=PERSONA_PHONE,
                                  display_name="Mei")
    return identity
