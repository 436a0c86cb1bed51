"""Graph paths the three products share, told apart by the account they are for.

`/v23.0/<id>/messages` is WhatsApp's send on a phone number id and Messenger/Instagram's on a Page or account id;
`/v23.0/<id>` is a WhatsApp media object (GET) or a template edit (POST). Only the account can tell them apart, and
it is looked up here, inside a view: URL converters may not query the database (under ASGI they resolve in the event
loop, where Django forbids it).
"""

from django.views.decorators.csrf import csrf_exempt

from . import messenger, templates, whatsapp
from .common import graph_account


@csrf_exempt
def messages(request, public_id, object_id: str):
    account = graph_account(public_id)  # looked up once, for the choice and for the endpoint
    if account is not None and account.channel in ("messenger", "instagram"):
        return messenger.messages(request, public_id, page_id=object_id, account=account)
    return whatsapp.messages_view(request, public_id, phone_number_id=object_id, account=account)


@csrf_exempt
def graph_object(request, public_id, object_id: str):
    if request.method == "GET" and whatsapp.media_known(object_id):
        return whatsapp.media_get_view(request, public_id, media_id=object_id)
    return templates.template_edit(request, public_id, template_id=object_id)
