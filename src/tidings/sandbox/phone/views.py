"""The simulated phone: a persona's LINE chat and SMS thread, and the buttons that make them act.

Console login required; sandbox workspaces only (404 elsewhere); `Permission.CHANNELS_MANAGE`. Every action goes
through `personas.persona_act`, i.e. reaches Tidings as the provider's signed webhook.
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can

from ..fake_line.services import sandbox_line_impression
from ..models import SandboxDelivery
from ..personas import USER_KIND, persona_act, persona_deliveries, persona_get, personas_list, sandbox_account
from ..personas_meta import DEMO_CATALOG, META_CHANNELS, persona_in_window, persona_meta_read, persona_on
from .deeplinks import deeplink_check, deeplink_open_ref, personas_on_channel
from .render import timeline
from .render_meta import meta_timeline

TABS = ("line", "sms", *META_CHANNELS)
TAB_LABELS = {"line": "LINE", "whatsapp": "WhatsApp", "messenger": "Messenger", "instagram": "Instagram"}


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


def _tabs(persona) -> list[str]:
    """The apps on the persona's phone, the first one opening: LINE (also for a persona on none of LINE and Meta's
    channels, whose LINE tab explains it has no LINE account), Meta's channels it is on, and SMS always."""
    meta = [channel for channel in META_CHANNELS if persona_on(persona, channel)]
    line = ["line"] if persona.line_user_id or not meta else []
    return [*line, *meta, "sms"]


def _tab(request, persona) -> str:
    tabs = _tabs(persona)
    tab = request.GET.get("tab") or request.POST.get("tab") or tabs[0]
    return tab if tab in tabs else tabs[0]


def _version(persona, tab) -> str:
    """Changes whenever what the chat shows changes; polling answers 204 while it stays the same."""
    deliveries = persona_deliveries(persona, tab)
    last = deliveries.order_by("-id").values_list("id", flat=True).first() or 0
    state = f"{int(persona.line_friend)}{int(persona.line_blocked)}{int(persona.pnp_consent)}"
    if tab in META_CHANNELS:
        state = f"{int(persona_in_window(persona, tab))}{deliveries.filter(delivered=True).count()}"
    return f"{tab}-{last}-{deliveries.count()}-{state}"


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
    meta = tab in META_CHANNELS
    if meta:
        try:
            persona_meta_read(persona, tab)  # looking at the chat reads it, as in the app
        except ServiceError:
            pass  # Tidings unreachable: the read receipt is lost, as a phone offline would lose it
    deliveries = persona_deliveries(persona, tab)
    return {
        "persona": persona, "tab": tab, "account": account, "tabs": [(t, TAB_LABELS.get(t)) for t in _tabs(persona)],
        "meta": meta, "in_window": meta and persona_in_window(persona, tab),
        "catalog": DEMO_CATALOG if tab == "whatsapp" else [],
        "items": meta_timeline(deliveries, tab) if meta else timeline(deliveries, tab),
        "version": _version(persona, tab), "notice": notice, "error": error,
        "can_chat": tab == "sms" or meta or (persona.line_user_id and not persona.line_blocked),
    }


def _order_items(post) -> list[dict]:
    """The catalog panel's quantities (`qty_<product>`) as WhatsApp order items."""
    items = []
    for product in DEMO_CATALOG:
        raw = post.get(f"qty_{product['product_retailer_id']}", "") or "0"
        quantity = int(raw) if raw.isdigit() else 0
        if quantity:
            items.append({"product_retailer_id": product["product_retailer_id"], "quantity": quantity,
                          "item_price": product["item_price"], "currency": product["currency"]})
    return items


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
    tab = _tab(request, persona)
    context = _chat_context(request, persona, tab)
    # A deep link (LINE oaMessage, wa.me) opens the chat with its message typed in, not yet sent.
    context["prefill"] = request.GET.get("text", "")[:5000]
    return render(request, "sandbox/phone.html", context)


@sandbox_member
def open_link(request):
    """A binding deep link of a sandbox account: choose whose phone opens it (see deeplinks.py)."""
    source = request.POST if request.method == "POST" else request.GET
    channel, text, ref = source.get("channel", ""), source.get("text", ""), source.get("ref", "")
    error = None
    try:
        deeplink_check(channel, text=text, ref=ref)
    except ServiceError as exc:
        return render(request, "sandbox/open_link.html", {"error": str(exc.message)}, status=400)
    if request.method == "POST":
        chosen = source.get("persona", "")
        persona = _persona(request, int(chosen) if chosen.isdigit() else 0)
        try:
            status = deeplink_open_ref(persona=persona, channel=channel, ref=ref)
        except ServiceError as exc:
            error = str(exc.message)
        else:
            if status == 200:
                url = reverse("sandbox_phone:phone", kwargs={"persona_id": persona.pk})
                return redirect(f"{url}?{urlencode({'tab': channel})}")
            error = _("Tidings answered the webhook with HTTP %(status)s.") % {"status": status}
    personas = [
        {"persona": p, "url": reverse("sandbox_phone:phone", kwargs={"persona_id": p.pk}) + "?"
         + urlencode({"tab": channel, "text": text})}
        for p in personas_on_channel(request.workspace, channel)
    ]
    return render(request, "sandbox/open_link.html", {
        "channel": channel, "app": TAB_LABELS.get(channel, channel), "text": text, "ref": ref,
        "personas": personas, "error": error, "by_ref": bool(ref) and channel not in ("line", "whatsapp"),
    })


@sandbox_member
def phone_chat(request, persona_id):
    """The chat region, for polling: 204 (htmx leaves the page alone) while nothing changed."""
    persona = _persona(request, persona_id)
    tab = _tab(request, persona)
    if request.GET.get("v") == _version(persona, tab):
        return HttpResponse(status=204)
    return render(request, "sandbox/_chat.html", _chat_context(request, persona, tab))


@require_POST
@sandbox_member
def phone_act(request, persona_id):
    persona = _persona(request, persona_id)
    tab = _tab(request, persona)
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
            delivery=delivery, items=_order_items(request.POST) if action == "order" else None,
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
