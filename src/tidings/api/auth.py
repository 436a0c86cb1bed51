"""Bearer-token authentication: ``Authorization: Bearer tid_...``.

A token belongs to one workspace and one member. On success `request.auth` is the `ApiToken`, and
`request.workspace` / `request.membership` are its workspace and member, so routes never take a workspace from the
URL or the body. A missing, unknown or revoked token, or one whose member was deactivated, answers 401.
"""

from django.http import HttpRequest
from django.utils import translation
from ninja.security import HttpBearer

from tidings.core.models import ApiToken
from tidings.core.services import api_token_authenticate


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        # The permission gate authenticates before ninja's own run does; look the token up once per request.
        cached = getattr(request, "_tidings_token", None)
        if cached is not None and cached[0] == token:
            return cached[1]
        api_token = self._authenticate(request, token)
        request._tidings_token = (token, api_token)
        return api_token

    def _authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = api_token_authenticate(raw=token.strip())
        if api_token is None:
            return None
        membership = api_token.membership
        membership.workspace = api_token.workspace  # one object, so permission checks need no extra query
        request.workspace = api_token.workspace
        request.membership = membership
        # Messages follow Accept-Language when the client sends one, else the token owner's language.
        if "HTTP_ACCEPT_LANGUAGE" not in request.META and membership.user.language:
            translation.activate(membership.user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return api_token


token_auth = TokenAuth()


def actor(request: HttpRequest):
    """The user to record in the audit log for this request's writes."""
    return request.auth.membership.user
