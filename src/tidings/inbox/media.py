"""Images an agent attaches in the composer: checked, kept in storage under an unguessable name in a folder of the
workspace's own, and given an absolute address the provider downloads them from (LINE, WhatsApp, Messenger and
Instagram fetch a sent image themselves).

Limits, the strictest the chat channels set (docs/modules/inbox-composer.md):
- JPEG or PNG only, told by the file's first bytes, not by its name or the browser's claim;
- at most 5 MB: WhatsApp's image limit (Instagram 8 MB, LINE 10 MB, Messenger more);
- at most 1 MB in LINE conversations: LINE shows a preview image of at most 1 MB, and without an image library here
  the picture is its own preview.

The file is served at MEDIA_URL + name (console/views/inbox_compose.py serves the `chat/` folder of the default
file storage publicly, as the provider must fetch it without logging in); a storage with its own public URLs (S3 and
the like) answers `url()` with those instead.
"""

import secrets

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError
from tidings.core.models import Workspace

MAX_BYTES = 5 * 1024 * 1024
LINE_MAX_BYTES = 1024 * 1024
FOLDER = "chat"
# First bytes of each accepted kind → the extension it is stored and served with.
SIGNATURES = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"))
CONTENT_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def image_limit(channel: str) -> int:
    """The largest image (bytes) the composer takes for a conversation on this channel."""
    return LINE_MAX_BYTES if channel == "line" else MAX_BYTES


def _extension(upload) -> str:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, extension in SIGNATURES:
        if head.startswith(signature):
            return extension
    raise ServiceError(_("Send a JPEG or PNG image."), field="image")


def absolute_url(url: str) -> str:
    """A storage URL as the provider fetches it: relative ones (the file system storage) on this site's BASE_URL."""
    return url if url.startswith(("https://", "http://")) else f"{settings.BASE_URL}{url}"


def chat_image_store(*, workspace: Workspace, upload, channel: str = "") -> dict:
    """Keep an uploaded chat image; returns the channel-neutral image content to send
    ({"type": "image", "url", "preview_url"}). A wrong kind or size is a ServiceError on field "image"."""
    if upload is None or not getattr(upload, "size", 0):
        raise ServiceError(_("Choose an image first."), field="image")
    limit = image_limit(channel)
    if upload.size > limit:
        if channel == "line":
            message = _("LINE takes images of at most %(mb)s MB here (its preview limit); this one is %(size)s MB.")
        else:
            message = _("Images may be at most %(mb)s MB (WhatsApp's limit); this one is %(size)s MB.")
        raise ServiceError(message % {"mb": _megabytes(limit), "size": f"{upload.size / (1024 * 1024):.1f}"},
                           field="image")
    extension = _extension(upload)
    name = default_storage.save(f"{FOLDER}/{workspace.pk}/{secrets.token_hex(16)}{extension}", upload)
    url = absolute_url(default_storage.url(name))
    return {"type": "image", "url": url, "preview_url": url}


def _stored_name(workspace_key, file_name: str) -> str | None:
    """The storage name of a chat image kept under that name, else None (names are checked: no way out of the
    folder)."""
    stem, _dot, extension = (file_name or "").partition(".")
    if not (str(workspace_key).isdigit() and len(stem) == 32 and all(c in "0123456789abcdef" for c in stem)
            and f".{extension}" in CONTENT_TYPES):
        return None
    name = f"{FOLDER}/{int(workspace_key)}/{file_name}"
    return name if default_storage.exists(name) else None


def chat_image_open(*, workspace_key: int, file_name: str):
    """(file, content type) of a stored chat image, or None when there is none by that name."""
    name = _stored_name(workspace_key, file_name)
    if name is None:
        return None
    return default_storage.open(name, "rb"), CONTENT_TYPES[name[name.rindex("."):]]


def chat_image_discard(content: dict) -> None:
    """Remove an image stored for a send that was then refused (nothing refers to it)."""
    base = absolute_url(default_storage.url(f"{FOLDER}/"))
    url = str(content.get("url") or "")
    if url.startswith(base):
        workspace_key, _slash, file_name = url[len(base):].partition("/")
        name = _stored_name(workspace_key, file_name)
        if name is not None:
            default_storage.delete(name)
