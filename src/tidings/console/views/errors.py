"""403 and 404 pages (wired as handler403 / handler404 in tidings.urls), inside the layout when logged in."""

from django.shortcuts import render


def _layout(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and getattr(request, "membership", None))


def forbidden(request, exception=None):
    return render(request, "console/403.html", {"in_layout": _layout(request)}, status=403)


def not_found(request, exception=None):
    return render(request, "console/404.html", {"in_layout": _layout(request)}, status=404)
