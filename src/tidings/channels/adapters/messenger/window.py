"""The 24-hour standard messaging window and message tags (Messenger Platform "Message Tags"; NOTES.md).

Inside 24 hours of the person's last message anything may be sent (messaging_type RESPONSE). Outside it only a
message tagged with one of the few allowed non-promotional purposes goes, and HUMAN_AGENT (a person answering by
hand) only up to 7 days after the last message. An allowed tag inside the window is accepted too: Meta takes it,
and the send then goes as MESSAGE_TAG. Any other tag is refused whatever the window, because Meta would refuse it.

Instagram Messaging accepts HUMAN_AGENT only: Meta's tag reference marks CONFIRMED_EVENT_UPDATE,
POST_PURCHASE_UPDATE and ACCOUNT_UPDATE "not available for Instagram Messaging API".
"""

import datetime

from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError

WINDOW = datetime.timedelta(hours=24)
HUMAN_AGENT_WINDOW = datetime.timedelta(days=7)
HUMAN_AGENT = "HUMAN_AGENT"
MESSENGER_TAGS = ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", HUMAN_AGENT)
INSTAGRAM_TAGS = (HUMAN_AGENT,)


def in_window(last_inbound_at, now, window: datetime.timedelta = WINDOW) -> bool:
    return last_inbound_at is not None and now - last_inbound_at < window


def check_recipient(*, channel_name: str, allowed_tags: tuple[str, ...], options: dict, last_inbound_at,
                    now) -> None:
    """Raise ServiceError (field `tag`) when this send may not go to this person now."""
    tag = (options or {}).get("tag") or None
    allowed = ", ".join(allowed_tags)
    if tag is not None and tag not in allowed_tags:
        raise ServiceError(
            _("%(tag)s is not a message tag %(channel)s accepts. Use one of %(tags)s, and only for what the tag "
              "says: tags may never carry promotions (offers, coupons, discounts).")
            % {"tag": tag, "channel": channel_name, "tags": allowed},
            field="tag",
        )
    if in_window(last_inbound_at, now):
        return
    if tag is None:
        if last_inbound_at is None:
            reason = _("This customer has not written to this account yet, so no 24-hour window is open.")
        else:
            reason = _("This customer last wrote %(hours)s hours ago; %(channel)s only allows free messages within "
                       "24 hours of the customer's last message.") % {
                "hours": int((now - last_inbound_at).total_seconds() // 3600), "channel": channel_name}
        raise ServiceError(
            "%s %s" % (reason, _("Outside the window a message needs a message tag (%(tags)s) and may not be "
                                 "promotional; or wait until the customer writes again.") % {"tags": allowed}),
            field="tag",
        )
    if tag == HUMAN_AGENT and not in_window(last_inbound_at, now, HUMAN_AGENT_WINDOW):
        raise ServiceError(
            _("The HUMAN_AGENT tag covers 7 days after the customer's last message, and this customer has not "
              "written for longer than that."),
            field="tag",
        )
