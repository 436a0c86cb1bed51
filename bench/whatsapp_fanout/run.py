#!/usr/bin/env python
"""WhatsApp fan-out benchmark: one template broadcast to N WhatsApp numbers through the pipeline; messages per second.

    bench/run whatsapp_fanout                               # SQLite, 10,000 numbers, 2 workers, both runs
    bench/run whatsapp_fanout --database-url postgres://postgres@127.0.0.1:5432/postgres

It makes a throwaway database, migrates it, creates a sandbox workspace with a sandbox WhatsApp number on the top
throughput tier (1,000 messages/s), creates a template through the templates app (submitted to the fake Graph API and
approved by its review), and bulk-inserts N personas with WhatsApp numbers and their identities. Then, per run, one
resumable `message_send_bulk` of that template (a message row and a /messages request per number, as WhatsApp has
no multicast; stored 1,000 at a time, delivering from the first part on), timed from the call to the last
dispatch's `sent_at`:

- `pipeline`: W real `tidings worker` processes whose WhatsApp adapter builds each request body but answers "sent"
  without HTTP (null_provider.py): Tidings' own cost.
- `e2e`: a real `tidings serve` serves the fake Graph API; W workers send every message to it over HTTP; the fake
  checks each request (token, number, template approved, parameters, 130429 above the tier) and records a delivery,
  and its status webhooks (sent, delivered) come back to Tidings through the same server while the run goes on.

Goal: 1,000 messages/s (WhatsApp's top tier). Tidings' own limiter spaces requests at 80% of an account's limit, so
800/s is the most a single number can reach by design (--tier 100000 lifts it to measure the pipeline alone). The e2e
run checks every persona got exactly one delivery.
"""

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench.common import analyze, server_start, tidings_bench, timed_send, workers_start  # noqa: E402

GOAL = 1_000  # messages per second: WhatsApp's top throughput tier
TEMPLATE = {"name": "bench_order_update", "language": "en", "category": "UTILITY", "audience": "general",
            "body": "Hi {{1}}, your order {{2}} is on its way.", "buttons": [
                {"type": "quick_reply", "text": "Thanks"}, {"type": "url", "text": "Track", "url":
                                                              "https://shop.example.com/track"}]}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=10_000, help="WhatsApp numbers to send to (default 10000)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--server-workers", type=int, default=1, help="`tidings serve` processes for e2e (default 1)")
    p.add_argument("--mode", choices=["both", "pipeline", "e2e"], default="both")
    p.add_argument("--database-url", help="a PostgreSQL server URL; a database tidings_bench_wa is made on it")
    p.add_argument("--tier", type=int, default=1000,
                   help="the number's throughput tier, messages/s (default 1000, WhatsApp's top; a higher one takes "
                        "Tidings' limiter out of the way to measure the pipeline's own capacity)")
    p.add_argument("--timeout", type=float, default=900, help="give up after this many seconds (default 900)")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return p.parse_args()


def approved_template(workspace, account):
    """The bench template, created through the templates app (in-process to the fake) and approved by the review."""
    from django.conf import settings
    from django.db import transaction

    from tidings.message_templates.services import template_create, template_status_apply
    from tidings.sandbox.fake_graph.templates import template_review

    settings.INPROCESS_HTTP = True  # the fake Graph API answers in this process; no server needed yet
    try:
        template = template_create(workspace=workspace, actor=None, data=TEMPLATE, account=account)
    finally:
        settings.INPROCESS_HTTP = False
    reviewed = template_review(template.provider_template_id)
    with transaction.atomic():
        template_status_apply(account=account, value={
            "event": reviewed.status, "message_template_id": reviewed.template_id,
            "message_template_name": reviewed.name, "message_template_language": reviewed.language})
    template.refresh_from_db()
    assert template.status == "APPROVED", template.status
    return template


