"""Tidings' URLs plus the benchmark's baseline: a bare view that only checks a LINE signature and answers 200.

The baseline does the least any receiver must: find the account, decrypt its channel secret, check
`x-line-signature` over the raw body. Tidings' receiver does that and also stores each event and enqueues its
processing; the benchmark compares the two in one run.
"""

from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from tidings.channels.adapters.line.signature import line_signature_valid
from tidings.channels.models import ChannelAccount


@csrf_exempt
def bare_line_webhook(request, public_id):
    account = ChannelAccount.objects.filter(public_id=public_id, channel="line").first()
    if account is None:
        return HttpResponse(status=404)
    if not line_signature_valid(account.credentials.get("channel_secret", ""), request.body,
                                request.headers.get("x-line-signature")):
        return JsonResponse({"error": "invalid signature"}, status=401)
    return JsonResponse({})


urlpatterns = [
    path("bench/bare/line/<uuid:public_id>", bare_line_webhook),
    path("", include("tidings.urls")),
]
