"""The keyword rule pages: who may open which tab and rule, creating rules through the form, inline refusals,
search, on/off and delete, and the trigger count on the list and on the rule's condition page."""

import pytest
from django.urls import reverse

from tidings.console.navigation import visible_items
from tidings.core.permissions import MATRIX, Permission
from tidings.core.roles import Role
from tidings.inbox.keyword_rules import keyword_rule_create
from tidings.inbox.models import KeywordRule, KeywordTrigger
from tidings.messaging.models import Message

pytestmark = pytest.mark.django_db

REPLY_LIST = reverse("console:keyword_rules")
ASSIGN_LIST = reverse("console:keyword_rules_assign")
REPLY_ADD = reverse("console:keyword_rule_add")
ASSIGN_ADD = reverse("console:keyword_rule_add_assign")


def rule_url(rule, name="console:keyword_rule"):
    return reverse(name, kwargs={"keyword_rule_id": rule.pk})


def reply_form(**overrides):
    data = {"name": "Opening hours", "is_active": "on", "match_type": "any", "keywords": "hours\n營業時間",
            "channels": ["line"], "reply_type": "text", "reply_text": "We open 10:00-22:00.", "reply_image_url": "",
            "tags": "asked-hours， vip"}
    data.update(overrides)
    return data


def assign_form(**overrides):
    data = {"name": "Refunds", "is_active": "on", "match_type": "any", "keywords": "refund", "assign_target": "role",
            "assign_member": "", "assign_role": Role.CS_AGENT, "assign_order": "in_turn", "tags": ""}
    data.update(overrides)
    return data


@pytest.fixture
def rules(workspace):
    reply = keyword_rule_create(workspace=workspace, kind="reply", data={
        "name": "Opening hours", "keywords": ["hours"], "reply_contents": [{"type": "text", "text": "10-22"}]})
    assign = keyword_rule_create(workspace=workspace, kind="assign", data={
        "name": "Refunds", "keywords": ["refund"], "assign_role": Role.CS_AGENT})
    return reply, assign


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_tab_and_rule_follows_its_kinds_permission(role, team, rules, console_client):
    client = console_client(team[role])
    reply, assign = rules
    may_reply = role in MATRIX[Permission.KEYWORD_REPLY_MANAGE]
    may_assign = role in MATRIX[Permission.KEYWORD_ASSIGN_MANAGE]
    for url, allowed in ((REPLY_LIST, may_reply), (REPLY_ADD, may_reply), (rule_url(reply), may_reply),
                         (ASSIGN_LIST, may_assign), (ASSIGN_ADD, may_assign), (rule_url(assign), may_assign)):
        assert client.get(url).status_code == (200 if allowed else 403), url
    assert client.post(rule_url(assign, "console:keyword_rule_delete")).status_code == (302 if may_assign else 403)
    in_nav = any(item.key == "keyword-rules" for item in visible_items(team[role]))
    assert in_nav == (may_reply or may_assign)


def test_a_marketer_sees_only_the_auto_reply_tab(team, rules, console_client):
    page = console_client(team[Role.MARKETER]).get(REPLY_LIST).content.decode()
    assert 'data-tab="reply"' in page and 'data-tab="assign"' not in page
    page = console_client(team[Role.CS_MANAGER]).get(REPLY_LIST).content.decode()
    assert 'data-tab="reply"' in page and 'data-tab="assign"' in page


def test_create_an_auto_reply_rule_through_the_form(workspace, team, console_client):
    client = console_client(team[Role.CS_MANAGER])
    assert "No auto-reply rules yet" in client.get(REPLY_LIST).content.decode()
    response = client.post(REPLY_ADD, reply_form())
    assert response.status_code == 302 and response["Location"] == REPLY_LIST
    rule = KeywordRule.objects.get()
    assert (rule.kind, rule.keywords, rule.channels, rule.tags) == ("reply", ["hours", "營業時間"], ["line"],
                                                                    ["asked-hours", "vip"])
    assert rule.reply_contents == [{"type": "text", "text": "We open 10:00-22:00."}]
    page = client.get(REPLY_LIST).content.decode()
    assert f'data-rule="{rule.pk}"' in page and "We open 10:00-22:00." in page


def test_create_auto_assign_rules_to_a_member_or_a_team(workspace, team, console_client):
    client = console_client(team[Role.CS_MANAGER])
    agent = team[Role.CS_AGENT]
    page = client.get(ASSIGN_ADD).content.decode()
    assert f'<option value="{agent.pk}">' in page
    assert f'<option value="{team[Role.MARKETER].pk}">' not in page  # marketers have no inbox
    assert client.post(ASSIGN_ADD, assign_form()).status_code == 302
    assert client.post(ASSIGN_ADD, assign_form(name="VIP", assign_target="member", assign_member=agent.pk,
                                               assign_role=Role.SALES_PERSON)).status_code == 302
    team_rule, member_rule = KeywordRule.objects.order_by("id")
    assert (team_rule.kind, team_rule.assign_role, team_rule.assign_member) == ("assign", Role.CS_AGENT, None)
    assert (member_rule.assign_member, member_rule.assign_role) == (agent, "")


