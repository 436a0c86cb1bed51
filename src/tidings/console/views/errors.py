from django.http import HttpResponseForbidden, HttpResponseNotFound


def forbidden(request, exception=None):
    return HttpResponseForbidden("forbidden")


def not_found(request, exception=None):
    return HttpResponseNotFound("not found")
