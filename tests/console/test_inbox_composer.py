"""The conversation composer (console/views/inbox_compose.py): text, images, saved replies, WhatsApp templates
outside the 24-hour window and Messenger tags, all sent through the message pipeline; refusals shown by the input
with nothing sent."""

import datetime
import itertools
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.message_templates.support import approved_template
from tidings.contacts.services import identity_upsert
from tidings.core import clock
from tidings.core.roles import Role
from tidings.inbox.models import ConversationState, SavedReply
from tidings.inbox.services import conversation_ensure
from tidings.messaging.models import Message

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def conversation_on(account, *, name="陳美玲", wrote_ago=datetime.timedelta(hours=1)):
    """A customer's conversation on `account`; they last wrote `wrote_ago` ago (None: never)."""
    workspace = account.workspace
    external = f"8526{next(_ids):07d}" if account.channel == "whatsapp" else f"U{next(_ids):032x}"
    identity, _created = identity_upsert(workspace=workspace, account=account, external_id=external,
                                         display_name=name)
    if wrote_ago is not None:
        identity.last_inbound_at = clock.now(workspace) - wrote_ago
        identity.save(update_fields=["last_inbound_at"])
    conversation, _created = conversation_ensure(identity=identity)
    return conversation


@pytest.fixture
def agent(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Amy")


@pytest.fixture
def client(agent, console_client):
    return console_client(agent)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def composer_url(conversation):
    return reverse("console:inbox_composer", kwargs={"conversation_id": conversation.pk})


def post(client, conversation, **data):
    return client.post(composer_url(conversation), data, HTTP_HX_REQUEST="true")


def sent(conversation):
    return list(Message.objects.filter(identity=conversation.identity).order_by("id"))


def test_text_goes_through_the_pipeline_and_the_member_follows(client, agent, line_account):
    conversation = conversation_on(line_account)
    response = post(client, conversation, text="  We open at 10 tomorrow.\n")
    assert response.status_code == 200
    [message] = sent(conversation)
    assert message.content == {"type": "text", "text": "We open at 10 tomorrow."}
    assert (message.status, message.purpose, message.source) == ("queued", "chat", f"member:{agent.pk}")
    conversation.refresh_from_db()
    assert (conversation.state, conversation.assignee) == (ConversationState.IN_PROGRESS, agent)
    assert conversation.last_message_preview == "We open at 10 tomorrow."
    # The page learns of the send, and the input comes back empty and focused.
    assert json.loads(response["HX-Trigger"]) == {"inbox:sent": {"conversation": conversation.pk}}
    html = response.content.decode()
    assert "data-composer-sent" in html and "We open at 10" not in html


def test_empty_text_is_refused_and_nothing_is_sent(client, line_account):
    conversation = conversation_on(line_account)
    response = post(client, conversation, text="   \n ")
    assert "Write a message or attach an image first." in response.content.decode()
    assert "HX-Trigger" not in response
    assert sent(conversation) == []


def test_text_over_the_channels_limit_is_refused_and_kept_in_the_input(client, line_account, whatsapp_account):
    line = conversation_on(line_account)
    response = post(client, line, text="茶" * 5001)
    html = response.content.decode()
    assert "The text is 5001 characters; LINE allows at most 5000." in html
    assert "茶" * 5001 in html  # still in the input, to shorten
    whatsapp = conversation_on(whatsapp_account)
    response = post(client, whatsapp, text="x" * 4097)
    assert "WhatsApp allows at most 4096 characters here; this has 4097." in response.content.decode()
    assert sent(line) == [] and sent(whatsapp) == []
    assert line.state == ConversationState.PENDING


def test_an_image_is_stored_served_and_sent(client, whatsapp_account):
    conversation = conversation_on(whatsapp_account)
    upload = SimpleUploadedFile("photo.png", PNG, content_type="image/png")
    response = post(client, conversation, image=upload, text="Here is the receipt")
    assert response.status_code == 200, response.content[:300]
    image, text = sent(conversation)
    assert text.content == {"type": "text", "text": "Here is the receipt"}
    url = image.content["url"]
    assert image.content == {"type": "image", "url": url, "preview_url": url}
    prefix = f"http://testserver/media/chat/{conversation.workspace_id}/"
    assert url.startswith(prefix) and url.endswith(".png") and len(url) - len(prefix) == 36
    served = client.get(url.removeprefix("http://testserver"))
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG


@pytest.mark.parametrize("body, name, expected", [
    (b"GIF89a" + b"\x00" * 64, "funny.gif", "Send a JPEG or PNG image."),
    (b"%PDF-1.4 not an image", "photo.jpg", "Send a JPEG or PNG image."),  # the name does not make it one
    (JPEG + b"\x00" * (5 * 1024 * 1024), "huge.jpg", "Images may be at most 5 MB"),
])
def test_a_wrong_image_is_refused(client, whatsapp_account, settings, body, name, expected):
    conversation = conversation_on(whatsapp_account)
    response = post(client, conversation, image=SimpleUploadedFile(name, body), text="look")
    assert expected in response.content.decode()
    assert sent(conversation) == []
    assert not (settings.MEDIA_ROOT / "chat").exists() or not any((settings.MEDIA_ROOT / "chat").rglob("*.*"))


def test_line_images_are_limited_to_its_one_megabyte_preview(client, line_account):
    conversation = conversation_on(line_account)
    response = post(client, conversation, image=SimpleUploadedFile("a.jpg", JPEG + b"\x00" * (1024 * 1024)))
    assert "LINE takes images of at most 1 MB here" in response.content.decode()
    assert sent(conversation) == []


def test_a_refused_send_does_not_keep_the_uploaded_image(client, line_account, settings):
    # LINE fetches images over https only; this test server is http, so the pipeline refuses the image.
    conversation = conversation_on(line_account)
    response = post(client, conversation, image=SimpleUploadedFile("a.png", PNG))
    assert "LINE accepts only https links here." in response.content.decode()
    assert sent(conversation) == []
    assert not any((settings.MEDIA_ROOT / "chat").rglob("*.png"))


def test_the_window_and_its_remaining_time_are_shown(client, whatsapp_account):
    conversation = conversation_on(whatsapp_account, wrote_ago=datetime.timedelta(hours=3, minutes=30))
    html = client.get(composer_url(conversation)).content.decode()
    assert 'data-window="open"' in html
    # 20 h 30 min less the moments the test took, shown in whole minutes.
    assert "Reply window: <strong data-window-left>20 h 29 min</strong> left" in html
    assert 'name="text"' in html and "data-use-template" in html  # free text, or a template by choice


def test_whatsapp_outside_the_window_offers_only_templates_and_sends_one(client, agent, whatsapp_account):
    template = approved_template(whatsapp_account)
    conversation = conversation_on(whatsapp_account, wrote_ago=datetime.timedelta(hours=25))
    html = client.get(composer_url(conversation)).content.decode()
    assert 'data-window="closed"' in html and "only approved templates" in html
    assert "data-template-form" in html and 'name="text"' not in html and "data-free-reply" not in html
    # The only template is chosen already: one input per body variable, with a preview of its samples.
    assert 'name="body_1"' in html and 'name="body_2"' in html and 'name="body_3"' not in html
    assert "Hi Mei, your order #1024 is ready." in html

    preview = client.get(reverse("console:inbox_composer_template", kwargs={"conversation_id": conversation.pk}),
                         {"template": template.pk, "body_1": "陳美玲", "body_2": ""}).content.decode()
    assert "Hi 陳美玲, your order #1024 is ready." in preview  # typed where typed, the sample elsewhere

    refused = post(client, conversation, kind="template", template=template.pk, body_1="陳美玲", body_2=" ")
    assert "Fill in every variable of the template ({{2}} is empty)." in refused.content.decode()
    assert sent(conversation) == []

    response = post(client, conversation, kind="template", template=template.pk, body_1="陳美玲", body_2="#2048")
    [message] = sent(conversation)
    assert message.content == {"type": "template", "name": "order_ready", "language": "en",
                               "parameters": ["陳美玲", "#2048"], "header_parameters": [], "url_parameters": []}
    assert "Template sent." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.assignee == agent


def test_free_text_outside_the_whatsapp_window_is_refused_by_the_pipeline(client, whatsapp_account):
    conversation = conversation_on(whatsapp_account, wrote_ago=None)
    response = post(client, conversation, text="Hello?")
    assert "Outside WhatsApp&#x27;s 24-hour window only an approved template can be sent" in response.content.decode()
    assert sent(conversation) == []


def test_no_approved_template_explains_what_to_do(client, whatsapp_account):
    conversation = conversation_on(whatsapp_account, wrote_ago=datetime.timedelta(days=2))
    html = client.get(composer_url(conversation)).content.decode()
    assert "data-no-templates" in html and "data-send-template" not in html


def test_messenger_outside_the_window_needs_a_message_tag(client, messenger_account):
    conversation = conversation_on(messenger_account, wrote_ago=datetime.timedelta(hours=30))
    html = client.get(composer_url(conversation)).content.decode()
    assert 'name="tag"' in html and 'value="POST_PURCHASE_UPDATE"' in html and "never offers" in html
    refused = post(client, conversation, text="Your parcel left today.")
    assert "Outside the window a message needs a message tag" in refused.content.decode()
    promotional = post(client, conversation, text="20% off!", tag="PROMOTION")
    assert "PROMOTION is not a message tag Messenger accepts" in promotional.content.decode()
    assert sent(conversation) == []
    post(client, conversation, text="Your parcel left today.", tag="POST_PURCHASE_UPDATE")
    [message] = sent(conversation)
    assert message.dispatch.options["tag"] == "POST_PURCHASE_UPDATE"


def test_messenger_inside_the_window_has_no_tag_to_choose(client, messenger_account, instagram_account):
    conversation = conversation_on(messenger_account)
    assert 'name="tag"' not in client.get(composer_url(conversation)).content.decode()
    # Instagram outside the window: HUMAN_AGENT only, and only within 7 days of the customer's message.
    stale = conversation_on(instagram_account, wrote_ago=datetime.timedelta(days=8))
    html = client.get(composer_url(stale)).content.decode()
    assert 'value="HUMAN_AGENT" disabled' in html and "POST_PURCHASE_UPDATE" not in html


def test_saved_replies_are_searched_filled_in_and_sent(client, agent, workspace, line_account, make_member):
    conversation = conversation_on(line_account, name="陳美玲")
    greeting = SavedReply.objects.create(workspace=workspace, title="Greeting", category="Welcome",
                                         text="Hi {name}, this is {agent}.")
    SavedReply.objects.create(workspace=workspace, title="Opening hours", text="10:00-22:00 every day")
    others = SavedReply.objects.create(workspace=workspace, owner=make_member(workspace, Role.CS_AGENT),
                                       title="Someone else's", text="private")
    picker = reverse("console:inbox_saved_replies", kwargs={"conversation_id": conversation.pk})
    html = client.get(picker).content.decode()
    assert "Greeting" in html and "Opening hours" in html and "Someone else" not in html
    assert '<option value="Welcome">' in html
    found = client.get(picker, {"q": "hours", "results": "1"}).content.decode()
    assert "Opening hours" in found and "Greeting" not in found

    preview_url = reverse("console:inbox_saved_reply", kwargs={"conversation_id": conversation.pk,
                                                              "saved_reply_id": greeting.pk})
    preview = client.get(preview_url).content.decode()
    assert "Hi 陳美玲, this is Amy." in preview and "data-apply-saved" in preview  # or put into the input box
    assert client.get(reverse("console:inbox_saved_reply", kwargs={
        "conversation_id": conversation.pk, "saved_reply_id": others.pk})).status_code == 404

    post(client, conversation, kind="saved_reply", saved_reply=greeting.pk)
    [message] = sent(conversation)
    assert message.content == {"type": "text", "text": "Hi 陳美玲, this is Amy."}


def test_a_conversation_the_member_cannot_see_is_404(client, workspace, other_workspace, line_account, make_member):
    from tests.inbox.cross_workspace_factories import make_conversation

    foreign = make_conversation(other_workspace)
    assert client.get(composer_url(foreign)).status_code == 404
    assert post(client, foreign, text="hi").status_code == 404
    # An agent sees unassigned conversations and their own, not another agent's.
    theirs = conversation_on(line_account)
    theirs.assignee = make_member(workspace, Role.CS_AGENT)
    theirs.save(update_fields=["assignee"])
    assert post(client, theirs, text="hi").status_code == 404
    assert Message.objects.count() == 0


def test_a_marketer_has_no_composer(workspace, make_member, console_client, line_account):
    conversation = conversation_on(line_account)
    marketer = console_client(make_member(workspace, Role.MARKETER))
    assert marketer.get(composer_url(conversation)).status_code == 403
