"""Renaming and deleting tags: contacts keep a renamed tag, lose a deleted one, keyword rules follow both, bad names
and other workspaces' tags are refused with nothing changed, and only roles that see the tags page and edit contacts may do it (a CS agent edits a customer's tags from the inbox,
not the workspace's)."""

import pytest
from django.urls import reverse

from tidings.contacts.models import ContactTag, Tag
from tidings.contacts.services import contact_create, tag_delete, tag_rename, tags_add
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import AuditEntry
from tidings.core.roles import Role
from tidings.inbox.keyword_rules import keyword_rule_create
from tidings.inbox.models import KeywordRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(workspace):
    contacts = [contact_create(workspace=workspace, name=f"C{i}") for i in range(3)]
    tags_add(workspace=workspace, contact_ids=[c.pk for c in contacts], names=["vip"])
    tags_add(workspace=workspace, contact_ids=[contacts[0].pk], names=["團購"])
    return contacts


def _tag(workspace, name) -> Tag:
    return Tag.objects.get(workspace=workspace, name=name)


def _names(contact) -> set[str]:
    return set(contact.tags.values_list("name", flat=True))


def _rule(workspace, tags):
    return keyword_rule_create(workspace=workspace, kind="reply", data={
        "name": "Group buy", "keywords": ["group"], "match_type": "any",
        "reply_contents": [{"type": "text", "text": "Yes!"}], "tags": tags})


def test_rename_keeps_the_tag_on_its_contacts_and_the_rules_follow(workspace, tagged):
    rule = _rule(workspace, ["vip", "團購"])
    tag = tag_rename(workspace=workspace, tag_id=_tag(workspace, "vip").pk, name="  VIP 會員 ")
    assert tag.name == "VIP 會員"
    assert all("VIP 會員" in _names(c) and "vip" not in _names(c) for c in tagged)
    rule.refresh_from_db()
    assert rule.tags == ["VIP 會員", "團購"]
    entry = AuditEntry.objects.get(workspace=workspace, action="tag.rename")
    assert entry.changes == {"name": ["vip", "VIP 會員"]}


@pytest.mark.parametrize("name, field, message", [
    ("團購", "name", "already a tag named 團購"),
    ("   ", "name", "Give the tag a name"),
    ("x" * 101, "name", "at most 100"),
])
def test_a_bad_new_name_is_refused_and_nothing_changes(workspace, tagged, name, field, message):
    vip = _tag(workspace, "vip")
    with pytest.raises(ServiceError) as caught:
        tag_rename(workspace=workspace, tag_id=vip.pk, name=name)
    assert caught.value.field == field and message in str(caught.value.message)
    assert _tag(workspace, "vip").pk == vip.pk and _names(tagged[1]) == {"vip"}


def test_delete_takes_the_tag_off_every_contact_and_out_of_rules(workspace, tagged):
    rule = _rule(workspace, ["團購", "vip"])
    assert tag_delete(workspace=workspace, tag_id=_tag(workspace, "vip").pk) == 3
    assert not Tag.objects.filter(workspace=workspace, name="vip").exists()
    assert [_names(c) for c in tagged] == [{"團購"}, set(), set()]
    rule.refresh_from_db()
    assert rule.tags == ["團購"]
    assert AuditEntry.objects.get(workspace=workspace, action="tag.delete").changes == {"name": "vip", "contacts": 3}


def test_another_workspaces_tag_cannot_be_touched(workspace, other_workspace, tagged):
    theirs = contact_create(workspace=other_workspace, name="Theirs")
    tags_add(workspace=other_workspace, contact_ids=[theirs.pk], names=["vip"])
    their_tag = _tag(other_workspace, "vip")
    with pytest.raises(NotFound):
        tag_rename(workspace=workspace, tag_id=their_tag.pk, name="mine")
    with pytest.raises(NotFound):
        tag_delete(workspace=workspace, tag_id=their_tag.pk)
    assert _names(theirs) == {"vip"} and ContactTag.objects.filter(tag=their_tag).count() == 1


@pytest.mark.parametrize("role, allowed", [(Role.MARKETER, True), (Role.CS_MANAGER, True), (Role.CS_AGENT, False),
                                           (Role.SALES_PERSON, False)])
def test_console_rename_and_delete_need_the_tags_page_and_contacts_edit(workspace, tagged, make_member, console_client, role, allowed):
    client = console_client(make_member(workspace, role, language="en"))
    vip = _tag(workspace, "vip")
    page = client.get(reverse("console:tags"))
    if allowed:
        assert reverse("console:tag_rename", kwargs={"tag_id": vip.pk}) in page.content.decode()
    response = client.post(reverse("console:tag_rename", kwargs={"tag_id": vip.pk}), {"name": "VIP"}, follow=True)
    assert response.status_code == (200 if allowed else 403)
    assert Tag.objects.filter(workspace=workspace, name="VIP").exists() == allowed
    if allowed:
        assert "Tag renamed to VIP." in response.content.decode()
        response = client.post(reverse("console:tag_rename", kwargs={"tag_id": vip.pk}), {"name": "團購"}, follow=True)
        assert "There is already a tag named 團購." in response.content.decode()
    response = client.post(reverse("console:tag_delete", kwargs={"tag_id": vip.pk}), follow=True)
    assert response.status_code == (200 if allowed else 403)
    assert Tag.objects.filter(pk=vip.pk).exists() == (not allowed)
    if allowed:
        assert "Tag deleted; 3 contacts no longer have it." in response.content.decode()
