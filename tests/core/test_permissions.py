from pathlib import Path

import pytest

from tidings.core.modules import Module
from tidings.core.permissions import MATRIX, MODULE_OF, Permission, permission_allowed, render_permissions_markdown
from tidings.core.roles import Role
from tidings.core.selectors import member_can

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_permissions_doc_matches_the_matrix_in_code():
    assert DOC.read_text(encoding="utf-8") == render_permissions_markdown(), (
        "docs/permissions.md is out of date: run `tidings permissions_doc`"
    )


def test_every_permission_has_a_row():
    assert set(MATRIX) == set(Permission)


@pytest.mark.parametrize(
    "role, permission, allowed",
    [
        # Cells the seeds fix.
        (Role.MARKETER, Permission.ATTRIBUTES_EDIT, True),
        (Role.MARKETER, Permission.CONTACTS_IMPORT, True),
        (Role.CS_MANAGER, Permission.CONTACTS_IMPORT, True),
        (Role.CS_AGENT, Permission.CONTACTS_IMPORT, False),
        (Role.SALES_PERSON, Permission.ORDERS_EXPORT, True),
        (Role.CS_MANAGER, Permission.CONVERSATIONS_EXPORT, True),
        (Role.SALES_MANAGER, Permission.CONVERSATIONS_EXPORT, True),
        (Role.CS_AGENT, Permission.CONVERSATIONS_EXPORT, False),
        (Role.CS_AGENT, Permission.WHATSAPP_CONVERSATION_START, True),
        (Role.SALES_PERSON, Permission.WHATSAPP_CONVERSATION_START, False),
        (Role.MARKETER, Permission.WHATSAPP_CONVERSATION_START, False),
        (Role.SALES_MANAGER, Permission.OMO_TEAM_LIST, True),
        (Role.SALES_PERSON, Permission.OMO_TEAM_LIST, False),
        # The original product's role table.
        (Role.SUPERVISOR, Permission.MEMBERS_MANAGE, False),
        (Role.MARKETER, Permission.CONVERSATIONS_VIEW, False),
    ],
)
def test_cells_fixed_by_the_seeds(role, permission, allowed):
    assert permission_allowed(role=role, enabled_modules=[m.value for m in Module], permission=permission) is allowed


def test_a_module_switched_off_denies_its_permissions_to_everyone():
    for permission, module in MODULE_OF.items():
        others = [m.value for m in Module if m != module]
        assert not any(permission_allowed(role=r, enabled_modules=others, permission=permission) for r in Role)


def test_inactive_membership_may_do_nothing(workspace, make_member):
    from tidings.core.services import member_set_active

    admin = make_member(workspace, Role.ADMIN)
    agent = make_member(workspace, Role.CS_AGENT)
    assert member_can(agent, Permission.OVERVIEW_VIEW)
    member_set_active(workspace=workspace, actor=admin.user, membership=agent, active=False)
    agent.refresh_from_db()
    assert not member_can(agent, Permission.OVERVIEW_VIEW)
