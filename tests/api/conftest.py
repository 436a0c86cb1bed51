import pytest

from tidings.core.roles import Role


@pytest.fixture
def admin_api(workspace, make_member, api_client):
    """An API client for an Admin of `workspace`."""
    return api_client(make_member(workspace, Role.ADMIN))


@pytest.fixture
def role_api(workspace, make_member, api_client):
    """role_api(role) -> (membership, client) for a fresh member of that role in `workspace`."""

    def make(role):
        membership = make_member(workspace, role)
        return membership, api_client(membership)

    return make
