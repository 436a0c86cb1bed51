"""Every console page against every role, table-driven from the permission matrix."""

import pytest
from django.urls import reverse

from tidings.core.permissions import MATRIX, Permission
from tidings.core.roles import Role
from tidings.console.navigation import PLANNED

# (url name, kwargs, permission that guards it). Pages whose URL takes an id get it from `own_ids`.
PAGES = [
    ("console:home", {}, Permission.OVERVIEW_VIEW),
    ("console:workspace_settings", {}, Permission.WORKSPACE_MANAGE),
    ("console:members", {}, Permission.MEMBERS_VIEW),
    ("console:member_add", {}, Permission.MEMBERS_MANAGE),
    ("console:member_edit", {"member_id": None}, Permission.MEMBERS_MANAGE),
    ("console:stores", {}, Permission.STORES_MANAGE),
    ("console:store_add", {}, Permission.STORES_MANAGE),
    ("console:store_edit", {"store_id": None}, Permission.STORES_MANAGE),
    ("console:tokens", {}, Permission.TOKENS_MANAGE),
    ("console:token_add", {}, Permission.TOKENS_MANAGE),
    ("console:timers", {}, Permission.TIMERS_VIEW),
    ("console:audit", {}, Permission.AUDIT_VIEW),
] + [("console:coming_soon", {"slug": slug}, item.permission) for slug, item in PLANNED.items()]

CASES = [
    pytest.param(name, kwargs, permission, role, id=f"{name.split(':')[1]}{'-' + kwargs['slug'] if 'slug' in kwargs else ''}-{role.value}")
    for name, kwargs, permission in PAGES
    for role in Role
]


@pytest.fixture
def own_ids(workspace, team):
    from tidings.core.services import api_token_create

    admin = team[Role.ADMIN]
    token, _ = api_token_create(workspace=workspace, actor=None, membership=admin, name="t")
    return {"member_id": team[Role.CS_AGENT].pk, "store_id": workspace.stores.first().pk, "token_id": token.pk}


def _url(name, kwargs, ids):
    return reverse(name, kwargs={k: (ids[k] if v is None else v) for k, v in kwargs.items()})


@pytest.mark.parametrize("name, kwargs, permission, role", CASES)
def test_page_follows_the_permission_matrix(name, kwargs, permission, role, team, own_ids, console_client):
    response = console_client(team[role]).get(_url(name, kwargs, own_ids))
    expected = 200 if role in MATRIX[permission] else 403
    assert response.status_code == expected, response.content[:400]


@pytest.mark.parametrize("name, kwargs, permission", [pytest.param(*p, id=p[0]) for p in PAGES])
def test_anonymous_is_sent_to_login(name, kwargs, permission, client, own_ids):
    response = client.get(_url(name, kwargs, own_ids))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


# Hand-written cells from the seeds and the original product's role table, so the table above cannot drift
# together with the matrix unnoticed.
@pytest.mark.parametrize("role, url, expected", [
    (Role.MARKETER, "/members/add", 403),          # marketers do not manage members
    (Role.MARKETER, "/members/", 200),             # ...but every role reads the member list
    (Role.CS_AGENT, "/stores/", 403),              # store management is Admin only
    (Role.SUPERVISOR, "/audit/", 200),
    (Role.CS_MANAGER, "/audit/", 403),
    (Role.SALES_PERSON, "/settings/workspace", 403),
    (Role.ADMIN, "/tokens/", 200),
    (Role.SALES_MANAGER, "/soon/team-list", 200),   # seed 001: sales managers see the team list
    (Role.SALES_PERSON, "/soon/team-list", 403),
    (Role.MARKETER, "/inbox/", 403),               # every role but Marketer has the inbox
    (Role.CS_AGENT, "/timers/", 403),
])
def test_seeded_cells(role, url, expected, team, console_client):
    assert console_client(team[role]).get(url).status_code == expected


def test_unknown_coming_soon_slug_is_404(team, console_client):
    response = console_client(team[Role.ADMIN]).get("/soon/no-such-module")
    assert response.status_code == 404
    assert "console/404.html" in [t.name for t in response.templates]


def test_forbidden_page_is_inside_the_layout(team, console_client):
    response = console_client(team[Role.CS_AGENT]).get("/stores/")
    assert response.status_code == 403
    assert b'id="sidebar"' in response.content


def test_deactivated_member_has_no_workspace(workspace, team, console_client):
    from tidings.core.services import member_set_active

    agent = team[Role.CS_AGENT]
    client = console_client(agent)
    member_set_active(workspace=workspace, actor=None, membership=agent, active=False)
    assert client.get("/").status_code == 200
    assert "console/no_workspace.html" in [t.name for t in client.get("/").templates]
    assert client.get("/members/").status_code == 403
