"""Cross-workspace isolation, checked for every route that takes an object id.

Every route - a django-ninja API route or a Django (console) URL - whose path carries an object id kwarg named
``*_id`` is called by an Admin of workspace A with the id of an object that belongs to workspace B. It must
answer 404, and B's object must be unchanged. ``tests/test_cross_workspace.py`` runs this for every such route.

What is enumerated (``id_routes()``):

- every operation of ``tidings.api.api.api`` whose path has a ``{..._id}`` parameter, with each HTTP method it
  serves;
- every Django URL pattern (``get_resolver().url_patterns``, walked recursively) with an ``<int:..._id>`` kwarg
  (or a digits-only regex group named ``..._id``), except the API's own patterns, which the first list covers. A Django view
  is tried with GET and POST; a 405 means it does not serve that method, and it must serve at least one.

The object factory registry: for each kwarg name, a factory ``factory(workspace) -> model instance`` that
creates such an object in the given workspace. The test FAILS for any id-taking route whose kwarg has no
factory, so whoever adds a route with a new ``*_id`` kwarg registers its factory::

    # tests/<app>/cross_workspace_factories.py   (found and imported automatically, see load_factory_modules)
    from tests.support.cross_workspace import register_object_factory

    def make_conversation(workspace):
        return conversation_open(workspace=workspace, ...)

    register_object_factory("conversation_id", make_conversation)

Registering from any module that is imported before the test runs works too (e.g. at the top of a test module
or a conftest), but a ``cross_workspace_factories.py`` file anywhere under ``tests/`` is the dependable place:
``load_factory_modules()`` imports all of them, whichever tests are selected.

A route whose body must be valid before the id is looked up (a POST with required fields) can register the body
to send: ``register_request_body("POST", "/api/v1/conversations/{conversation_id}/messages", {"text": "hi"})``.

The API permission matrix (tests/api/test_permissions.py) fills ids from the same factories. A route whose body
must also *succeed* for an allowed role, and needs objects of that workspace to do so, registers a body factory:
``register_valid_body("POST", "/api/v1/contacts/{contact_id}/merge", lambda ws: {"merged_id": ...})``.
"""

import importlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver

ObjectFactory = Callable[[object], models.Model]

OBJECT_FACTORIES: dict[str, ObjectFactory] = {}
REQUEST_BODIES: dict[tuple[str, str], dict] = {}
VALID_BODIES: dict[tuple[str, str], Callable[[object], dict]] = {}
_seq = itertools.count(1)


def register_object_factory(kwarg: str, factory: ObjectFactory, *, replace: bool = False) -> ObjectFactory:
    """Register how to create an object for URL kwarg `kwarg` (e.g. "member_id") in a given workspace."""
    if not kwarg.endswith("_id"):
        raise ValueError(f"Object factories are keyed by *_id URL kwargs, not {kwarg!r}")
    existing = OBJECT_FACTORIES.get(kwarg)
    if existing is not None and existing is not factory and not replace:
        raise ValueError(f"{kwarg!r} already has an object factory ({existing.__module__}.{existing.__qualname__})")
    OBJECT_FACTORIES[kwarg] = factory
    return factory


def object_factory(kwarg: str):
    """Decorator form: ``@object_factory("store_id")``."""

    def register(func):
        return register_object_factory(kwarg, func)

    return register


def register_valid_body(method: str, route: str, factory: Callable[[object], dict]) -> None:
    """A body an allowed role's call succeeds with, built in the given workspace (for the permission matrix)."""
    VALID_BODIES[(method.upper(), route)] = factory


def register_request_body(method: str, route: str, body: dict) -> None:
    """The JSON body to send when calling API route `route` (as in the OpenAPI document) with `method`."""
    REQUEST_BODIES[(method.upper(), route)] = body


# --- the core objects ----------------------------------------------------------------------------------------


@object_factory("member_id")
def make_membership(workspace):
    from tidings.core.roles import Role
    from tidings.core.services import member_add

    n = next(_seq)
    return member_add(workspace=workspace, actor=None, email=f"xws-member-{n}@example.test", name=f"XWS {n}",
                      role=Role.CS_AGENT)


@object_factory("store_id")
def make_store(workspace):
    from tidings.core.services import store_create

    n = next(_seq)
    return store_create(workspace=workspace, actor=None, name=f"XWS store {n}", code=f"XWS{n}")


