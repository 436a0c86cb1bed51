"""The script's endpoints as a shop's page calls them: CORS, text/plain bodies, batching, dedupe, bad input."""

import json

import pytest
from django.test import Client

from tidings.contacts.models import TrackingEvent, Visitor

VID = "v-0123456789abcdef"
ORIGIN = "https://shop.example.test"


@pytest.fixture
def browser():
    return Client(HTTP_ORIGIN=ORIGIN)


def _post(client, body, content_type="text/plain;charset=UTF-8"):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/widget/v1/collect", data=raw, content_type=content_type)


def _event(n, type="view_product", **extra):
    return {"event_id": f"ev-{n}", "type": type, "properties": {"id": f"P{n}"}, **extra}


def test_script_is_served_with_caching_and_cors(db, browser):
    response = browser.get("/widget/v1/tidings.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "max-age=" in response["Cache-Control"] and response["Access-Control-Allow-Origin"] == "*"
    body = response.content.decode()
    assert "/widget/v1/collect" in body and "/*@STRINGS@*/" not in body
    assert "Waiting for your message" in body  # the dialog's words are filled in
    # A browser revalidating its copy gets a 304 without the body.
    again = browser.get("/widget/v1/tidings.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_preflight_allows_any_shop_origin(db, browser):
    response = browser.options("/widget/v1/collect", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                               HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]


def test_a_text_plain_batch_is_stored_for_the_visitor(workspace, browser):
    response = _post(browser, {"workspace": "acme", "visitor_id": VID,
                               "events": [_event(1), _event(2, "add_to_cart")]})
    assert response.status_code == 200, response.content
    assert response.json() == {"stored": 2, "duplicates": 0}
    assert response["Access-Control-Allow-Origin"] == "*"
    visitor = Visitor.objects.get(workspace=workspace, visitor_id=VID)
    assert sorted(visitor.events.values_list("type", flat=True)) == ["add_to_cart", "view_product"]
    assert set(visitor.events.values_list("source", flat=True)) == {"web"}


def test_json_content_type_works_too(workspace, browser):
    response = _post(browser, {"workspace": "acme", "visitor_id": VID, "events": [_event(1)]}, "application/json")
    assert response.status_code == 200


def test_a_resent_batch_is_stored_once(workspace, browser):
    body = {"workspace": "acme", "visitor_id": VID, "events": [_event(1), _event(2)]}
    _post(browser, body)
    response = _post(browser, body)  # the sendBeacon copy, or a retry after a lost answer
    assert response.json() == {"stored": 0, "duplicates": 2}
    assert TrackingEvent.objects.count() == 2


def test_identify_only_request(workspace, browser):
    response = _post(browser, {"workspace": "acme", "visitor_id": VID, "events": [],
                               "identify": {"member_id": "M-9", "email": "mei@example.test"}})
    assert response.status_code == 200
    assert Visitor.objects.get().contact.member_id == "M-9"


def test_bad_items_are_named_and_the_good_ones_kept(workspace, browser):
    response = _post(browser, {"workspace": "acme", "visitor_id": VID, "events": [
        _event(1), {"event_id": "x", "type": "teleport"}, _event(3, properties=[1, 2]), _event(4)]})
    assert response.status_code == 422
    body = response.json()
    assert body["stored"] == 2
    assert [d["field"] for d in body["details"]] == ["events.1.type", "events.2.properties"]
    assert TrackingEvent.objects.count() == 2


def test_more_than_100_events_are_refused_whole(workspace, browser):
    response = _post(browser, {"workspace": "acme", "visitor_id": VID, "events": [_event(n) for n in range(101)]})
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "events"
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize("body, status, field", [
    ("not json", 400, None),
    ("[1, 2]", 400, None),
    ({"workspace": "nope", "visitor_id": VID, "events": []}, 404, "workspace"),
    ({"visitor_id": VID, "events": []}, 404, "workspace"),
    ({"workspace": "acme", "visitor_id": "bad id!", "events": []}, 422, "visitor_id"),
    ({"workspace": "acme", "events": []}, 422, "visitor_id"),
    ({"workspace": "acme", "visitor_id": VID, "events": {"type": "purchase"}}, 422, "events"),
])
def test_bad_requests(workspace, browser, body, status, field):
    response = _post(browser, body)
    assert response.status_code == status
    assert response["Access-Control-Allow-Origin"] == "*"  # the script can read why
    if field:
        assert response.json()["details"][0]["field"] == field
    assert not TrackingEvent.objects.exists()


def test_oversized_body_is_refused(workspace, browser):
    body = {"workspace": "acme", "visitor_id": VID, "events": [_event(1, properties={"x": "y" * 300_000})]}
    assert _post(browser, body).status_code == 413


def test_collect_needs_no_csrf_token_or_cookie(workspace):
    client = Client(enforce_csrf_checks=True)
    response = _post(client, {"workspace": "acme", "visitor_id": VID, "events": [_event(1)]})
    assert response.status_code == 200


def test_get_is_not_allowed(db, browser):
    assert browser.get("/widget/v1/collect").status_code == 405


def test_one_address_past_the_limit_gets_429_and_nothing_is_stored(workspace, other_workspace, monkeypatch):
    from tidings.widget import views

    monkeypatch.setattr(views, "COLLECT_LIMIT", 3)
    flooder = Client(HTTP_ORIGIN=ORIGIN, REMOTE_ADDR="203.0.113.7", HTTP_ACCEPT_LANGUAGE="en")
    for n in range(3):
        assert _post(flooder, {"workspace": "acme", "visitor_id": VID, "events": [_event(n)]}).status_code == 200
    refused = _post(flooder, {"workspace": "acme", "visitor_id": VID, "events": [_event(99)]})
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert refused["Access-Control-Allow-Origin"] == "*" and "Too many requests" in refused.json()["message"]
    assert TrackingEvent.objects.filter(workspace=workspace).count() == 3  # the refused batch stored nothing
    # Another address, or the same address on another shop, is not held back.
    neighbour = Client(HTTP_ORIGIN=ORIGIN, REMOTE_ADDR="203.0.113.8")
    assert _post(neighbour, {"workspace": "acme", "visitor_id": VID, "events": [_event(99)]}).status_code == 200
    assert _post(flooder, {"workspace": "rival", "visitor_id": VID, "events": [_event(5)]}).status_code == 200
