"""The fake Messenger / Instagram Send API under /sandbox/graph/<public_id>/.

WhatsApp's send is also `/v23.0/<id>/messages`, so the path alone cannot tell the products apart. The account's
public id is matched by a converter that only accepts Messenger and Instagram sandbox accounts: for any other
account this pattern does not match and URL resolution moves on to the next include (WhatsApp's).
"""

import uuid

from django.urls import path, register_converter

from tidings.channels.models import ChannelAccount

from .messenger import messages


class MessengerAccountConverter:
    regex = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        public_id = uuid.UUID(value)
        if not ChannelAccount.objects.filter(public_id=public_id, mode="sandbox",
                                             channel__in=("messenger", "instagram")).exists():
            raise ValueError("not a sandbox Messenger or Instagram account")  # no match: try the next pattern
        return public_id

    def to_url(self, value) -> str:
        return str(value)


register_converter(MessengerAccountConverter, "messenger_account")

urlpatterns = [
    path("<messenger_account:public_id>/v23.0/<str:page_id>/messages", messages),
]