@object_factory("token_id")
def make_token(workspace):
    from tidings.core.services import api_token_create

    token, _raw = api_token_create(workspace=workspace, actor=None, membership=make_membership(workspace),
                                   name="cross-workspace probe")
    return token


# --- discovering routes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdRoute:
    source: str  # "api" or "django"
    route: str  # "/api/v1/members/{member_id}" or "/members/<int:member_id>/role"
    methods: tuple[str, ...]
    id_kwargs: tuple[str, ...]
    name: str = ""
    other_kwargs: tuple[str, ...] = field(default=())

    def __str__(self):
        return f"{self.source} {'|'.join(self.methods)} {self.route}"


_API_PARAM = re.compile(r"\{(?:(\w+):)?(\w+)\}")
_ROUTE_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>([^)]*)\)")
# Object ids in URLs are integers; a UUID such as a channel account's public id in provider-facing URLs (webhooks,
# sandbox fakes) is a credential-checked address, not a workspace-scoped object id, so it is not walked here.
_INT_GROUP = {r"\d+", r"[0-9]+"}


def api_id_routes() -> list[IdRoute]:
    from tidings.api.permissions import api_routes

    by_path: dict[str, list[str]] = {}
    for route in api_routes():
        by_path.setdefault(route.path, []).append(route.method)
    out = []
    for path, methods in sorted(by_path.items()):
        names = [name for _conv, name in _API_PARAM.findall(path)]
        ids = tuple(n for n in names if n.endswith("_id"))
        if ids:
            others = tuple(n for n in names if n not in ids)
            out.append(IdRoute("api", path, tuple(sorted(methods)), ids, other_kwargs=others))
    return out


def _api_namespace() -> str:
    from tidings.api.api import api

    return api.urls_namespace


def django_id_routes() -> list[IdRoute]:
    skip = _api_namespace()
    out = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == skip:
                    continue  # the API's own URL patterns: covered, with their methods, by api_id_routes()
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                ids, others = [], []
                for conv, name in _ROUTE_PARAM.findall(route):
                    (ids if name.endswith("_id") and conv == "int" else others).append(name)
                for name, group in _REGEX_GROUP.findall(route):
                    (ids if name.endswith("_id") and group in _INT_GROUP else others).append(name)
                if ids:
                    out.append(IdRoute("django", "/" + route.lstrip("^").rstrip("$").lstrip("/"), ("GET", "POST"),
                                       tuple(ids), name=pattern.name or "", other_kwargs=tuple(others)))

    walk(get_resolver().url_patterns, "")
    return out


def id_routes() -> list[IdRoute]:
    return api_id_routes() + django_id_routes()


def missing_factories(routes: list[IdRoute] | None = None) -> dict[str, list[str]]:
    """kwarg -> the routes that need it, for every id kwarg with no registered factory."""
    missing: dict[str, list[str]] = {}
    for route in routes if routes is not None else id_routes():
        for kwarg in route.id_kwargs:
            if kwarg not in OBJECT_FACTORIES:
                missing.setdefault(kwarg, []).append(str(route))
    return missing


def build_path(route: IdRoute, ids: dict[str, int]) -> str:
    if route.other_kwargs:
        raise AssertionError(f"{route} also takes {route.other_kwargs}; teach tests/support/cross_workspace.py "
                             "how to fill them")
    if route.source == "api":
        return _API_PARAM.sub(lambda m: str(ids[m.group(2)]), route.route)
    path = _ROUTE_PARAM.sub(lambda m: str(ids[m.group(2)]), route.route)
    return _REGEX_GROUP.sub(lambda m: str(ids[m.group(1)]), path)


def snapshot(obj: models.Model) -> dict | None:
    """The object's row as stored now (None if it is gone)."""
    return type(obj)._default_manager.filter(pk=obj.pk).values().first()


def load_factory_modules(root: Path | None = None) -> list[str]:
    """Import every ``cross_workspace_factories.py`` under tests/, so their registrations are in place."""
    root = root or Path(__file__).resolve().parents[1]
    loaded = []
    for file in sorted(root.rglob("cross_workspace_factories.py")):
        module = ".".join(("tests", *file.relative_to(root).with_suffix("").parts))
        importlib.import_module(module)
        loaded.append(module)
    return loaded
