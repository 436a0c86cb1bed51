"""Settings for the webhook-ingest benchmark's server: Tidings' own, plus a baseline view (bench_urls.py).

Used only by bench/webhook_ingest/run.py through DJANGO_SETTINGS_MODULE; never by Tidings itself.
"""

from tidings.settings import *  # noqa: F403

ROOT_URLCONF = "bench.webhook_ingest.bench_urls"
