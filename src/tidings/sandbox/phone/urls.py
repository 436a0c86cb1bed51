from django.urls import path

from . import views

app_name = "sandbox_phone"
urlpatterns = [
    path("phones", views.phone_list, name="phones"),
    path("open", views.open_link, name="open_link"),
    path("phone/<int:persona_id>", views.phone, name="phone"),
    path("phone/<int:persona_id>/chat", views.phone_chat, name="chat"),
    path("phone/<int:persona_id>/act", views.phone_act, name="act"),
]
