#!/usr/bin/env python
"""Signed LINE webhook ingest: Tidings' receiver vs a bare signature-check-and-200 view, in the same run.

    bench/run webhook_ingest                                   # SQLite, 4,000 webhooks each way, 16 in flight
    bench/run webhook_ingest --database-url postgres://postgres@127.0.0.1:5432/postgres

It makes a throwaway database (a SQLite file under var/, or a PostgreSQL database `tidings_bench_webhooks` created
and dropped on the server named by --database-url), migrates it, creates a sandbox LINE account, starts a real
`tidings serve` on a free local port (settings `bench.webhook_ingest.bench_settings`: Tidings' URLs plus the bare
view at /bench/bare/line/<id>), and posts N signed webhooks (each with --events events, every event a new
webhookEventId) to the bare view and to `/webhooks/line/<id>` with C requests in flight, in alternating rounds.
It prints events per second for both, the ratio (goal ≥ 0.6) and latency percentiles (goal p99 < 250 ms).
No task worker runs: the figures are ingest (verify, store, enqueue), not processing. The server is stopped and
the database removed whatever happens; the whole run is bounded by --timeout.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench.common import Database, Processes, free_port, percentile, process_env, server_start  # noqa: E402
GOAL_RATIO = 0.6
GOAL_P99_MS = 250.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=4000, help="webhooks posted to each receiver (default 4000)")
    p.add_argument("--events", type=int, default=1, help="events per webhook (default 1; LINE batches up to ~100)")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds per receiver (default 2)")
    p.add_argument("--server-workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument("--database-url", help="a PostgreSQL server URL; a database tidings_bench_webhooks is made on it")
    p.add_argument("--timeout", type=float, default=600, help="give up after this many seconds (default 600)")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return p.parse_args()


def make_bodies(n: int, events: int, user_ids: list[str], secret: str) -> list[tuple[bytes, str]]:
    """n signed webhook bodies, every event unique (so none is deduplicated away)."""
    from tidings.channels.adapters.line.signature import line_signature
    from tidings.sandbox.fake_line.ids import message_id, reply_token, ulid

    now = int(time.time() * 1000)
    out = []
    for i in range(n):
        evs = []
        for j in range(events):
            user = user_ids[(i * events + j) % len(user_ids)]
            evs.append({
                "type": "message",
                "message": {"type": "text", "id": message_id(), "quoteToken": "q" + reply_token(), "text": f"hi {i}"},
                "timestamp": now, "source": {"type": "user", "userId": user}, "replyToken": reply_token(),
                "mode": "active", "webhookEventId": ulid(now + i), "deliveryContext": {"isRedelivery": False},
            })
        body = json.dumps({"destination": "U" + "0" * 32, "events": evs}, separators=(",", ":")).encode()
        out.append((body, line_signature(secret, body)))
    return out


async def post_all(url: str, bodies, concurrency: int) -> tuple[float, list[float], dict]:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(bodies))
    # Idle connections dropped before uvicorn's 5 s would close them: reusing one it is closing fails with ReadError.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=4.0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one_worker():
            while queue:
                body, sig = queue.pop()
                t0 = time.perf_counter()
                r = await client.post(url, content=body, headers={
                    "Content-Type": "application/json; charset=utf-8", "x-line-signature": sig,
                    "User-Agent": "LineBotWebhook/2.0"})
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, statuses


def main() -> int:
    args = parse_args()
    db = Database(args.database_url, "tidings_bench_webhooks")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = process_env(db, DJANGO_SETTINGS_MODULE="bench.webhook_ingest.bench_settings", TIDINGS_BASE_URL=base,
                      TIDINGS_LOG_LEVEL="ERROR", TIDINGS_ALLOWED_HOSTS="127.0.0.1,localhost")
    os.environ.update(env)
    sys.path[:0] = [str(REPO), str(REPO / "src")]
    deadline = time.monotonic() + args.timeout
    db.create()
    procs = Processes()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from tidings.channels.models import WebhookEvent
        from tidings.channels.services import account_create
        from tidings.core.services import workspace_create

        call_command("migrate", verbosity=0)
        workspace = workspace_create(slug="bench", name="Bench", is_sandbox=True)
        account = account_create(workspace=workspace, actor=None, channel="line", name="Bench OA")
        secret = account.credentials["channel_secret"]
        user_ids = [f"U{i:032x}" for i in range(1, 201)]
        vendor = connection.vendor
        connection.close()

        server_start(procs, env, port, args.server_workers)

        urls = {
            "bare": f"{base}/bench/bare/line/{account.public_id}",
            "tidings": f"{base}/webhooks/line/{account.public_id}",
        }
        print(f"database: {vendor}; server: tidings serve ×{args.server_workers} on :{port}; "
              f"{args.requests:,} webhooks × {args.events} event(s) per receiver; {args.concurrency} in flight")
        # Warm both paths (imports, connections, caches) before measuring.
        for url in urls.values():
            asyncio.run(post_all(url, make_bodies(50, args.events, user_ids, secret), args.concurrency))

        per_round = max(1, args.requests // args.rounds)
        results = {name: {"elapsed": 0.0, "latencies": [], "statuses": {}} for name in urls}
        for _round in range(args.rounds):
            for name, url in urls.items():
                if time.monotonic() > deadline:
                    raise SystemExit("timed out")
                bodies = make_bodies(per_round, args.events, user_ids, secret)
                elapsed, latencies, statuses = asyncio.run(post_all(url, bodies, args.concurrency))
                results[name]["elapsed"] += elapsed
                results[name]["latencies"] += latencies
                for status, count in statuses.items():
                    results[name]["statuses"][status] = results[name]["statuses"].get(status, 0) + count

        rates = {}
        for name, r in results.items():
            lat = sorted(r["latencies"])
            events = len(lat) * args.events
            rates[name] = events / r["elapsed"]
            p50, p95, p99 = (percentile(lat, q) for q in (50, 95, 99))
            print(f"{name:>8}: {rates[name]:,.0f} events/s; latency p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                  f"p99 {p99:.1f} ms, max {lat[-1]:.1f} ms; statuses {r['statuses']}")
        stored = WebhookEvent.objects.count()
        expected = (per_round * args.rounds + 50) * args.events
        tid_p99 = percentile(sorted(results["tidings"]["latencies"]), 99)
        ratio = rates["tidings"] / rates["bare"]
        print(f"stored events: {stored:,} (expected {expected:,})")
        print(f"ratio tidings / bare: {ratio:.2f} (goal ≥ {GOAL_RATIO}); "
              f"tidings p99 {tid_p99:.1f} ms (goal < {GOAL_P99_MS:.0f} ms)")
        ok = stored == expected and set(results["tidings"]["statuses"]) == {200}
        return 0 if ok else 1
    finally:
        procs.stop_all()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            db.drop()


if __name__ == "__main__":
    sys.exit(main())
