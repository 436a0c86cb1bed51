#!/usr/bin/env python
"""Events API throughput: batches of events posted to `POST /api/v1/events` on a real `tidings serve`.

    bench/run events_api                                        # SQLite, 50,000 events, batches of 100, 8 in flight
    bench/run events_api --database-url postgres://postgres@127.0.0.1:5432/postgres
    bench/run events_api --events 100000 --batch 100 --concurrency 16 --server-workers 2

It makes a throwaway database (a SQLite file under var/, or `tidings_bench_events` on the PostgreSQL server named by
--database-url), migrates it, creates a workspace, a Marketer's API token and --contacts contacts with member ids,
starts `tidings serve` on a free port and posts the events with C requests in flight. Each event names its person
one of three ways in turn — contact_id, member_id, or a visitor_id from a pool (new visitors are created on first
sight) — carries a unique event_id (so nothing is deduplicated away) and a few properties like the script's.
It prints events/s, request latency p50/p95/p99, the ratio to the goal (1,000 events/s) and checks every event
was stored. The server is stopped and the database dropped whatever happens (--keep keeps it).
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import percentile, server_start, tidings_bench  # noqa: E402

GOAL = 1000.0  # events per second


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=50_000, help="events to send (default 50,000)")
    p.add_argument("--batch", type=int, default=100, help="events per request, at most 100 (default 100)")
    p.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    p.add_argument("--contacts", type=int, default=2000, help="contacts with member ids (default 2,000)")
    p.add_argument("--visitors", type=int, default=5000, help="visitor ids in the pool (default 5,000)")
    p.add_argument("--server-workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument("--database-url", help="a PostgreSQL server URL; a database tidings_bench_events is made on it")
    p.add_argument("--timeout", type=float, default=900, help="give up after this many seconds (default 900)")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return p.parse_args()


def make_batches(total: int, size: int, contact_ids: list[int], visitors: int, offset: int = 0) -> list[dict]:
    types = ["view_product", "add_to_cart", "view_product", "checkout", "remove_from_cart", "purchase"]
    batches, batch = [], []
    for n in range(offset, offset + total):
        event = {"type": types[n % len(types)], "event_id": f"bench-{n}",
                 "properties": {"id": f"P{n % 97}", "name": "Oolong 150 g", "price": 480, "quantity": 1 + n % 3,
                                "currency": "TWD", "cart_token": f"cart-{n % visitors}"}}
        who = n % 3
        if who == 0:
            event["contact_id"] = contact_ids[n % len(contact_ids)]
        elif who == 1:
            event["member_id"] = f"M{(n % len(contact_ids)):06d}"
        else:
            event["visitor_id"] = f"bench-visitor-{n % visitors:06d}"
        batch.append(event)
        if len(batch) == size:
            batches.append({"events": batch})
            batch = []
    if batch:
        batches.append({"events": batch})
    return batches


async def post_all(url: str, token: str, batches: list[dict], concurrency: int):
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(batches))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:

        async def one_worker():
            while queue:
                body = queue.pop()
                t0 = time.perf_counter()
                r = await client.post(url, json=body)
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, statuses


def main() -> int:
    args = parse_args()
    if not 1 <= args.batch <= 100:
        raise SystemExit("--batch is 1 to 100 (the API's limit)")
    with tidings_bench(args.database_url, "tidings_bench_events", timeout=args.timeout, keep=args.keep) as run:
        from django.db import connection

        from tidings.contacts.models import Contact, TrackingEvent
        from tidings.core.roles import Role
        from tidings.core.services import api_token_create, member_add, workspace_create

        workspace = workspace_create(slug="bench", name="Bench", is_sandbox=True)
        member = member_add(workspace=workspace, actor=None, email="marketer@bench.test", name="Bench",
                            role=Role.MARKETER, password="bench-password")
        _token, raw = api_token_create(workspace=workspace, actor=None, membership=member, name="bench")
        Contact.objects.bulk_create([Contact(workspace=workspace, name=f"Bench {i}", member_id=f"M{i:06d}")
                                     for i in range(args.contacts)], batch_size=1000)
        contact_ids = list(Contact.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True))
        vendor = connection.vendor
        connection.close()

        server_start(run.procs, run.env, run.port, args.server_workers)
        url = f"http://127.0.0.1:{run.port}/api/v1/events"
        print(f"database: {vendor}; server: tidings serve ×{args.server_workers} on :{run.port}; "
              f"{args.events:,} events in batches of {args.batch}; {args.concurrency} in flight")
        warm = 10 * args.batch  # imports, connections, the first visitors
        asyncio.run(post_all(url, raw, make_batches(warm, args.batch, contact_ids, args.visitors,
                                                    offset=args.events), args.concurrency))
        if time.monotonic() > run.deadline:
            raise SystemExit("timed out")
        elapsed, latencies, statuses = asyncio.run(
            post_all(url, raw, make_batches(args.events, args.batch, contact_ids, args.visitors), args.concurrency))
        lat = sorted(latencies)
        rate = args.events / elapsed
        stored = TrackingEvent.objects.filter(workspace=workspace).count()
        print(f"events/s: {rate:,.0f} ({elapsed:.1f} s); request latency p50 {percentile(lat, 50):.0f} ms, "
              f"p95 {percentile(lat, 95):.0f} ms, p99 {percentile(lat, 99):.0f} ms, max {lat[-1]:.0f} ms; "
              f"statuses {statuses}")
        print(f"stored events: {stored:,} (expected {args.events + warm:,})")
        print(f"ratio to the goal of {GOAL:,.0f} events/s: {rate / GOAL:.2f} (≥ 1.00 meets it)")
        return 0 if stored == args.events + warm and set(statuses) == {201} else 1


if __name__ == "__main__":
    sys.exit(main())
