from django.urls import path

from . import views

app_name = "widget"
urlpatterns = [
    path("v1/tidings.js", views.script, name="script"),
    path("v1/collect", views.collect, name="collect"),
]
