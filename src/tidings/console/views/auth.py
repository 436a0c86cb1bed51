"""Log in, log out, and the language switch (login page and logged-in members alike)."""

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tidings.core.errors import ServiceError
from tidings.core.services import login_attempts_exhausted, login_failure_record, login_failures_clear, user_set_language

from ..forms import LoginForm


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def _language_cookie(response, language: str):
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def login_view(request):
    if request.user.is_authenticated:
        return redirect(_safe_next(request, "console:home"))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        address = request.META.get("REMOTE_ADDR", "")
        if login_attempts_exhausted(email=email, address=address):
            # Refused before the password is even looked at.
            form.add_error(None, _("Too many failed attempts. Wait a few minutes and try again."))
            status = 429
        else:
            user = authenticate(request, username=email, password=form.cleaned_data["password"])
            if user is None:
                login_failure_record(email=email, address=address)
                form.add_error(None, _("That email and password do not match an active account."))
                status = 400
            else:
                login_failures_clear(email=email, address=address)
                login(request, user)
                response = redirect(_safe_next(request, "console:home"))
                return _language_cookie(response, user.language)
    return render(request, "console/login.html", {"form": form, "next": _safe_next(request, "")}, status=status)


@require_POST
def logout_view(request):
    logout(request)
    return redirect("console:login")


@require_POST
def language_view(request):
    """Switch the console language: remembered on the member, and in the language cookie for the login page."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated:
        try:
            user_set_language(user=request.user, language=language)
        except ServiceError:
            return redirect(_safe_next(request, "console:home"))
    elif language not in dict(settings.LANGUAGES):
        return redirect(_safe_next(request, "console:login"))
    translation.activate(language)
    fallback = "console:home" if request.user.is_authenticated else "console:login"
    return _language_cookie(redirect(_safe_next(request, fallback)), language)
