"""The channel-neutral content model (SPEC C4). Every sender speaks this; each adapter renders it and checks its
own channel's limits (`ChannelAdapter.validate`). A list of contents is what one send carries.

Field paths in errors look like `messages[1].actions[0].label` so API clients and forms can point at the input.
"""

from typing import Annotated, Literal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tidings.core.errors import ServiceError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UriAction(_Strict):
    type: Literal["uri"]
    label: str = Field(min_length=1)
    uri: str = Field(min_length=1)


class PostbackAction(_Strict):
    type: Literal["postback"]
    label: str = Field(min_length=1)
    data: str = Field(min_length=1)
    display_text: str | None = None


class MessageAction(_Strict):
    type: Literal["message"]
    label: str = Field(min_length=1)
    text: str = Field(min_length=1)


Action = Annotated[UriAction | PostbackAction | MessageAction, Field(discriminator="type")]


class _Content(_Strict):
    # Tappable answers shown under the message (LINE quick reply); not every channel has them.
    quick_replies: list[Action] | None = None
    # What notifications and chat lists show for rich messages; adapters derive one when missing.
    alt_text: str | None = None


class Text(_Content):
    type: Literal["text"]
    text: str = Field(min_length=1)


class Image(_Content):
    type: Literal["image"]
    url: str
    preview_url: str | None = None


class Video(_Content):
    type: Literal["video"]
    url: str
    preview_url: str


class Buttons(_Content):
    type: Literal["buttons"]
    title: str | None = None
    text: str = Field(min_length=1)
    image_url: str | None = None
    actions: list[Action] = Field(min_length=1)


class CarouselColumn(_Strict):
    title: str | None = None
    text: str = Field(min_length=1)
    image_url: str | None = None
    actions: list[Action] = Field(min_length=1)


class Carousel(_Content):
    type: Literal["carousel"]
    columns: list[CarouselColumn] = Field(min_length=1)


class ImageCarouselColumn(_Strict):
    image_url: str
    action: Action


class ImageCarousel(_Content):
    type: Literal["image_carousel"]
    columns: list[ImageCarouselColumn] = Field(min_length=1)


class ImagemapArea(_Strict):
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)


class ImagemapAction(_Strict):
    type: Literal["uri", "message"]
    area: ImagemapArea
    uri: str | None = None
    text: str | None = None
    label: str | None = None


class Imagemap(_Content):
    """圖文訊息: one image (base URL serving widths 240…1040) with tappable areas in a 1040-wide coordinate space."""

    type: Literal["imagemap"]
    base_url: str
    width: int = 1040
    height: int = Field(gt=0)
    actions: list[ImagemapAction] = Field(min_length=1)


class CouponCard(_Content):
    """A coupon: title, description, optional image, code and expiry, and one button (claim or redeem)."""

    type: Literal["coupon"]
    title: str = Field(min_length=1)
    description: str = ""
    image_url: str | None = None
    code: str | None = None
    valid_until: str | None = None
    button: Action


class ListRow(_Strict):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str | None = None


class ListSection(_Strict):
    title: str | None = None
    rows: list[ListRow] = Field(min_length=1)


class ListMessage(_Content):
    """A menu the customer opens with one button and picks one row from (WhatsApp interactive list)."""

    type: Literal["list"]
    header: str | None = None
    text: str = Field(min_length=1)
    footer: str | None = None
    button: str = Field(min_length=1)
    sections: list[ListSection] = Field(min_length=1)


class TemplateMessage(_Content):
    """A pre-approved message template (WhatsApp), by name and language, with its variables filled in order.

    The only thing WhatsApp lets a business start a conversation with, or send outside the 24-hour window.
    """

    type: Literal["template"]
    name: str = Field(min_length=1)
    language: str = Field(min_length=2)
    # {{1}}, {{2}}, … of the body, in order; of a text header; and the variable at the end of each dynamic URL button.
    parameters: list[str] = Field(default_factory=list)
    header_parameters: list[str] = Field(default_factory=list)
    url_parameters: list[str] = Field(default_factory=list)


Content = Annotated[
    Text | Image | Video | Buttons | Carousel | ImageCarousel | Imagemap | CouponCard | ListMessage | TemplateMessage,
    Field(discriminator="type"),
]
KINDS = ("text", "image", "video", "buttons", "carousel", "image_carousel", "imagemap", "coupon", "list", "template")
# How a kind is named in "this channel cannot show …" errors.
KIND_NAMES = {
    "text": gettext_lazy("a text message"), "image": gettext_lazy("an image"), "video": gettext_lazy("a video"),
    "buttons": gettext_lazy("a buttons message"), "carousel": gettext_lazy("a carousel"),
    "image_carousel": gettext_lazy("an image carousel"), "imagemap": gettext_lazy("an imagemap"),
    "coupon": gettext_lazy("a coupon card"),
    "list": gettext_lazy("a list message"), "template": gettext_lazy("a WhatsApp template"),
}
_contents = TypeAdapter(list[Content])


_TAGS = {*KINDS, "uri", "postback", "message"}
_UNION_FIELDS = {"action", "button"}


def _path(prefix: str, loc: tuple) -> str:
    out = prefix
    previous = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        # pydantic puts a discriminated union's tag right after the list index or the single-action field
        # (messages[0].text.text); a field that merely shares a tag's name ("text") comes after it and is kept.
        elif not (part in _TAGS and (isinstance(previous, int) or previous in _UNION_FIELDS)):
            out += f".{part}"
        previous = part
    return out


def contents_parse(data, *, field: str = "messages") -> list:
    """Parse and structurally validate a list of contents, or raise ServiceError naming the first bad field."""
    if not isinstance(data, list) or not data:
        raise ServiceError(_("Give at least one message."), field=field)
    try:
        return _contents.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ServiceError(f"{first['msg']}", field=_path(field, first["loc"])) from None


def contents_dump(contents) -> list[dict]:
    return [c.model_dump(exclude_none=True) for c in contents]


def content_actions(content) -> list:
    """Every tappable action on a content, in display order (for tracked links and the simulated phone)."""
    actions = list(getattr(content, "actions", None) or [])
    for column in getattr(content, "columns", None) or []:
        actions.extend(getattr(column, "actions", None) or [])
        if getattr(column, "action", None) is not None:
            actions.append(column.action)
    if getattr(content, "button", None) is not None:
        actions.append(content.button)
    actions.extend(content.quick_replies or [])
    return actions


def contents_check_kinds(contents, *, supported: frozenset[str], channel_name: str, field: str = "messages") -> None:
    """Refuse, naming the field, the first content a channel cannot show (e.g. a WhatsApp template on LINE)."""
    for i, content in enumerate(contents):
        kind = content.get("type") if isinstance(content, dict) else getattr(content, "type", None)
        if kind not in supported:
            raise ServiceError(
                _("%(channel)s cannot show %(kind)s; send it on another channel.")
                % {"channel": channel_name, "kind": KIND_NAMES.get(kind, kind)},
                field=f"{field}[{i}].type",
            )