def populate(workspace, account, n: int):
    from django.db import transaction

    from tidings.contacts.models import ChannelIdentity, Contact
    from tidings.sandbox.models import Persona

    with transaction.atomic():
        contacts = Contact.objects.bulk_create(
            (Contact(workspace=workspace, name=f"P{i}", phone=f"+852{51000000 + i}") for i in range(n)), batch_size=5000)
        personas = Persona.objects.bulk_create(
            (Persona(workspace=workspace, name=c.name, phone=c.phone, contact=c, whatsapp_id=c.phone[1:])
             for c in contacts), batch_size=5000)
        ChannelIdentity.objects.bulk_create(
            (ChannelIdentity(workspace=workspace, contact=p.contact, channel="whatsapp", account=account,
                             external_id=p.whatsapp_id, subscribed=True) for p in personas), batch_size=5000)


def one_run(name, *, workspace, account, env, workers, procs, deadline):
    from tidings.channels.ratelimit import SAFETY
    from tidings.contacts.models import ChannelIdentity
    from tidings.messaging.models import DispatchStatus, Message
    from tidings.messaging.services import message_send_bulk

    workers_start(procs, env, workers, deadline)  # every worker up and idle before the send
    content = {"type": "template", "name": TEMPLATE["name"], "language": TEMPLATE["language"],
               "parameters": ["friend", f"{name.upper()}-1"]}
    mine, stored, total = timed_send(lambda: message_send_bulk(
        workspace=workspace, identities=ChannelIdentity.objects.filter(account=account), channel="whatsapp",
        contents=[content], purpose="broadcast", source=f"bench_{name}", resume_key=f"bench_{name}"), procs=procs,
        deadline=deadline)
    sent = Message.objects.filter(dispatch__in=mine).exclude(status__in=["queued", "failed"]).count()
    failed = mine.filter(status=DispatchStatus.FAILED).count()
    attempts = sum(mine.values_list("attempts", flat=True))
    rate = sent / total
    print(f"[{name}] {sent:,} messages in {mine.count():,} requests ({attempts:,} attempts, {failed} failed): "
          f"{total:.2f} s; storing took {stored:.2f} s (delivering from its first part on)")
    ceiling = account.settings["rate_limit"] * SAFETY
    print(f"[{name}] {rate:,.0f} messages/s end to end; ÷ goal {GOAL:,}/s = {rate / GOAL:.2f}; "
          f"÷ the limiter's ceiling {ceiling:,.0f}/s = {rate / ceiling:.2f}")
    procs.stop_all()
    return sent, failed


def main() -> int:
    args = parse_args()
    with tidings_bench(args.database_url, "tidings_bench_wa", timeout=args.timeout, keep=args.keep) as run:
        from django.db import connection

        from tidings.channels.services import account_create
        from tidings.core.services import workspace_create
        from tidings.sandbox.models import SandboxDelivery

        workspace = workspace_create(slug="bench", name="Bench", is_sandbox=True)
        account = account_create(workspace=workspace, actor=None, channel="whatsapp", name="Bench WhatsApp",
                                 account_settings={"rate_limit": args.tier})
        approved_template(workspace, account)
        started = time.monotonic()
        populate(workspace, account, args.count)
        analyze()
        print(f"database: {connection.vendor}; {args.count:,} WhatsApp personas/contacts/identities inserted in "
              f"{time.monotonic() - started:.1f} s; workers: {args.workers}; tier "
              f"{account.settings['rate_limit']}/s")
        ok = True
        common = {"workspace": workspace, "account": account, "workers": args.workers, "procs": run.procs,
                  "deadline": run.deadline}
        if args.mode in ("both", "pipeline"):
            penv = {**run.env, "TIDINGS_TIMER_HANDLER_MODULES": "bench.whatsapp_fanout.null_provider"}
            sent, failed = one_run("pipeline", env=penv, **common)
            ok &= sent == args.count and not failed
        if args.mode in ("both", "e2e"):
            server_start(run.procs, run.env, run.port, args.server_workers)
            server_procs, run.procs.procs = run.procs.procs, []
            try:
                sent, failed = one_run("e2e", env=run.env, **common)
            finally:
                run.procs.procs += server_procs
                run.procs.stop_all()
            deliveries = SandboxDelivery.objects.filter(kind="push")
            delivered, personas = deliveries.count(), deliveries.values("persona_id").distinct().count()
            print(f"[e2e] fake WhatsApp recorded {delivered:,} deliveries to {personas:,} personas "
                  f"(expected {args.count:,} each)")
            ok &= sent == delivered == personas == args.count and not failed
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
