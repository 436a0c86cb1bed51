"""LINE's own test vectors: webhook signature and the PNP phone hash (reference/line/samples)."""

import json

from django.test import RequestFactory

from tidings.channels.adapters.line.parser import verify_signature
from tidings.channels.adapters.line.signature import line_signature, line_signature_valid, pnp_phone_hash
from tests.support.reference import REFERENCE

SAMPLES = REFERENCE / "line" / "samples"


def test_official_signature_vector():
    vector = json.loads((SAMPLES / "signature_test_vector.json").read_text())
    body = vector["raw_body"].encode()
    assert line_signature(vector["channel_secret"], body) == vector["x_line_signature"]
    assert line_signature_valid(vector["channel_secret"], body, vector["x_line_signature"])
    assert not line_signature_valid(vector["channel_secret"], body + b" ", vector["x_line_signature"])
    assert not line_signature_valid("0" * 32, body, vector["x_line_signature"])
    assert not line_signature_valid(vector["channel_secret"], body, None)


def test_official_signature_vector_through_the_adapter_and_the_sdk():
    from linebot.v3 import WebhookParser

    vector = json.loads((SAMPLES / "signature_test_vector.json").read_text())
    body = vector["raw_body"].encode()

    class Account:
        credentials = {"channel_secret": vector["channel_secret"]}

    request = RequestFactory().post("/", data=body, content_type="application/json",
                                    headers={"x-line-signature": vector["x_line_signature"]})
    assert verify_signature(Account(), request, body)
    bad = RequestFactory().post("/", data=body, content_type="application/json",
                                headers={"x-line-signature": vector["x_line_signature"][:-2] + "A="})
    assert not verify_signature(Account(), bad, body)
    # LINE's own SDK agrees with the signatures we make.
    WebhookParser(vector["channel_secret"]).parse(body.decode(), line_signature(vector["channel_secret"], body))


def test_official_pnp_phone_hash_vector():
    vector = json.loads((SAMPLES / "pnp_phone_hash_test_vector.json").read_text())
    assert pnp_phone_hash(vector["e164_phone"]) == vector["to_sha256_hex"]
    assert pnp_phone_hash("+81-8000-001234".replace(" ", "")) == vector["to_sha256_hex"]
