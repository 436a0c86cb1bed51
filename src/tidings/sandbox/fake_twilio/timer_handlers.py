"""The fake Twilio's message lifecycle steps: each fires on the workspace clock and posts the status callback."""

from tidings.channels.models import ChannelAccount
from tidings.timers.registry import timer_handler

from .services import CALLBACK_KIND
from .webhooks import twilio_post_signed, twilio_status_callback_params


@timer_handler(CALLBACK_KIND, outside_transaction=True)
def twilio_status_step(timer):
    p = timer.payload
    account = ChannelAccount.objects.filter(pk=p["account_id"]).first()
    if account is None or not p.get("callback_url"):
        return  # the step still happened (the timer is done, so the message shows it); nobody asked to be told
    params = twilio_status_callback_params(account, sid=p["sid"], status=p["status"], to=p["to"], sender=p["from"],
                                           error_code=p.get("error_code"), done_at=timer.due_at)
    twilio_post_signed(account, p["callback_url"], params)
