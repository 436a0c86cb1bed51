"""Chat images from the composer (inbox/media.py): JPEG or PNG by their bytes, the strictest channel's size, kept
under an unguessable name in the workspace's folder, at an absolute address the provider can fetch."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tidings.core.errors import ServiceError
from tidings.inbox import media

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xdb" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def store(workspace, body, name="photo", channel="whatsapp"):
    return media.chat_image_store(workspace=workspace, upload=SimpleUploadedFile(name, body), channel=channel)


def test_an_image_gets_an_unguessable_address_in_its_workspaces_folder(workspace, other_workspace, settings):
    first = store(workspace, JPEG)
    second = store(workspace, JPEG)
    url = first["url"]
    assert first == {"type": "image", "url": url, "preview_url": url}
    assert url.startswith(f"{settings.BASE_URL}/media/chat/{workspace.pk}/") and url.endswith(".jpg")
    assert second["url"] != url
    file_name = url.rsplit("/", 1)[1]
    file, content_type = media.chat_image_open(workspace_key=workspace.pk, file_name=file_name)
    with file:
        assert (file.read(), content_type) == (JPEG, "image/jpeg")
    # Only under its own workspace's folder, and only names of the stored shape.
    assert media.chat_image_open(workspace_key=other_workspace.pk, file_name=file_name) is None
    for bad in ("../../settings.py", f"{file_name[:-4]}.gif", "abc.jpg"):
        assert media.chat_image_open(workspace_key=workspace.pk, file_name=bad) is None


def test_png_keeps_its_kind_whatever_the_file_is_called(workspace):
    assert store(workspace, PNG, name="scan.jpeg")["url"].endswith(".png")


@pytest.mark.parametrize("body", [b"GIF89a....", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b""])
def test_other_kinds_are_refused(workspace, body):
    with pytest.raises(ServiceError) as refused:
        store(workspace, body)
    assert refused.value.field == "image"


def test_sizes_follow_the_strictest_channel(workspace):
    five = 5 * 1024 * 1024
    assert store(workspace, JPEG + b"\x00" * (five - len(JPEG)))  # exactly 5 MB: WhatsApp takes it
    with pytest.raises(ServiceError, match="at most 5 MB"):
        store(workspace, JPEG + b"\x00" * (five - len(JPEG) + 1))
    # LINE shows a preview of at most 1 MB, and the image is its own preview.
    assert store(workspace, JPEG + b"\x00" * (1024 * 1024 - len(JPEG)), channel="line")
    with pytest.raises(ServiceError, match="LINE takes images of at most 1 MB"):
        store(workspace, JPEG + b"\x00" * (1024 * 1024), channel="line")


def test_a_discarded_image_is_gone(workspace):
    content = store(workspace, PNG)
    file_name = content["url"].rsplit("/", 1)[1]
    media.chat_image_discard(content)
    assert media.chat_image_open(workspace_key=workspace.pk, file_name=file_name) is None
    media.chat_image_discard({"type": "image", "url": "https://cdn.example.test/chat/1/x.png"})  # not ours: ignored
