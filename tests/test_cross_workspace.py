"""No route hands out, or changes, another workspace's object (DESIGN mechanism 1).

Routes and object factories come from tests/support/cross_workspace.py (see its docstring to register a
factory for a new ``*_id`` kwarg).
"""

import pytest

from tests.support import cross_workspace as xws
from tidings.core.roles import Role

xws.load_factory_modules()
API_ROUTES = xws.api_id_routes()
DJANGO_ROUTES = xws.django_id_routes()


def test_every_id_route_has_an_object_factory():
    missing = xws.missing_factories(API_ROUTES + DJANGO_ROUTES)
    assert not missing, (
        "Routes take object ids that tests/support/cross_workspace.py cannot create in another workspace; "
        f"register a factory (register_object_factory) for: {missing}"
    )


def test_the_walk_finds_api_and_console_routes():
    api_paths = {r.route for r in API_ROUTES}
    assert {"/api/v1/members/{member_id}", "/api/v1/stores/{store_id}"} <= api_paths
    # The console's Django URLs are walked too (whatever id routes it has today).
    assert all(r.route.startswith("/") and not r.route.startswith("/api/v1/") for r in DJANGO_ROUTES)


def _foreign_objects(route, other_workspace):
    objects = {kwarg: xws.OBJECT_FACTORIES[kwarg](other_workspace) for kwarg in route.id_kwargs}
    return objects, {kwarg: obj.pk for kwarg, obj in objects.items()}


@pytest.mark.parametrize("route", API_ROUTES, ids=str)
def test_api_route_answers_404_for_another_workspaces_object(route, workspace, other_workspace, make_member,
                                                             api_client):
    missing = [k for k in route.id_kwargs if k not in xws.OBJECT_FACTORIES]
    if missing:
        pytest.fail(f"no object factory for {missing} (see tests/support/cross_workspace.py)")
    client = api_client(make_member(workspace, Role.ADMIN))
    objects, ids = _foreign_objects(route, other_workspace)
    before = {k: xws.snapshot(o) for k, o in objects.items()}
    path = xws.build_path(route, ids)
    for method in route.methods:
        if method in {"GET", "DELETE"}:
            response = getattr(client, method.lower())(path)
        else:
            response = getattr(client, method.lower())(path, xws.REQUEST_BODIES.get((method, route.route), {}))
        assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.content[:300]!r}"
        assert response.json()["message"]
    assert {k: xws.snapshot(o) for k, o in objects.items()} == before, f"{route} changed another workspace's object"


@pytest.mark.parametrize("route", DJANGO_ROUTES, ids=str)
def test_django_route_answers_404_for_another_workspaces_object(route, workspace, other_workspace, make_member,
                                                                console_client):
    missing = [k for k in route.id_kwargs if k not in xws.OBJECT_FACTORIES]
    if missing:
        pytest.fail(f"no object factory for {missing} (see tests/support/cross_workspace.py)")
    client = console_client(make_member(workspace, Role.ADMIN))
    objects, ids = _foreign_objects(route, other_workspace)
    before = {k: xws.snapshot(o) for k, o in objects.items()}
    path = xws.build_path(route, ids)
    served = []
    for method in route.methods:
        response = getattr(client, method.lower())(path)
        if response.status_code == 405:
            continue
        served.append(method)
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
    assert served, f"{route} answered 405 to both GET and POST"
    assert {k: xws.snapshot(o) for k, o in objects.items()} == before, f"{route} changed another workspace's object"


def test_a_route_without_a_factory_is_reported(monkeypatch):
    route = xws.IdRoute("api", "/api/v1/widgets/{widget_id}", ("GET",), ("widget_id",))
    assert xws.missing_factories([route]) == {"widget_id": [str(route)]}
    monkeypatch.setitem(xws.OBJECT_FACTORIES, "widget_id", lambda ws: None)
    assert xws.missing_factories([route]) == {}
