from django.urls import path

from . import views

# {BASE_URL}/sandbox/twilio/<account public id>/ + Twilio's own paths (API 2010-04-01).
urlpatterns = [
    path("<uuid:public_id>/2010-04-01/Accounts/<str:account_sid>/Messages.json", views.messages,
         name="fake_twilio_messages"),
    path("<uuid:public_id>/2010-04-01/Accounts/<str:account_sid>/Messages/<str:sid>.json", views.message,
         name="fake_twilio_message"),
]