@pytest.mark.parametrize("form, field, message", [
    (reply_form(match_type="exact"), "keywords", "takes one keyword"),
    (reply_form(keywords=""), "keywords", "at least one keyword"),
    (reply_form(reply_type="image", reply_image_url="http://example.test/a.png"), "reply_image_url", "https://"),
    (reply_form(reply_text=""), "reply_text", "Write the reply"),
    (reply_form(reply_type="none", tags=""), "reply_type", "tags to add"),
], ids=["exact-two", "no-keyword", "http-image", "empty-text", "nothing-at-all"])
def test_refusals_show_on_their_field(form, field, message, team, console_client):
    response = console_client(team[Role.CS_MANAGER]).post(REPLY_ADD, form)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in errors[field][0], errors
    assert not KeywordRule.objects.exists()


def test_an_assign_rule_needs_its_target(team, console_client):
    client = console_client(team[Role.CS_MANAGER])
    response = client.post(ASSIGN_ADD, assign_form(assign_role=""))
    assert "assign_role" in response.context["form"].errors
    response = client.post(ASSIGN_ADD, assign_form(assign_target="member"))
    assert "assign_member" in response.context["form"].errors


def test_search_by_name_or_keyword(workspace, team, console_client):
    for name, word in (("Opening hours", "hours"), ("Shipping", "運費")):
        keyword_rule_create(workspace=workspace, kind="reply", data={
            "name": name, "keywords": [word], "reply_contents": [{"type": "text", "text": "…"}]})
    client = console_client(team[Role.CS_MANAGER])
    page = client.get(REPLY_LIST, {"q": "運費"}).content.decode()
    assert "Shipping" in page and "Opening hours" not in page
    page = client.get(REPLY_LIST, {"q": "OPENING"}).content.decode()
    assert "Opening hours" in page and "Shipping" not in page
    assert "No rule matches" in client.get(REPLY_LIST, {"q": "nothing"}).content.decode()


def _fire(rule, channel, times):
    from tidings.channels.services import account_create
    from tidings.contacts.models import Contact

    account = account_create(workspace=rule.workspace, actor=None, channel=channel, name=channel)
    contact = Contact.objects.create(workspace=rule.workspace, name="Mei")
    for _ in range(times):
        message = Message.objects.create(workspace=rule.workspace, contact=contact, account=account, channel=channel,
                                         direction="in", content={"type": "text", "text": "hours"})
        KeywordTrigger.objects.create(workspace=rule.workspace, rule=rule, message=message, channel=channel,
                                      account=account)
    return account


def test_the_count_shows_on_the_list_and_the_condition_page(team, rules, console_client):
    reply, _assign = rules
    _fire(reply, "line", 3)
    whatsapp = _fire(reply, "whatsapp", 1)
    whatsapp.is_active = False
    whatsapp.save(update_fields=["is_active"])
    client = console_client(team[Role.CS_MANAGER])
    listing = client.get(REPLY_LIST)
    assert [row["rule"].trigger_count for row in listing.context["rows"]] == [4]
    page = listing.content.decode()
    assert '<strong data-trigger-count>4</strong>' in page
    condition = client.get(rule_url(reply))
    page = condition.content.decode()
    assert 'data-trigger-count>4<' in page
    assert 'data-channel-count="line">3<' in page and 'data-channel-count="whatsapp">1<' in page
    assert "This channel is no longer connected." in page  # WhatsApp was disconnected
    assert condition.context["chart"]["counts"] == [3, 1]


def test_edit_keeps_the_count_and_turning_off_and_deleting(team, rules, console_client):
    reply, _assign = rules
    _fire(reply, "line", 2)
    client = console_client(team[Role.CS_MANAGER])
    response = client.post(rule_url(reply), reply_form(name="Hours", keywords="hours\nopen", channels=[]))
    assert response.status_code == 302
    reply.refresh_from_db()
    assert (reply.name, reply.keywords, reply.channels) == ("Hours", ["hours", "open"], [])
    assert KeywordTrigger.objects.filter(rule=reply).count() == 2
    client.post(rule_url(reply, "console:keyword_rule_set_active"), {"active": "0"})
    reply.refresh_from_db()
    assert not reply.is_active
    assert "Turn on" in client.get(REPLY_LIST).content.decode()
    assert client.post(rule_url(reply, "console:keyword_rule_delete")).status_code == 302
    assert not KeywordRule.objects.filter(pk=reply.pk).exists()
    assert client.get(rule_url(reply)).status_code == 404
