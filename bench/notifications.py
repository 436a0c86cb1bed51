#!/usr/bin/env python
"""Notification shortcut benchmark: N notifications through the Notification API to completion; notifications/s.

    bench/run notifications                                 # SQLite, 10,000 notifications, 2 workers
    bench/run notifications --database-url postgres://postgres@127.0.0.1:5432/postgres
    bench/run notifications --count 2000 --mix 50:40:10 --workers 4 --server-workers 2

It makes a throwaway database, migrates it, and sets up a sandbox workspace with sandbox LINE and SMS accounts, a
prepaid balance, one notification setting (push, LINE notification message and SMS on) and an API token. N personas
are bulk-inserted in three groups (`--mix`, percent): LINE friends (their identity subscribed → a LINE push),
non-friends who allow LINE notification messages (→ PNP, 200, the fake's delivery webhook 5 s later → delivered),
and numbers without LINE (→ PNP 422 → SMS at once, charged to the balance).

A real `tidings serve` serves the API and the fakes; W `tidings worker` processes run the cascade, the deliveries,
the fakes' webhooks back and their processing. The benchmark posts the N items as calls of 100 (`--concurrency`
calls in flight, each with an Idempotency-Key) and waits until every notification is final (sent, delivered or
failed). It prints notifications per second from the first call to the last completion, the API intake alone, and
the outcome per group.

Two limits shape the figure by design: the fake LINE reports a PNP delivery 5 s after the send (so the run lasts at
least that), and Tidings spaces SMS at 80% of Twilio's 100/s per account.
"""

import argparse
import collections
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import server_start, tidings_bench, workers_start  # noqa: E402

BATCH = 100  # items per API call (the API's maximum)
CONTENT = {"line_push": "Hi {name}, order {order_id} has shipped: {tracking_url}",
           "line_pnp": "Order {order_id} has shipped: {tracking_url}",
           "sms": "Acme: order {order_id} shipped {tracking_url}"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=10_000, help="notifications (default 10000)")
    p.add_argument("--mix", default="50:40:10", help="percent friends : PNP-consenting non-friends : no LINE "
                                                     "(default 50:40:10)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--server-workers", type=int, default=1, help="`tidings serve` processes (default 1)")
    p.add_argument("--concurrency", type=int, default=4, help="API calls in flight (default 4)")
    p.add_argument("--database-url", help="a PostgreSQL server URL; a database tidings_bench_notify is made on it")
    p.add_argument("--timeout", type=float, default=900, help="give up after this many seconds (default 900)")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return p.parse_args()


