"""API tokens: list, create (the raw token is shown once, in the response to the create request), revoke."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tidings.core.errors import ServiceError
from tidings.core.models import ApiToken
from tidings.core.permissions import Permission
from tidings.core.selectors import api_tokens_list
from tidings.core.services import api_token_create, api_token_revoke

from ..access import form_error, require
from ..forms import TokenForm


@require(Permission.TOKENS_MANAGE)
def token_list(request):
    return render(request, "console/tokens/list.html", {"tokens": api_tokens_list(request.workspace)})


@require(Permission.TOKENS_MANAGE)
def token_add(request):
    form = TokenForm(request.POST or None, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = api_token_create(workspace=request.workspace, actor=request.user,
                                          membership=form.cleaned_data["membership"], name=form.cleaned_data["name"])
        except ServiceError as exc:
            form_error(form, exc)
        else:
            # Rendered, not redirected: the raw value exists only in this response.
            response = render(request, "console/tokens/created.html", {"token": token, "raw": raw})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "console/tokens/form.html", {"form": form})


@require_POST
@require(Permission.TOKENS_MANAGE)
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken.objects.for_workspace(request.workspace), pk=token_id)
    api_token_revoke(workspace=request.workspace, actor=request.user, token=token)
    messages.success(request, _("The token %(name)s was revoked.") % {"name": token.name})
    return redirect("console:tokens")
