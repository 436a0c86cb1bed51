"""Deep links opened on the simulated phone, standing in for the chat apps (SPEC D2 binding in the sandbox).

A binding link for a sandbox account leads to `/sandbox/open?channel=…&text=…` (LINE's oaMessage link, wa.me) or
`…&ref=…` (m.me, ig.me). The page asks which persona's phone opens it; then
- a `text` opens that persona's chat with the text typed in, ready to send (sending is the persona's choice, as in
  the app);
- a `ref` opens the chat, which Messenger / Instagram report at once: a new thread as the Get Started postback
  carrying the referral, an existing one as a `messaging_referrals` event - both signed webhooks.
"""

import httpx
from django.db import transaction
from django.utils.translation import gettext as _

from tidings.core import clock
from tidings.core.errors import ServiceError

from ..fake_graph.common import graph_webhook_send
from ..fake_graph.messenger_webhooks import mg_postback, mg_referral, mg_webhook_body
from ..models import Persona, SandboxDelivery
from ..personas import personas_list
from ..personas_meta import CHANNEL_NAMES, ID_FIELD, LAST_FIELD, USER_KIND, meta_account

LINK_CHANNELS = ("line", "whatsapp", "messenger", "instagram")
REF_CHANNELS = ("messenger", "instagram")
GET_STARTED = ("Get Started", "GET_STARTED")  # the button a new Messenger thread starts with (title, payload)


def deeplink_check(channel: str, *, text: str = "", ref: str = "") -> None:
    if channel not in LINK_CHANNELS:
        raise ServiceError(_("Unknown channel."), field="channel")
    if channel in REF_CHANNELS:
        if not ref or len(ref) > 200:
            raise ServiceError(_("This link carries no ref."), field="ref")
    elif not text or len(text) > 1000:
        raise ServiceError(_("This link carries no message."), field="text")


def personas_on_channel(workspace, channel: str):
    """The personas whose phone has this app (LINE: a LINE account; Meta's: an id there)."""
    personas = personas_list(workspace)
    if channel == "line":
        return personas.exclude(line_user_id="")
    return personas.exclude(**{ID_FIELD[channel]: ""})


def deeplink_open_ref(*, persona: Persona, channel: str, ref: str) -> int | None:
    """The persona opens an m.me / ig.me link with `ref`; returns what Tidings' webhook answered."""
    deeplink_check(channel, ref=ref)
    account = meta_account(persona.workspace, channel)
    if account is None:
        raise ServiceError(_("This workspace has no sandbox %(channel)s account.") % {"channel": CHANNEL_NAMES[channel]},
                           field="channel")
    if not getattr(persona, ID_FIELD[channel]):
        raise ServiceError(_("This persona is not on %(channel)s.") % {"channel": CHANNEL_NAMES[channel]},
                           field="channel")
    new_thread = not SandboxDelivery.objects.filter(persona=persona, channel=channel).exists()
    with transaction.atomic():
        # Opening the thread by a link counts as the person writing: it opens the 24-hour window.
        Persona.objects.filter(pk=persona.pk).update(**{LAST_FIELD[channel]: clock.now(persona.workspace)})
        if new_thread:
            item = mg_postback(account, persona, *GET_STARTED, ref=ref)
            SandboxDelivery.objects.create(
                workspace=persona.workspace, account=account, persona=persona, provider=channel, channel=channel,
                kind=USER_KIND, payload=item, provider_message_id=item["postback"]["mid"], delivered=True)
        else:
            item = mg_referral(account, persona, ref)
    try:
        response = graph_webhook_send(account, mg_webhook_body(account, [item]))
    except httpx.HTTPError as exc:
        raise ServiceError(_("Tidings' webhook could not be reached: %(error)s") % {"error": exc}) from None
    return getattr(response, "status_code", None)
