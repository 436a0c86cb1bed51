from django.urls import path

from .views import errors

app_name = "console"
urlpatterns = [
    path("", errors.not_found, name="home"),
    path("login", errors.not_found, name="login"),
]
