"""Console fixtures: one member of each role in the same workspace (cross-workspace routes: tests/test_cross_workspace.py)."""

import pytest

from tidings.core.roles import Role
from tidings.timers.registry import timer_handler


@timer_handler("console_test.noop")
def _noop_timer(timer):
    """A timer kind the console tests can schedule; firing does nothing."""


@pytest.fixture
def team(workspace, make_member):
    """One membership per role in `workspace`, keyed by role."""
    return {role: make_member(workspace, role) for role in Role}
