"""Pending durable timers, and the sandbox test clock with "advance by"."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from tidings.core import clock
from tidings.core.durations import format_duration, parse_duration
from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.timers.models import TimerState
from tidings.timers.selectors import pending_timers, timer_state_counts
from tidings.timers.services import clock_advance

from ..access import form_error, require
from ..forms import ClockForm


def _render(request, form, status=200):
    workspace = request.workspace
    counts = timer_state_counts(workspace)
    return render(request, "console/timers.html", {
        "page": Paginator(pending_timers(workspace), 100).get_page(request.GET.get("page")),
        "counts": [(state.label, counts.get(state.value, 0)) for state in TimerState],
        "clock_now": clock.now(workspace),
        "clock_offset": format_duration(workspace.clock_offset) if workspace.clock_offset else "",
        "form": form,
    }, status=status)


@require(Permission.TIMERS_VIEW)
def timer_list(request):
    return _render(request, ClockForm())


@require_POST
@require(Permission.TIMERS_VIEW)
def clock_advance_view(request):
    form = ClockForm(request.POST)
    if form.is_valid():
        try:
            by = parse_duration(form.cleaned_data["advance"])
            fired = clock_advance(workspace=request.workspace, by=by, actor=request.user)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, ngettext(
                "The clock moved forward by %(by)s; %(n)d timer fired.",
                "The clock moved forward by %(by)s; %(n)d timers fired.", fired,
            ) % {"by": format_duration(by), "n": fired})
            return redirect("console:timers")
    return _render(request, form, status=400)
