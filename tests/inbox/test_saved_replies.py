"""Saved replies (SPEC I5): personal and team-wide, who may write which, what each member sees and finds, and the
variables filled for a conversation's customer."""

import itertools

import pytest

from tidings.channels.services import account_create
from tidings.contacts.services import identity_upsert
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import AuditEntry
from tidings.core.roles import Role
from tidings.inbox.models import SavedReply
from tidings.inbox.saved_replies import (
    saved_replies_for,
    saved_reply_categories,
    saved_reply_create,
    saved_reply_delete,
    saved_reply_fill,
    saved_reply_get,
    saved_reply_update,
)
from tidings.inbox.services import conversation_ensure

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


@pytest.fixture
def manager(workspace, make_member):
    return make_member(workspace, Role.CS_MANAGER, name="Chloe")


@pytest.fixture
def agent(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Kai")


def conversation_with(workspace, *, display_name="", name=None, phone="", channel="line"):
    account = account_create(workspace=workspace, actor=None, channel=channel, name=f"Acme {next(_ids)}")
    identity, _created = identity_upsert(workspace=workspace, account=account, external_id=f"U{next(_ids):032x}",
                                         display_name=display_name)
    contact = identity.contact
    if name is not None or phone:
        contact.name = contact.name if name is None else name
        contact.phone = phone or contact.phone
        contact.save()
    conversation, _created = conversation_ensure(identity=identity)
    return conversation


def test_each_member_sees_their_own_and_the_teams_replies_only(workspace, manager, agent, make_member):
    other_agent = make_member(workspace, Role.CS_AGENT)
    team = saved_reply_create(membership=manager, title="Opening hours", text="We open 11:00–21:00.",
                              team_wide=True)
    mine = saved_reply_create(membership=agent, title="My sign-off", text="Thanks, {agent}")
    theirs = saved_reply_create(membership=other_agent, title="Their sign-off", text="Cheers")
    managers_own = saved_reply_create(membership=manager, title="Manager's note", text="Personal")

    assert set(saved_replies_for(agent)) == {team, mine}
    assert set(saved_replies_for(other_agent)) == {team, theirs}
    # Nobody reads another member's personal replies, whatever their role.
    assert set(saved_replies_for(manager)) == {team, managers_own}
    assert saved_reply_get(agent, theirs.pk) is None
    assert saved_reply_get(agent, team.pk) == team


def test_only_managers_write_team_wide_replies(agent, manager):
    with pytest.raises(ServiceError) as refused:
        saved_reply_create(membership=agent, title="Hours", text="11–21", team_wide=True)
    assert refused.value.code == "forbidden"
    assert not SavedReply.objects.exists()
    team = saved_reply_create(membership=manager, title="Hours", text="11–21", team_wide=True)
    assert team.owner is None
    with pytest.raises(ServiceError):
        saved_reply_update(membership=agent, reply=team, title="Hours", text="changed")
    with pytest.raises(ServiceError):
        saved_reply_delete(membership=agent, reply=team)
    team.refresh_from_db()
    assert team.text == "11–21"
    assert AuditEntry.objects.filter(action="saved_reply.create", target_id=str(team.pk)).exists()


def test_a_marketer_without_the_inbox_has_no_saved_replies(workspace, make_member):
    with pytest.raises(ServiceError):
        saved_reply_create(membership=make_member(workspace, Role.MARKETER), title="Hi", text="Hello")


def test_someone_elses_personal_reply_cannot_be_edited_or_deleted(agent, manager):
    mine = saved_reply_create(membership=agent, title="Mine", text="Hello")
    with pytest.raises(NotFound):
        saved_reply_update(membership=manager, reply=mine, title="Taken", text="Hello")
    with pytest.raises(NotFound):
        saved_reply_delete(membership=manager, reply=mine)
    assert SavedReply.objects.get(pk=mine.pk).title == "Mine"


def test_a_manager_shares_a_personal_reply_with_the_team_and_an_agent_cannot(agent, manager):
    draft = saved_reply_create(membership=manager, title="Refunds", text="Refunds take 3 days.")
    shared = saved_reply_update(membership=manager, reply=draft, title="Refunds", text="Refunds take 3 days.",
                                category="Orders", team_wide=True)
    assert shared.owner is None and shared.category == "Orders"
    assert shared in saved_replies_for(agent)
    own = saved_reply_create(membership=agent, title="Mine", text="x")
    with pytest.raises(ServiceError):
        saved_reply_update(membership=agent, reply=own, title="Mine", text="x", team_wide=True)
    assert SavedReply.objects.get(pk=own.pk).owner == agent


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"title": " ", "text": "x"}, "title", "title"),
    ({"title": "x" * 101, "text": "x"}, "title", "100"),
    ({"title": "Hi", "text": ""}, "text", "text"),
    ({"title": "Hi", "text": "Hi {nmae} and {order_id}, {name}"}, "text", "{nmae}, {order_id}"),
    ({"title": "Hi", "text": "Hi", "image_url": "http://example.com/a.png"}, "image_url", "https://"),
    ({"title": "Hi", "text": "Hi", "category": "c" * 61}, "category", "60"),
])
def test_bad_input_is_refused_naming_the_problem(agent, fields, field, words):
    with pytest.raises(ServiceError) as refused:
        saved_reply_create(membership=agent, **fields)
    assert refused.value.field == field
    assert words in str(refused.value.message)
    assert not SavedReply.objects.exists()


