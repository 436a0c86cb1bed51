"""Attach the member's current workspace and seat to each request, and speak the member's language."""

from django.utils import translation

from .selectors import current_membership


class MemberContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.workspace = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = current_membership(user)
            if membership is not None:
                request.membership = membership
                request.workspace = membership.workspace
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
