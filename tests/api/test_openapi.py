import json
import re

import pytest
from django.test import Client

from tidings.api.permissions import api_routes


@pytest.fixture
def client():
    return Client()


def test_openapi_document_lists_every_route(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Tidings Open API"
    for route in api_routes():
        assert route.method.lower() in document["paths"][route.path], f"{route.method} {route.path} not documented"
    assert document["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    operation_ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_openapi_document_refs_resolve(client):
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document)))
    assert refs and refs <= set(schemas)
    assert {"ErrorOut", "MemberPage", "MemberOut"} <= set(schemas)


def test_openapi_document_validates_if_a_validator_is_installed(client):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(client.get("/api/v1/openapi.json").json())


def test_docs_page_and_its_assets_are_served_locally(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls
    assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], "docs must not load from a CDN"
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert b"".join(asset.streaming_content) if asset.streaming else asset.content
    assert "/api/v1/openapi.json" in html


def test_docs_assets_are_an_allow_list(client):
    assert client.get("/api/v1/docs/assets/redoc.standalone.js.map").status_code == 404
    assert client.get("/api/v1/docs/assets/..%2F..%2F__init__.py").status_code == 404


def test_api_root_points_at_the_docs(client):
    assert client.get("/api/v1/").json()["docs"] == "/api/v1/docs"
