from django.urls import path

from . import views

# Mounted at /bind/: the browser endpoints the shop's pages call (CORS, JSON).
app_name = "binding"
urlpatterns = [
    path("v1/start", views.start, name="start"),
    path("v1/status", views.status, name="status"),
    path("v1/line-link", views.line_link, name="line_link"),
    path("v1/tracked", views.tracked, name="tracked"),
    path("v1/phone/send", views.phone_send, name="phone_send"),
    path("v1/phone/verify", views.phone_verify, name="phone_verify"),
]
