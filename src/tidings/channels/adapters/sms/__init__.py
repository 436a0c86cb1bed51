"""SMS: one channel, providers behind an interface (providers.py); Twilio is the one shipped."""

from tidings.channels.registry import adapter_register

from . import twilio  # noqa: F401 - registers the Twilio provider
from .adapter import SmsAdapter
from .segments import sms_segments

adapter_register(SmsAdapter())

__all__ = ["SmsAdapter", "sms_segments"]
