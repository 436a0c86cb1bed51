"""Saved replies pages (SPEC I5): the list each member may use, search and category, writing personal and (for
managers) team-wide replies, and refusals shown on the form."""

import pytest
from django.urls import reverse

from tidings.core.roles import Role
from tidings.inbox.models import SavedReply
from tidings.inbox.saved_replies import saved_reply_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(workspace, make_member):
    return make_member(workspace, Role.CS_MANAGER, name="Chloe")


@pytest.fixture
def agent(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Kai")


def test_list_shows_own_and_team_replies_with_their_scope(console_client, agent, manager, make_member, workspace):
    saved_reply_create(membership=manager, title="Opening hours", text="Hi {name}, we open at 11.", team_wide=True,
                       category="Store")
    saved_reply_create(membership=agent, title="My sign-off", text="Cheers, {agent}")
    saved_reply_create(membership=make_member(workspace, Role.CS_AGENT), title="Not yours", text="x")
    page = console_client(agent).get(reverse("console:saved_replies")).content.decode()
    assert "Opening hours" in page and "My sign-off" in page and "Not yours" not in page
    assert 'data-scope="team"' in page and 'data-scope="mine"' in page
    assert '<span class="var">{name}</span>' in page
    # An agent may not change the team's reply: no edit link for it.
    team = SavedReply.objects.get(title="Opening hours")
    assert reverse("console:saved_reply_edit", kwargs={"saved_reply_id": team.pk}) not in page


def test_search_and_category_filter(console_client, agent, manager):
    saved_reply_create(membership=manager, title="Opening hours", text="11–21", category="Store", team_wide=True)
    saved_reply_create(membership=manager, title="Delivery", text="Free over HK$200", category="Orders",
                       team_wide=True)
    client = console_client(agent)
    page = client.get(reverse("console:saved_replies"), {"q": "hk$200"}).content.decode()
    assert "Delivery" in page and "Opening hours" not in page
    page = client.get(reverse("console:saved_replies"), {"category": "Store"}).content.decode()
    assert "Opening hours" in page and "Delivery" not in page
    page = client.get(reverse("console:saved_replies"), {"q": "nothing like this"}).content.decode()
    assert "No saved reply matches" in page


def test_an_agent_adds_a_personal_reply_without_a_scope_choice(console_client, agent):
    client = console_client(agent)
    form = client.get(reverse("console:saved_reply_add")).content.decode()
    assert 'name="team_wide"' not in form and "data-personal-note" in form
    response = client.post(reverse("console:saved_reply_add"), {
        "title": "Thanks", "category": "General", "text": "Thank you {name}!", "team_wide": "team"})
    assert response.status_code == 302
    reply = SavedReply.objects.get(title="Thanks")
    assert reply.owner == agent  # a forged scope is ignored: agents have no choice to make


def test_a_manager_adds_a_team_reply(console_client, manager):
    response = console_client(manager).post(reverse("console:saved_reply_add"), {
        "title": "Refunds", "text": "Refunds take 3 working days.", "team_wide": "team"})
    assert response.status_code == 302
    assert SavedReply.objects.get(title="Refunds").owner is None


def test_an_unknown_variable_is_shown_on_the_text_field(console_client, agent):
    response = console_client(agent).post(reverse("console:saved_reply_add"), {
        "title": "Order", "text": "Your order {order_id} is ready, {name}."})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Unknown variable {order_id}" in page and 'id="id_text-error"' in page
    assert not SavedReply.objects.exists()


def test_edit_and_delete_own_reply(console_client, agent):
    reply = saved_reply_create(membership=agent, title="Hi", text="Hello")
    client = console_client(agent)
    response = client.post(reverse("console:saved_reply_edit", kwargs={"saved_reply_id": reply.pk}),
                           {"title": "Hi there", "text": "Hello {name}"})
    assert response.status_code == 302
    reply.refresh_from_db()
    assert (reply.title, reply.text, reply.owner) == ("Hi there", "Hello {name}", agent)
    response = client.post(reverse("console:saved_reply_delete", kwargs={"saved_reply_id": reply.pk}))
    assert response.status_code == 302 and not SavedReply.objects.exists()


def test_someone_elses_reply_is_404_and_the_teams_is_403_for_an_agent(console_client, agent, manager):
    personal = saved_reply_create(membership=manager, title="Mine", text="x")
    team = saved_reply_create(membership=manager, title="Team", text="x", team_wide=True)
    client = console_client(agent)
    assert client.get(reverse("console:saved_reply_edit", kwargs={"saved_reply_id": personal.pk})).status_code == 404
    assert client.get(reverse("console:saved_reply_edit", kwargs={"saved_reply_id": team.pk})).status_code == 403
    assert client.post(reverse("console:saved_reply_delete", kwargs={"saved_reply_id": team.pk})).status_code == 403
    assert SavedReply.objects.count() == 2


def test_a_marketer_has_no_saved_replies_page(console_client, workspace, make_member):
    client = console_client(make_member(workspace, Role.MARKETER))
    assert client.get(reverse("console:saved_replies")).status_code == 403
