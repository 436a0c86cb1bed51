"""Instagram Messaging: Messenger's Send API and webhook shape (object "instagram"), with Instagram's own limits.

What Instagram shows (Meta's Instagram Messaging pages): text (≤ 1,000 bytes of UTF-8), image and video
attachments, the button template (up to 3 buttons; "not available in the web version", so a desktop user sees
nothing), the generic template (≤ 10 elements) and text quick replies (≤ 13). There is no call button
(phone_number). Message tags: HUMAN_AGENT only (7 days after the customer's last message); the update tags are
Messenger-only. Instagram sends no message_deliveries webhooks: a message goes from sent to read
(messaging_seen) directly.
"""

from tidings.channels.adapters.messenger import MessengerAdapter, renderer, window
from tidings.channels.registry import adapter_register


class InstagramAdapter(MessengerAdapter):
    channel = "instagram"
    webhook_object = "instagram"
    limits = renderer.INSTAGRAM
    allowed_tags = window.INSTAGRAM_TAGS


adapter_register(InstagramAdapter())
