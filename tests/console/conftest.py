"""Console fixtures: one member of each role in the same workspace, and objects of another workspace."""

import pytest

from tidings.core.roles import Role
from tidings.core.services import api_token_create, store_create
from tidings.timers.registry import timer_handler


@timer_handler("console_test.noop")
def _noop_timer(timer):
    """A timer kind the console tests can schedule; firing does nothing."""


@pytest.fixture
def team(workspace, make_member):
    """One membership per role in `workspace`, keyed by role."""
    return {role: make_member(workspace, role) for role in Role}


@pytest.fixture
def foreign_objects(other_workspace, make_member):
    """A member, a store, a token and a channel account that belong to `other_workspace`, keyed by URL kwarg."""
    member = make_member(other_workspace, Role.ADMIN)
    store = store_create(workspace=other_workspace, actor=None, name="Rival store", code="RV1")
    token, _raw = api_token_create(workspace=other_workspace, actor=None, membership=member, name="rival")
    from tidings.channels.services import account_create

    account = account_create(workspace=other_workspace, actor=None, channel="line", name="Rival LINE")
    from tests.message_templates.cross_workspace_factories import make_whatsapp_template

    return {"member_id": member.pk, "store_id": store.pk, "token_id": token.pk, "account_id": account.pk,
            "whatsapp_template_id": make_whatsapp_template(other_workspace).pk}
