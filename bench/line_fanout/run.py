#!/usr/bin/env python
"""LINE fan-out benchmark: one broadcast to N LINE identities through the whole pipeline; recipients per second.

    bench/run line_fanout                                  # SQLite, 100,000 identities, 2 workers, both runs
    bench/run line_fanout --database-url postgres://postgres@127.0.0.1:5432/postgres --workers 2

It makes a throwaway database (a SQLite file under var/, or a PostgreSQL database `tidings_bench_fanout` created and
dropped on the server named by --database-url), migrates it, creates a sandbox workspace with a sandbox LINE account,
and bulk-inserts N personas, each a LINE friend with a contact and a LINE identity. Then, per run:

- `pipeline`: W real `tidings worker` processes whose LINE adapter renders each request but answers "sent" without
  HTTP (bench/line_fanout/null_provider.py): Tidings' own cost.
- `e2e`: a real `tidings serve` on a free local port serves the fake LINE; W workers send every multicast to it over
  real HTTP; the fake checks each request and records a delivery per persona.

Each run is one resumable `message_send_bulk` of a text message (multicast batches of 500; message rows kept), as a
broadcast sends: stored and committed 10,000 recipients at a time, so delivery starts with the first part while the
rest is stored. It is timed from the call to the last dispatch's `sent_at`: recipients per second, ÷ the 50,000/s
goal, with how long storing took and how long the last deliveries came after it. LINE's own 200 multicasts/s limit
(100,000 recipients/s) applies throughout. The e2e run also checks that every persona got exactly one delivery.
Everything is stopped and the database dropped whatever happens (`--keep` keeps it).
"""

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench.common import analyze, server_start, tidings_bench, timed_send, workers_start  # noqa: E402
GOAL = 50_000  # recipients per second: half of LINE's multicast ceiling (200 requests/s × 500)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=100_000, help="LINE identities to send to (default 100000)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--server-workers", type=int, default=1, help="`tidings serve` processes for e2e (default 1)")
    p.add_argument("--mode", choices=["both", "pipeline", "e2e"], default="both")
    p.add_argument("--database-url", help="a PostgreSQL server URL; a database tidings_bench_fanout is made on it")
    p.add_argument("--timeout", type=float, default=900, help="give up after this many seconds (default 900)")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return p.parse_args()


def populate(workspace, account, n: int):
    from tidings.contacts.models import ChannelIdentity, Contact
    from tidings.sandbox.models import Persona

    from django.db import transaction

    with transaction.atomic():
        contacts = Contact.objects.bulk_create(
            (Contact(workspace=workspace, name=f"P{i}", phone=f"+852{51000000 + i}") for i in range(n)), batch_size=5000)
        personas = Persona.objects.bulk_create(
            (Persona(workspace=workspace, name=c.name, phone=c.phone, contact=c, line_user_id=f"U{c.pk:032x}",
                     line_friend=True) for c in contacts), batch_size=5000)
        ChannelIdentity.objects.bulk_create(
            (ChannelIdentity(workspace=workspace, contact=p.contact, channel="line", account=account,
                             external_id=p.line_user_id, subscribed=True) for p in personas), batch_size=5000)


def one_run(name, *, workspace, account, env, workers, procs, deadline):
    from tidings.contacts.models import ChannelIdentity
    from tidings.messaging.models import DispatchStatus, Message
    from tidings.messaging.services import message_send_bulk

    workers_start(procs, env, workers, deadline)  # every worker up and idle before the send
    mine, stored, total = timed_send(lambda: message_send_bulk(
        workspace=workspace, identities=ChannelIdentity.objects.filter(account=account), channel="line",
        contents=[{"type": "text", "text": f"Bench {name}: spring sale, 2 for 1"}], purpose="broadcast",
        source=f"bench_{name}", resume_key=f"bench_{name}"), procs=procs, deadline=deadline)
    recipients = Message.objects.filter(dispatch__in=mine, status="sent").values("identity_id").distinct().count()
    failed = mine.filter(status=DispatchStatus.FAILED).count()
    attempts = sum(mine.values_list("attempts", flat=True))
    rate = recipients / total
    print(f"[{name}] {recipients:,} recipients in {mine.count()} multicasts ({attempts} requests, {failed} failed): "
          f"{total:.2f} s; storing took {stored:.2f} s (delivering from its first part on), the last delivery "
          f"{total - stored:.2f} s after")
    print(f"[{name}] {rate:,.0f} recipients/s end to end; ÷ goal {GOAL:,}/s = {rate / GOAL:.2f}")
    procs.stop_all()
    return recipients, failed


def main() -> int:
    args = parse_args()
    with tidings_bench(args.database_url, "tidings_bench_fanout", timeout=args.timeout, keep=args.keep) as run:
        from django.db import connection

        from tidings.channels.services import account_create
        from tidings.core.services import workspace_create
        from tidings.sandbox.models import SandboxDelivery

        workspace = workspace_create(slug="bench", name="Bench", is_sandbox=True)
        account = account_create(workspace=workspace, actor=None, channel="line", name="Bench OA")
        started = time.monotonic()
        populate(workspace, account, args.count)
        analyze()
        print(f"database: {connection.vendor}; {args.count:,} LINE personas/contacts/identities inserted in "
              f"{time.monotonic() - started:.1f} s; workers: {args.workers}")
        ok = True
        common = {"workspace": workspace, "account": account, "workers": args.workers, "procs": run.procs,
                  "deadline": run.deadline}
        if args.mode in ("both", "pipeline"):
            penv = {**run.env, "TIDINGS_TIMER_HANDLER_MODULES": "bench.line_fanout.null_provider"}
            recipients, failed = one_run("pipeline", env=penv, **common)
            ok &= recipients == args.count and not failed
        if args.mode in ("both", "e2e"):
            server_start(run.procs, run.env, run.port, args.server_workers)
            server_procs, run.procs.procs = run.procs.procs, []
            try:
                recipients, failed = one_run("e2e", env=run.env, **common)
            finally:
                run.procs.procs += server_procs
                run.procs.stop_all()
            delivered = SandboxDelivery.objects.count()
            personas = SandboxDelivery.objects.values("persona_id").distinct().count()
            print(f"[e2e] fake LINE recorded {delivered:,} deliveries to {personas:,} personas "
                  f"(expected {args.count:,} each)")
            ok &= recipients == delivered == personas == args.count and not failed
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
