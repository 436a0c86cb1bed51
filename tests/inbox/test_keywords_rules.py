"""Writing keyword rules (validated, audited, permission-checked) and the list's counts per rule and channel."""

import pytest

from tidings.core.errors import ServiceError
from tidings.core.models import AuditEntry
from tidings.core.roles import Role
from tidings.inbox.keyword_rules import (
    keyword_rule_create,
    keyword_rule_delete,
    keyword_rule_get,
    keyword_rule_update,
    keyword_rules_list,
    trigger_counts_by_channel,
)
from tidings.inbox.models import KeywordRule, KeywordTrigger
from tidings.messaging.models import Message

pytestmark = pytest.mark.django_db

TEXT = [{"type": "text", "text": "We open 10:00-22:00."}]


def refused(field, **call):
    with pytest.raises(ServiceError) as exc:
        keyword_rule_create(**call)
    assert exc.value.field == field, exc.value.message
    return exc.value


def reply(workspace, **data):
    return {"workspace": workspace, "kind": "reply",
            "data": {"name": "Hours", "keywords": ["hours"], "reply_contents": TEXT, **data}}


def test_a_reply_rule_is_cleaned_and_audited(workspace, admin):
    rule = keyword_rule_create(by=admin, **reply(workspace, name="  Opening   hours ",
                                                 keywords="hours\n營業時間\nHOURS\n\n", channels=["whatsapp", "line"],
                                                 tags=["asked", " asked "], include_in_progress=True))
    assert rule.name == "Opening hours"
    assert rule.keywords == ["hours", "營業時間"]  # one per line, duplicates (any case) dropped
    assert rule.channels == ["line", "whatsapp"]
    assert rule.tags == ["asked"]
    assert rule.include_in_progress and rule.is_active
    entry = AuditEntry.objects.get(action="keyword_rule.create")
    assert entry.actor == admin.user and entry.changes["name"] == [None, "Opening hours"]


def test_refusals_name_their_field(workspace, line_account, sms_account):
    refused("name", **reply(workspace, name=" "))
    refused("keywords", **reply(workspace, keywords=[]))
    refused("keywords", **reply(workspace, match_type="exact", keywords=["a", "b"]))
    refused("keywords", **reply(workspace, keywords=["x" * 101]))
    refused("channels", **reply(workspace, channels=["fax"]))
    refused("reply_contents", **reply(workspace, reply_contents=[], tags=[]))
    http_image = [{"type": "image", "url": "http://x.test/a.png"}]
    refused("reply_contents[0].url", **reply(workspace, reply_contents=http_image, channels=["line"]))
    refused("reply_contents[0].type", **reply(workspace, reply_contents=[{"type": "video", "url": "https://x.test/v",
                                                                          "preview_url": "https://x.test/p"}]))
    # SMS is connected and the rule answers on every channel: an image cannot go by SMS.
    image = [{"type": "image", "url": "https://x.test/a.png"}]
    refused("reply_contents[0].type", **reply(workspace, reply_contents=image))
    assert keyword_rule_create(**reply(workspace, reply_contents=image, channels=["line"])).reply_contents == image
    refused("tags", **reply(workspace, tags=["t" * 101]))
    assigning = {"workspace": workspace, "kind": "assign", "data": {"name": "To sales", "keywords": ["b2b"]}}
    refused("assign_member", **assigning)
    refused("assign_role", **{**assigning, "data": {**assigning["data"], "assign_role": Role.MARKETER}})


def test_any_text_keeps_no_keywords_and_tag_only_rules_send_nothing(workspace):
    rule = keyword_rule_create(**reply(workspace, match_type="anything", keywords=["ignored"], reply_contents=[],
                                       tags=["talked"]))
    assert (rule.keywords, rule.reply_contents, rule.tags) == ([], [], ["talked"])


