"""Every API route x every role: allowed or 403, derived from the routes' declared permissions.

`api_routes()` lists each route with the permission its `@requires` declares; the expected cell is
`member_can(role, permission)`. A few cells are also written out by hand (SEED_CELLS), so a wrong declaration
cannot make the generated matrix agree with itself.
"""

import re

import pytest

from tests.support import cross_workspace as xws
from tidings.api.permissions import ANY_MEMBER, api_routes
from tidings.core.permissions import Permission, role_may
from tidings.core.roles import Role

xws.load_factory_modules()
ROUTES = api_routes()

# Bodies an allowed role can send successfully; anything else gets {}.
SAMPLE_BODIES = {
    ("PATCH", "/api/v1/workspace"): {"name": "Acme Tea & Co"},
    ("PUT", "/api/v1/workspace/modules"): {"modules": ["coupons", "omo"]},
    ("POST", "/api/v1/members"): {"email": "new-person@acme.test", "role": "cs_agent"},
    ("PATCH", "/api/v1/members/{member_id}"): {"role": "cs_manager"},
    ("POST", "/api/v1/stores"): {"name": "Taipei 101", "code": "TPE101"},
    ("PATCH", "/api/v1/stores/{store_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/sandbox/clock"): {"advance": "1m"},
    ("POST", "/api/v1/sandbox/personas"): {"name": "Matrix persona", "phone": "+85269870099", "line": False},
    ("POST", "/api/v1/whatsapp-templates"): {"name": "matrix_template", "language": "en", "category": "UTILITY",
                                            "body": "Hello {{1}} from the matrix", "draft": True},
    ("PUT", "/api/v1/whatsapp-templates/{whatsapp_template_id}"): {
        "name": "matrix_template", "language": "en", "category": "UTILITY", "body": "Hi {{1}} again", "draft": True},
    ("POST", "/api/v1/sandbox/personas/{persona_id}/actions"): {"action": "open_link", "channel": "line",
                                                                "url": "https://example.test/"},
    ("POST", "/api/v1/billing/top-ups"): {"amount": "100", "note": "matrix"},
    ("POST", "/api/v1/custom-attributes"): {"key": "matrix", "name": "Matrix", "type": "text"},
    ("POST", "/api/v1/contacts"): {"name": "Matrix contact", "phone": "+85261234567"},
    ("POST", "/api/v1/events"): {"events": [{"type": "view_product", "visitor_id": "matrix-visitor",
                                             "properties": {"product_id": "tea-1"}}]},
}

SEED_CELLS = [
    (Role.MARKETER, "POST", "/api/v1/members", False),
    (Role.SUPERVISOR, "POST", "/api/v1/members", False),
    (Role.ADMIN, "POST", "/api/v1/members", True),
    (Role.SALES_PERSON, "PATCH", "/api/v1/workspace", False),
    (Role.SUPERVISOR, "PATCH", "/api/v1/workspace", False),
    (Role.ADMIN, "PATCH", "/api/v1/workspace", True),
    (Role.CS_AGENT, "GET", "/api/v1/members", True),
    (Role.SALES_PERSON, "GET", "/api/v1/stores", True),
    (Role.CS_MANAGER, "POST", "/api/v1/stores", False),
    (Role.SALES_MANAGER, "GET", "/api/v1/timers", False),
    (Role.CS_MANAGER, "POST", "/api/v1/sandbox/clock", False),
    (Role.MARKETER, "GET", "/api/v1/me", True),
    (Role.SALES_PERSON, "GET", "/api/v1/workspace", True),
]


def expected_allowed(role, permission) -> bool:
    return True if permission == ANY_MEMBER else role_may(role, permission)


def test_every_route_declares_a_permission():
    undeclared = [f"{r.method} {r.path}" for r in ROUTES if r.permission is None]
    assert not undeclared, f"API routes without @requires(...): {undeclared}"


def test_every_route_requires_a_token():
    assert all(r.authenticated for r in ROUTES)


def test_the_registry_lists_the_foundation_routes():
    listed = {(r.method, r.path): r.permission for r in ROUTES}
    assert listed[("GET", "/api/v1/me")] == ANY_MEMBER
    assert listed[("PATCH", "/api/v1/workspace")] == Permission.WORKSPACE_MANAGE
    assert listed[("POST", "/api/v1/members")] == Permission.MEMBERS_MANAGE
    assert listed[("GET", "/api/v1/stores/{store_id}")] == Permission.MEMBERS_VIEW
    assert listed[("POST", "/api/v1/sandbox/clock")] == Permission.TIMERS_VIEW
    assert {(m, p) for m, p in SAMPLE_BODIES} <= set(listed)


def _call(client, route, workspace, make_member):
    """Call `route` in `workspace` with ids from the cross-workspace object factories and a valid body."""
    if route.path.startswith("/api/v1/whatsapp-templates"):
        from tidings.channels.selectors import account_for_channel
        from tidings.channels.services import account_create

        account_for_channel(workspace, "whatsapp") or account_create(
            workspace=workspace, actor=None, channel="whatsapp", name="Matrix WhatsApp")  # submit and sync need one
    path = route.path
    for kwarg in re.findall(r"{(\w+_id)}", path):
        assert kwarg in xws.OBJECT_FACTORIES, f"no object factory for {kwarg} (tests/support/cross_workspace.py)"
        path = path.replace(f"{{{kwarg}}}", str(xws.OBJECT_FACTORIES[kwarg](workspace).pk))
    method = route.method.lower()
    if method in {"get", "delete"}:
        return getattr(client, method)(path)
    key = (route.method, route.path)
    if key in SAMPLE_BODIES:
        body = SAMPLE_BODIES[key]
    elif key in xws.VALID_BODIES:
        body = xws.VALID_BODIES[key](workspace)
    else:
        body = xws.REQUEST_BODIES.get(key, {})
    return getattr(client, method)(path, body)


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_permission_matrix(route, role, workspace, make_member, api_client):
    client = api_client(make_member(workspace, role))
    response = _call(client, route, workspace, make_member)
    if expected_allowed(role, route.permission):
        assert response.status_code != 403, response.content
        assert response.status_code < 400, response.content  # the sample bodies are valid
    else:
        assert response.status_code == 403, response.content
        assert response.json()["message"].startswith("Your role may not")


@pytest.mark.parametrize("role, method, path, allowed", SEED_CELLS, ids=lambda v: str(v))
def test_hand_written_cells(role, method, path, allowed, workspace, make_member, api_client):
    route = next(r for r in ROUTES if (r.method, r.path) == (method, path))
    assert expected_allowed(role, route.permission) is allowed, "the route declares the wrong permission"
    response = _call(api_client(make_member(workspace, role)), route, workspace, make_member)
    assert (response.status_code != 403) is allowed


def test_forbidden_role_gets_403_before_its_body_is_validated(workspace, make_member, api_client):
    client = api_client(make_member(workspace, Role.MARKETER))
    response = client.post("/api/v1/members", {"email": 12, "role": "wizard"})
    assert response.status_code == 403
    assert response.json() == {
        "message": "Your role may not add members, change roles, deactivate.",
        "details": [],
    }


def test_forbidden_write_changes_nothing(workspace, make_member, api_client):
    client = api_client(make_member(workspace, Role.SUPERVISOR))
    assert client.patch("/api/v1/workspace", {"name": "Supervisor was here"}).status_code == 403
    workspace.refresh_from_db()
    assert workspace.name == "Acme Tea"
