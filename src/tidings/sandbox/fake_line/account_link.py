"""The fake LINE account-link dialog (`https://access.line.me/dialog/bot/accountLink?linkToken=…&nonce=…`), at
`{base_url}/dialog/bot/accountLink` of a sandbox LINE account.

At LINE the dialog runs in the user's LINE app, which knows who they are, and LINE checks that the link token
was issued to that very user. The fake knows the user from the link token it issued (`POST …/linkToken`), shows
whom it is about to link, and on "Link" spends the token and sends the signed `accountLink` webhook: result `ok`
with the user's id, or `failed` (no `source`, as LINE sends it) for a token that expired or was already used.
"""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from ..models import SandboxToken
from ..selectors import sandbox_account_by_public_id
from ..services import sandbox_token_use
from .webhooks import line_event_account_link, line_webhook_send


def _nonce_ok(nonce: str) -> bool:
    return 10 <= len(nonce) <= 255


def line_account_link_confirm(account, link_token: str, nonce: str) -> tuple[str, int | None]:
    """The user tapped "Link": (result, what Tidings' webhook answered). result: ok | failed | unknown (a token
    this account never issued: nothing to tell the bot)."""
    issued = (SandboxToken.objects.select_related("persona")
              .filter(account=account, kind="link", token=link_token).first())
    if issued is None:
        return "unknown", None
    result = "ok" if sandbox_token_use(account=account, kind="link", token=link_token) else "failed"
    # The token is spent (committed) before the webhook goes out, as LINE would have it.
    response = line_webhook_send(account, [line_event_account_link(issued.persona, nonce, result)])
    return result, getattr(response, "status_code", None)


@never_cache
def dialog(request, public_id):
    account = sandbox_account_by_public_id(public_id, "line")
    if account is None:
        raise Http404
    source = request.POST if request.method == "POST" else request.GET
    link_token, nonce = source.get("linkToken", ""), source.get("nonce", "")
    issued = (SandboxToken.objects.select_related("persona")
              .filter(account=account, kind="link", token=link_token).first() if link_token else None)
    context = {"account": account, "persona": issued.persona if issued else None, "link_token": link_token,
               "nonce": nonce, "valid": bool(link_token) and _nonce_ok(nonce)}
    if request.method == "POST" and context["valid"]:
        context["result"], context["webhook_status"] = line_account_link_confirm(account, link_token, nonce)
    status = 200 if context["valid"] else 400
    return render(request, "sandbox/line_account_link.html", context, status=status)