def test_assign_targets_a_member_who_uses_the_inbox_or_a_team(workspace, make_member, other_workspace):
    agent = make_member(workspace, Role.CS_AGENT)
    marketer = make_member(workspace, Role.MARKETER)
    stranger = make_member(other_workspace, Role.CS_AGENT)
    base = {"name": "VIP", "keywords": ["vip"], "reply_contents": TEXT, "include_in_progress": True}
    rule = keyword_rule_create(workspace=workspace, kind="assign", data={**base, "assign_member": agent.pk})
    # An assign rule sends no reply and never touches in-progress conversations.
    assert (rule.assign_member, rule.reply_contents, rule.include_in_progress) == (agent, [], False)
    for member in (marketer, stranger):
        refused("assign_member", workspace=workspace, kind="assign", data={**base, "assign_member": member.pk})
    team = keyword_rule_create(workspace=workspace, kind="assign",
                               data={**base, "assign_role": Role.SALES_PERSON, "assign_order": "random"})
    assert (team.assign_member, team.assign_role, team.assign_order) == (None, Role.SALES_PERSON, "random")


def test_roles_manage_only_their_kind(workspace, make_member):
    marketer = make_member(workspace, Role.MARKETER)
    agent = make_member(workspace, Role.CS_AGENT)
    keyword_rule_create(by=marketer, **reply(workspace))
    with pytest.raises(ServiceError) as exc:
        keyword_rule_create(workspace=workspace, kind="assign", by=marketer,
                            data={"name": "x", "keywords": ["x"], "assign_member": agent.pk})
    assert exc.value.code == "forbidden"
    with pytest.raises(ServiceError):
        keyword_rule_create(by=agent, **reply(workspace))


def test_update_keeps_the_count_and_delete_removes_the_rule(workspace, admin, make_member):
    agent = make_member(workspace, Role.CS_AGENT)
    rule = keyword_rule_create(workspace=workspace, kind="assign",
                               data={"name": "VIP", "keywords": ["vip"], "assign_role": Role.CS_AGENT})
    KeywordRule.objects.filter(pk=rule.pk).update(last_assigned_member_id=agent.pk)
    rule = keyword_rule_update(workspace=workspace, rule=rule, by=admin,
                               data={"keywords": ["vip", "gold"], "assign_role": "", "assign_member": agent.pk})
    assert (rule.keywords, rule.assign_member, rule.assign_role) == (["vip", "gold"], agent, "")
    assert rule.last_assigned_member_id is None
    changes = AuditEntry.objects.get(action="keyword_rule.update").changes
    assert changes["assign_member"] == [None, agent.pk]
    with pytest.raises(ServiceError) as exc:
        keyword_rule_update(workspace=workspace, rule=rule, data={"kind": "reply"})
    assert exc.value.field == "kind"
    keyword_rule_delete(workspace=workspace, rule=rule, by=admin)
    assert not KeywordRule.objects.filter(pk=rule.pk).exists()


def _trigger(rule, channel, n):
    from tidings.channels.services import account_create
    from tidings.contacts.models import Contact

    account = account_create(workspace=rule.workspace, actor=None, channel=channel, name=f"{channel} {rule.pk}")
    contact = Contact.objects.create(workspace=rule.workspace, name="c")
    for _ in range(n):
        message = Message.objects.create(workspace=rule.workspace, contact=contact, account=account, channel=channel,
                                         direction="in", content={"type": "text", "text": "hours"})
        KeywordTrigger.objects.create(workspace=rule.workspace, rule=rule, message=message, channel=channel,
                                      account=account)


def test_the_list_counts_in_total_and_per_channel_without_a_query_per_rule(workspace, django_assert_num_queries):
    rules = [keyword_rule_create(**reply(workspace, name=f"Rule {i}", keywords=[f"k{i}", "hours"])) for i in range(5)]
    _trigger(rules[0], "line", 3)
    _trigger(rules[0], "whatsapp", 2)
    _trigger(rules[3], "line", 1)
    with django_assert_num_queries(2):
        listed = keyword_rules_list(workspace, kind="reply")
        by_channel = trigger_counts_by_channel(r.pk for r in listed)
    counts = {r.name: r.trigger_count for r in listed}
    assert counts == {"Rule 0": 5, "Rule 1": 0, "Rule 2": 0, "Rule 3": 1, "Rule 4": 0}
    assert by_channel == {rules[0].pk: {"line": 3, "whatsapp": 2}, rules[3].pk: {"line": 1}}
    assert keyword_rule_get(workspace, rules[0].pk).trigger_count == 5
    assert [r.name for r in keyword_rules_list(workspace, kind="reply", q="K3")] == ["Rule 3"]
    assert [r.name for r in keyword_rules_list(workspace, kind="reply", q="rule 4")] == ["Rule 4"]
    assert keyword_rules_list(workspace, kind="assign") == []
