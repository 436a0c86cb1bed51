from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>", views.tracked_link, name="tracked-link"),
]
