from django.urls import path, register_converter

from . import whatsapp


class _MediaId:
    """Only ids of media the fake stored: any other /v23.0/<id> (a template id, say) falls through to later
    patterns (a converter's ValueError means "no match")."""

    regex = r"\d{16}"

    def to_python(self, value: str) -> str:
        if not whatsapp.media_known(value):
            raise ValueError(value)
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(_MediaId, "wa_media")

# Graph paths under a sandbox WhatsApp account's base_url (/sandbox/graph/<public_id>).
urlpatterns = [
    path("<uuid:public_id>/v23.0/<str:phone_number_id>/messages", whatsapp.messages_view,
         name="fake-whatsapp-messages"),
    path("<uuid:public_id>/v23.0/<str:phone_number_id>/media", whatsapp.media_upload_view,
         name="fake-whatsapp-media-upload"),
    path("<uuid:public_id>/v23.0/<wa_media:media_id>", whatsapp.media_get_view, name="fake-whatsapp-media"),
    path("<uuid:public_id>/whatsapp_business/attachments/", whatsapp.media_download_view,
         name="fake-whatsapp-media-download"),
]
