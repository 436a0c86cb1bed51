"""The tracked-link redirect: /l/<token> counts the click and sends the browser on to the original URL, with a
signed `_tid` the shop page's script can use to bind that browser to the message's recipient."""

from django.http import Http404, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .links import tracked_link_destination
from .services import tracked_link_click


@never_cache  # every tap must reach us to be counted, not a cached redirect
@require_GET
def tracked_link(request, token: str):
    url = tracked_link_click(token=token)
    if url is None:
        raise Http404
    return HttpResponseRedirect(tracked_link_destination(token=token, url=url))