def groups_of(count: int, mix: str) -> list[str]:
    shares = [int(x) for x in mix.split(":")]
    assert len(shares) == 3 and sum(shares) == 100, "--mix is three percentages adding up to 100"
    sizes = [count * s // 100 for s in shares]
    sizes[0] += count - sum(sizes)
    return ["friend"] * sizes[0] + ["pnp"] * sizes[1] + ["no_line"] * sizes[2]


def populate(workspace, line, groups: list[str]) -> list[str]:
    """Personas with contacts (and LINE identities for friends), bulk-inserted; returns their phones in order."""
    from django.db import transaction

    from tidings.contacts.models import ChannelIdentity, Contact
    from tidings.sandbox.models import Persona

    with transaction.atomic():
        contacts = Contact.objects.bulk_create(
            (Contact(workspace=workspace, name=f"P{i}", phone=f"+8869{10000000 + i}") for i in range(len(groups))),
            batch_size=5000)
        personas = Persona.objects.bulk_create(
            (Persona(workspace=workspace, name=c.name, phone=c.phone, contact=c,
                     line_user_id=f"U{c.pk:032x}" if group != "no_line" else "",
                     line_friend=group == "friend", pnp_consent=group != "no_line")
             for c, group in zip(contacts, groups, strict=True)), batch_size=5000)
        ChannelIdentity.objects.bulk_create(
            (ChannelIdentity(workspace=workspace, contact=p.contact, channel="line", account=line,
                             external_id=p.line_user_id, subscribed=True)
             for p, group in zip(personas, groups, strict=True) if group == "friend"), batch_size=5000)
    return [c.phone for c in contacts]


def post_all(base_url: str, token: str, setting_id: int, phones: list[str], concurrency: int) -> list[int]:
    import httpx

    def call(chunk):
        body = {"setting_id": setting_id, "items": [
            {"phone": phone, "values": {"name": "Mei", "order_id": f"A{i}", "tracking_url": f"https://t.example/{i}"},
             "reference": f"A{i}"} for i, phone in chunk]}
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        with httpx.Client(timeout=120) as client:
            response = client.post(f"{base_url}/api/v1/notification-messages", json=body, headers=headers)
        response.raise_for_status()
        return [item["id"] for item in response.json()["items"]]

    numbered = list(enumerate(phones))
    chunks = [numbered[i:i + BATCH] for i in range(0, len(numbered), BATCH)]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return [pk for ids in pool.map(call, chunks) for pk in ids]


def main() -> int:
    args = parse_args()
    groups = groups_of(args.count, args.mix)
    with tidings_bench(args.database_url, "tidings_bench_notify", timeout=args.timeout, keep=args.keep) as run:
        from django.db import connection
        from django.db.models import Max
        from django.utils import timezone

        from tidings.billing.services import balance_top_up
        from tidings.channels.services import account_create
        from tidings.core.roles import Role
        from tidings.core.services import api_token_create, member_add, workspace_create
        from tidings.notify.models import FINAL_STATUSES, Notification, NotificationStep
        from tidings.notify.services import setting_create
        from tidings.sandbox.models import SandboxDelivery

        workspace = workspace_create(slug="bench", name="Bench", is_sandbox=True)
        line = account_create(workspace=workspace, actor=None, channel="line", name="Bench LINE")
        account_create(workspace=workspace, actor=None, channel="sms", name="Bench SMS")
        balance_top_up(workspace=workspace, actor=None, amount=args.count * 2, note="bench")
        setting = setting_create(workspace=workspace, actor=None, data={
            "name": "Shipped", "scenario": "shipped", "methods": ["line_push", "line_pnp", "sms"],
            "sms_wait_minutes": 30, "content": CONTENT})
        member = member_add(workspace=workspace, actor=None, email="bench@example.test", name="Bench",
                            role=Role.MARKETER, password="bench-password-1")
        _token, raw = api_token_create(workspace=workspace, actor=None, membership=member, name="bench")
        started = time.monotonic()
        phones = populate(workspace, line, groups)
        with connection.cursor() as cursor:  # statistics, as autovacuum would have them (it is off on test servers)
            cursor.execute("ANALYZE")
        counts = collections.Counter(groups)
        print(f"database: {connection.vendor}; {args.count:,} personas ({counts['friend']:,} LINE friends, "
              f"{counts['pnp']:,} PNP-consenting non-friends, {counts['no_line']:,} without LINE) in "
              f"{time.monotonic() - started:.1f} s; workers: {args.workers}; server workers: {args.server_workers}")

        server_start(run.procs, run.env, run.port, args.server_workers)
        workers_start(run.procs, run.env, args.workers, run.deadline)
        t0 = timezone.now()
        started = time.monotonic()
        ids = post_all(f"http://127.0.0.1:{run.port}", raw, setting.pk, phones, args.concurrency)
        intake = time.monotonic() - started
        mine = Notification.objects.filter(pk__in=ids)
        while (pending := mine.exclude(status__in=FINAL_STATUSES).count()):
            run.procs.check()
            if time.monotonic() > run.deadline:
                raise SystemExit(f"timed out with {pending:,} notifications not final")
            time.sleep(0.2)
        last = mine.aggregate(last=Max("completed_at"))["last"]
        total = (last - t0).total_seconds()
        by_phone = dict(zip(phones, groups, strict=True))
        outcome = collections.Counter(
            (by_phone[phone], status, tuple(sorted(steps)))
            for phone, status, steps in (
                (n.phone, n.status, [f"{s.method}:{s.status}" for s in n.steps.all()])
                for n in mine.prefetch_related("steps")))
        rate = len(ids) / total
        print(f"intake: {len(ids):,} notifications accepted in {len(ids) // BATCH} API calls in {intake:.2f} s "
              f"({len(ids) / intake:,.0f}/s)")
        print(f"complete: {len(ids):,} notifications final {total:.2f} s after the first call: {rate:,.1f} "
              f"notifications/s")
        for (group, status, steps), n in sorted(outcome.items()):
            print(f"  {group:8} {status:9} {n:6,}  {' '.join(steps)}")
        pushes = SandboxDelivery.objects.filter(kind="push").count()
        sms = SandboxDelivery.objects.filter(channel="sms").count()
        steps = NotificationStep.objects.filter(notification__in=ids).count()
        print(f"fakes recorded {pushes:,} LINE pushes, {SandboxDelivery.objects.filter(kind='pnp').count():,} LINE "
              f"notification messages, {sms:,} SMS; {steps:,} steps")
        # Twilio's "delivered" callbacks still arrive while this reads: an SMS step and its notification may each
        # be sent or delivered
        expected = {"friend": {("sent", ("line_push:sent",))}, "pnp": {("delivered", ("line_pnp:delivered",))},
                    "no_line": {(status, ("line_pnp:failed", f"sms:{sms}")) for status in ("sent", "delivered")
                                for sms in ("sent", "delivered")}}
        as_expected = collections.Counter(group for (group, status, steps), n in outcome.items()
                                          for _ in range(n) if (status, steps) in expected[group])
        ok = as_expected == +counts and pushes == counts["friend"] and sms == counts["no_line"]
        if not ok:
            print("UNEXPECTED outcome (see above)")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