def test_unknown_variables_error_lists_the_known_ones(agent):
    with pytest.raises(ServiceError) as refused:
        saved_reply_create(membership=agent, title="Hi", text="Dear {Name}")
    assert "{Name}" in refused.value.message and "{name}" in refused.value.message


def test_search_by_title_text_or_category_and_filter_by_category(agent, manager):
    hours = saved_reply_create(membership=manager, title="Opening hours", text="11:00–21:00", category="Store",
                               team_wide=True)
    delivery = saved_reply_create(membership=manager, title="Delivery", text="Free delivery over HK$200",
                                  category="Orders", team_wide=True)
    greeting = saved_reply_create(membership=agent, title="問候", text="{name} 你好！")
    assert list(saved_replies_for(agent, q="hours")) == [hours]
    assert list(saved_replies_for(agent, q="hk$200")) == [delivery]
    assert list(saved_replies_for(agent, q="你好")) == [greeting]
    assert list(saved_replies_for(agent, q="free over")) == [delivery]  # every word, anywhere
    assert list(saved_replies_for(agent, q="orders")) == [delivery]
    assert list(saved_replies_for(agent, category="Store")) == [hours]
    assert list(saved_replies_for(agent, category="-")) == [greeting]
    assert saved_reply_categories(agent) == ["Orders", "Store"]


def test_fill_uses_the_customer_and_the_member(workspace, agent):
    reply = saved_reply_create(membership=agent, title="Hi",
                               text="Hi {name} ({phone}), this is {agent} from {brand}.",
                               image_url="https://cdn.example/menu.png")
    conversation = conversation_with(workspace, display_name="Mei LINE", name="陳美玲", phone="+85261234567")
    filled = saved_reply_fill(reply, conversation, agent)
    assert filled == {"text": "Hi 陳美玲 (+85261234567), this is Kai from Acme Tea.",
                      "image_url": "https://cdn.example/menu.png"}


def test_name_falls_back_to_the_channel_display_name_and_missing_values_are_empty(workspace, agent):
    reply = saved_reply_create(membership=agent, title="Hi", text="Hi {name}, email {email}.")
    conversation = conversation_with(workspace, display_name="Mei on LINE", name="")
    assert saved_reply_fill(reply, conversation, agent)["text"] == "Hi Mei on LINE, email ."


def test_braces_that_are_not_variables_stay_as_written(workspace, agent):
    reply = saved_reply_create(membership=agent, title="Code", text="Use code {TEA10 } or { name } — {name}!")
    conversation = conversation_with(workspace, display_name="Amy")
    assert saved_reply_fill(reply, conversation, agent)["text"] == "Use code {TEA10 } or { name } — Amy!"
