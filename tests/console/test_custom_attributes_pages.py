"""The custom attributes page: Admin, Supervisor and Marketer (seed 002) list, add, edit and delete typed attributes,
with a choices editor for the choice type; everyone else is refused."""

import pytest
from django.urls import reverse

from tidings.contacts.models import Contact, CustomAttribute
from tidings.contacts.services import contact_create, contact_update, custom_attribute_create
from tidings.core.permissions import MATRIX, Permission
from tidings.core.roles import Role

pytestmark = pytest.mark.django_db

LIST = reverse("console:custom_attributes")
ADD = reverse("console:custom_attribute_add")


def edit_url(attribute):
    return reverse("console:custom_attribute_edit", kwargs={"custom_attribute_id": attribute.pk})


def delete_url(attribute):
    return reverse("console:custom_attribute_delete", kwargs={"custom_attribute_id": attribute.pk})


@pytest.fixture
def client_for(workspace, make_member, console_client):
    return lambda role, **kw: console_client(make_member(workspace, role, **kw))


@pytest.fixture
def level(workspace):
    return custom_attribute_create(workspace=workspace, key="level", name="Membership level", type="choice",
                                   choices=["Silver", "Gold"])


@pytest.mark.parametrize("role", list(Role))
def test_pages_follow_the_permission_matrix(role, level, client_for):
    client = client_for(role)
    expected = 200 if role in MATRIX[Permission.ATTRIBUTES_EDIT] else 403
    for url in (LIST, ADD, edit_url(level)):
        assert client.get(url).status_code == expected, url
    response = client.post(delete_url(level))
    assert response.status_code == (302 if expected == 200 else 403)
    assert CustomAttribute.objects.filter(pk=level.pk).exists() == (expected == 403)


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans", "en"])
def test_pages_render_in_each_language(language, level, client_for):
    client = client_for(Role.MARKETER, language=language)
    for url in (LIST, ADD, edit_url(level)):
        page = client.get(url).content.decode()
        assert f'<html lang="{language}">' in page
        assert url == ADD or "Membership level" in page


def test_list_shows_name_key_type_and_choices(level, client_for):
    page = client_for(Role.MARKETER).get(LIST).content.decode()
    row = page[page.index('data-attribute="level"'):]
    row = row[: row.index("</tr>")]
    assert "Membership level" in row and "<code>level</code>" in row and "Choice" in row
    assert ">Silver<" in row and ">Gold<" in row


def test_empty_state_explains_attributes(client_for):
    page = client_for(Role.ADMIN).get(LIST).content.decode()
    assert "No custom attributes yet" in page and ADD in page


def test_tabs_link_the_contact_pages(client_for):
    page = client_for(Role.MARKETER).get(LIST).content.decode()
    assert reverse("console:contacts") in page and reverse("console:tags") in page


@pytest.mark.parametrize("kind", ["text", "number", "date", "boolean"])
def test_add_each_simple_type(kind, workspace, client_for):
    response = client_for(Role.MARKETER).post(ADD, {"name": f"My {kind}", "key": f"my-{kind}", "type": kind})
    assert response.status_code == 302 and response["Location"] == LIST
    attribute = CustomAttribute.objects.get(workspace=workspace, key=f"my-{kind}")
    assert (attribute.name, attribute.type, attribute.choices) == (f"My {kind}", kind, [])


def test_add_a_choice_attribute_with_its_values(workspace, client_for):
    client_for(Role.SUPERVISOR).post(ADD, {"name": "Size", "key": "size", "type": "choice",
                                           "choices": ["S", " M ", "", "L", "M"]})
    assert CustomAttribute.objects.get(key="size").choices == ["S", "M", "L"]


def test_choice_without_values_is_refused_under_the_editor(client_for):
    page = client_for(Role.MARKETER).post(ADD, {"name": "Size", "key": "size", "type": "choice",
                                                "choices": ["", " "]}).content.decode()
    assert "A choice attribute needs at least one choice." in page and 'role="alert"' in page
    assert not CustomAttribute.objects.exists()


@pytest.mark.parametrize("key, message", [("Bad Key", "Use lowercase letters"),
                                          ("level", "Another custom attribute has this key.")])
def test_bad_or_taken_key_is_shown_on_the_key_field(key, message, level, client_for):
    page = client_for(Role.MARKETER).post(ADD, {"name": "X", "key": key, "type": "text"}).content.decode()
    assert 'id="id_key-error"' in page and message in page
    assert CustomAttribute.objects.count() == 1


def test_edit_name_and_choices(level, client_for):
    page = client_for(Role.MARKETER).get(edit_url(level)).content.decode()
    assert 'value="Silver"' in page and 'value="Gold"' in page and "disabled" in page  # key is fixed
    response = client_for(Role.MARKETER).post(edit_url(level), {
        "name": "Level", "key": "ignored", "type": "choice", "choices": ["Silver", "Gold", "Platinum"]})
    assert response.status_code == 302
    level.refresh_from_db()
    assert (level.name, level.key, level.choices) == ("Level", "level", ["Silver", "Gold", "Platinum"])


def test_a_choice_in_use_cannot_be_removed(workspace, level, client_for):
    contact_update(workspace=workspace, contact=contact_create(workspace=workspace, name="Mei"),
                   attributes={"level": "Gold"})
    page = client_for(Role.MARKETER).post(edit_url(level), {"name": "Level", "type": "choice",
                                                            "choices": ["Silver"]}).content.decode()
    assert "Contacts still have the choice “Gold”." in page
    level.refresh_from_db()
    assert level.choices == ["Silver", "Gold"]


def test_type_changes_only_while_no_contact_has_a_value(workspace, client_for):
    points = custom_attribute_create(workspace=workspace, key="points", name="Points", type="text")
    client = client_for(Role.MARKETER)
    client.post(edit_url(points), {"name": "Points", "type": "number"})
    points.refresh_from_db()
    assert points.type == "number"
    contact_update(workspace=workspace, contact=contact_create(workspace=workspace, name="Mei"),
                   attributes={"points": 10})
    page = client.post(edit_url(points), {"name": "Points", "type": "text"}).content.decode()
    assert "type cannot change" in page
    points.refresh_from_db()
    assert points.type == "number"


def test_delete_removes_every_value(workspace, level, client_for):
    mei = contact_create(workspace=workspace, name="Mei", attributes={"level": "Gold"})
    client = client_for(Role.ADMIN)
    assert client.post(delete_url(level)).status_code == 302
    assert not CustomAttribute.objects.exists()
    assert "level" not in Contact.objects.get(pk=mei.pk).attributes
    assert "1 contacts lost their value" in client.get(LIST).content.decode()


def test_delete_needs_post(level, client_for):
    assert client_for(Role.ADMIN).get(delete_url(level)).status_code == 405
