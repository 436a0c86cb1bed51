"""The simulated phone: a persona's LINE chat and SMS thread, and the buttons that make them act.

Console login required; sandbox workspaces only (404 elsewhere); `Permission.CHANNELS_MANAGE`. Every action goes
through `personas.persona_act`, i.e. reaches Tidings as the provider's signed webhook.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can

from ..fake_line.services import sandbox_line_impression
from ..models import SandboxDelivery
from ..personas import USER_KIND, persona_act, persona_deliveries, persona_get, personas_list, sandbox_account
from .render import timeline

TABS = ("line", "sms")


def sandbox_member(view):
    """Login (anonymous → login page), then Permission.CHANNELS_MANAGE (else 403), then a sandbox workspace (else
    404: outside a sandbox there are no personas)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not member_can(request.membership, Permission.CHANNELS_MANAGE):
            raise PermissionDenied
        if request.workspace is None or not request.workspace.is_sandbox:
            raise Http404
        return view(request, *args, **kwargs)

    wrapped.permission = Permission.CHANNELS_MANAGE
    return wrapped


def _persona(request, persona_id):
    persona = persona_get(request.workspace, persona_id)
    if persona is None:
        raise Http404
    return persona


def _tab(request) -> str:
    tab = request.GET.get("tab") or request.POST.get("tab") or "line"
    return tab if tab in TABS else "line"


def _version(persona, tab) -> str:
    """Changes whenever what the chat shows changes; polling answers 204 while it stays the same."""
    deliveries = persona_deliveries(persona, tab)
    last = deliveries.order_by("-id").values_list("id", flat=True).first() or 0
    return f"{tab}-{last}-{deliveries.count()}-{int(persona.line_friend)}{int(persona.line_blocked)}" \
           f"{int(persona.pnp_consent)}"


def _mark_seen(persona) -> None:
    """Showing a LINE message on the phone is an impression (LINE's unit statistics count them); once each."""
    unseen = (SandboxDelivery.objects.filter(persona=persona, channel="line", delivered=True)
              .exclude(kind=USER_KIND).exclude(interactions__kind="impression"))
    for delivery in unseen:
        sandbox_line_impression(delivery)


def _chat_context(request, persona, tab, *, notice=None, error=None) -> dict:
    account = sandbox_account(request.workspace, tab)
    if tab == "line":
        _mark_seen(persona)
    return {
        "persona": persona, "tab": tab, "account": account,
        "items": timeline(persona_deliveries(persona, tab), tab),
        "version": _version(persona, tab), "notice": notice, "error": error,
        "can_chat": tab == "sms" or (persona.line_user_id and not persona.line_blocked),
    }


@sandbox_member
def phone_list(request):
    personas = personas_list(request.workspace).select_related("contact")
    return render(request, "sandbox/phones.html", {
        "personas": personas,
        "line_account": sandbox_account(request.workspace, "line"),
        "sms_account": sandbox_account(request.workspace, "sms"),
    })


@sandbox_member
def phone(request, persona_id):
    persona = _persona(request, persona_id)
    tab = _tab(request)
    return render(request, "sandbox/phone.html", _chat_context(request, persona, tab))


@sandbox_member
def phone_chat(request, persona_id):
    """The chat region, for polling: 204 (htmx leaves the page alone) while nothing changed."""
    persona = _persona(request, persona_id)
    tab = _tab(request)
    if request.GET.get("v") == _version(persona, tab):
        return HttpResponse(status=204)
    return render(request, "sandbox/_chat.html", _chat_context(request, persona, tab))


@require_POST
@sandbox_member
def phone_act(request, persona_id):
    persona = _persona(request, persona_id)
    tab = _tab(request)
    action = request.POST.get("action", "")
    delivery = None
    if request.POST.get("delivery"):
        delivery = SandboxDelivery.objects.filter(persona=persona, pk=request.POST["delivery"]).first()
        if delivery is None:
            raise Http404
    notice = error = None
    try:
        result = persona_act(
            workspace=request.workspace, persona=persona, action=action, channel=tab,
            text=request.POST.get("text", ""), button=request.POST.get("button"), url=request.POST.get("url", ""),
            delivery=delivery,
        )
    except ServiceError as exc:
        error = str(exc.message)
    else:
        if result.link:
            notice = {"link": result.link["location"]}
        elif result.webhook_status is not None and result.webhook_status != 200:
            error = _("Tidings answered the webhook with HTTP %(status)s.") % {"status": result.webhook_status}
    persona.refresh_from_db()
    if not request.htmx:
        return redirect(f"{request.path.rsplit('/', 1)[0]}?tab={tab}")
    return render(request, "sandbox/_chat.html", _chat_context(request, persona, tab, notice=notice, error=error))
