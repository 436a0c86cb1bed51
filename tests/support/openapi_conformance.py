"""Validate requests a sandbox fake recorded against the provider's own OpenAPI document (openapi-core).

    from tests.support.openapi_conformance import assert_conforms
    assert_conforms(sandbox_request, LINE_SPEC)                      # raises AssertionError listing what is wrong
    assert_conforms(sandbox_request, TWILIO_SPEC, server="https://api.twilio.com")

A `SandboxRequest` keeps the provider's path (without /sandbox/<provider>/<id>), the query, the headers (the secret
part of Authorization masked, which keeps the scheme the spec's security requirement looks at) and the body (JSON,
or the form fields of a form-encoded API). The request is rebuilt from those and validated: method and path must be
an operation of the spec, and its parameters (path, query, header) and body must match the operation's schemas.
"""

import json
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.support.reference import REFERENCE  # noqa: E402
LINE_SPEC = REFERENCE / "line" / "specs" / "messaging-api.yml"
LINE_INSIGHT_SPEC = REFERENCE / "line" / "specs" / "insight.yml"
TWILIO_SPEC = REFERENCE / "twilio" / "twilio_api_v2010.yaml"


@lru_cache(maxsize=8)
def load_spec(path: str | Path) -> OpenAPI:
    # Parsing a 6,000-line document takes a while: once per process per spec.
    return OpenAPI.from_file_path(str(path))


def _server_of(openapi: OpenAPI) -> str:
    servers = openapi.spec.get("servers") or []
    for server in servers:
        return server["url"].rstrip("/")
    return "http://localhost"


class RecordedRequest:
    """openapi-core's Request protocol over a recorded SandboxRequest (or anything with the same fields)."""

    def __init__(self, *, host_url, path, method, query, headers, body, form=False):
        self.host_url = host_url
        self.path = path
        self.full_url_pattern = host_url + path
        self.method = method.lower()
        items = []
        for key, value in (query or {}).items():
            for one in value if isinstance(value, list) else [value]:
                items.append((key, str(one)))
        headers = Headers(list((headers or {}).items()))
        self.parameters = RequestParameters(query=ImmutableMultiDict(items), header=headers, cookie=ImmutableMultiDict())
        if body is None:
            self.body = None
        elif form:
            self.body = urlencode(body, doseq=True).encode()
        else:
            self.body = json.dumps(body).encode()
        self.content_type = (headers.get("Content-Type") or (
            "application/x-www-form-urlencoded" if form else "application/json"
        )).lower()


def recorded_request(record, *, server: str | None = None, openapi: OpenAPI | None = None, form=None):
    headers = dict(record.headers or {})
    if form is None:
        form = "application/x-www-form-urlencoded" in str(headers.get("Content-Type", "")).lower()
    host = server or (_server_of(openapi) if openapi is not None else "http://localhost")
    return RecordedRequest(
        host_url=host, path=record.path, method=record.method, query=record.query, headers=headers,
        body=record.body, form=form,
    )


def conformance_errors(record, spec_path, *, server: str | None = None) -> list[str]:
    """What is wrong with the recorded request according to the spec; [] when it conforms."""
    openapi = load_spec(spec_path)
    request = recorded_request(record, server=server, openapi=openapi)
    errors = []
    for error in openapi.iter_request_errors(request):
        detail = str(error)
        cause = error.__cause__
        while cause is not None:
            detail += f" <- {cause}"
            for sub in getattr(cause, "schema_errors", None) or []:
                path = "/".join(str(p) for p in sub.absolute_path)
                detail += f" [{path}: {sub.message}]"
            cause = cause.__cause__
        errors.append(detail)
    return errors


def assert_conforms(record, spec_path, *, server: str | None = None) -> None:
    errors = conformance_errors(record, spec_path, server=server)
    assert not errors, f"{record.method} {record.path} does not conform to {Path(spec_path).name}:\n" + "\n".join(errors)
