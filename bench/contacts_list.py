#!/usr/bin/env python
"""Contact list at a million contacts: p95 server time of the console's list page for search and filters.

    bench/run contacts_list                                  # local PostgreSQL server, 1,000,000 contacts
    bench/run contacts_list --database-url postgres://postgres@127.0.0.1:5432/postgres --count 200000

On a throwaway PostgreSQL database (`tidings_bench_contacts`, made on the server and dropped afterwards unless
--keep), it migrates, then fills one workspace with --count contacts in a few INSERT … SELECT FROM generate_series
statements: Chinese and English names, Hong Kong and Taiwan phone numbers, emails on most, member ids on a third,
20 tags on about 30% (a second tag on 10%), a LINE identity on 40% (three quarters subscribed), an SMS identity on
20%, bound on 10%. Then, per case, it GETs the list page (`/contacts/?…`, the Django test client logged in as a
Marketer: view, selector, capped count, prefetches and template — everything but the network) --repeat times with
varied terms, and prints p50 / p95 / max and p95 ÷ the 150 ms goal. EXPLAIN ANALYZE of the page query and of the
capped count shows which index each case uses.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import FIRST, GIVEN, LAST, SURNAMES, TAGS, percentile, sql_text_array as _array, tidings_bench  # noqa: E402,E501

GOAL_MS = 150.0
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"

# (label, query string, terms the {} is cycled through)
CASES = [
    ("first page, no filter", "", [""]),
    ("name, 3+ characters", "q={}", ["Chan", "Karen W", "wong", "陳美玲", "黃雅婷", "Grace"]),
    ("name, 2 CJK characters", "q={}", ["美玲", "志明", "雅婷", "家豪"]),
    ("phone fragment", "q={}", ["1234567", "0098765", "61234", "0912345", "23456", "8869000"]),
    ("email fragment", "q={}", ["user12345@", "88888@exa", "777@"]),
    ("member id (exact)", "q={}", ["M000300", "M123456", "M999999"]),
    ("tag filter", "tag={}", ["VIP", "回購客", "生日月", "外送"]),
    ("channel filter", "channel={}", ["line", "sms"]),
    ("tag + channel + subscribed", "tag={}&channel=line&subscribed=yes", ["VIP", "電子報"]),
    ("search + tag", "q={}&tag=VIP", ["Chan", "1234"]),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_SERVER),
                   help=f"a PostgreSQL server URL (default $BENCH_POSTGRES_URL or {DEFAULT_SERVER})")
    p.add_argument("--count", type=int, default=1_000_000, help="contacts (default 1000000)")
    p.add_argument("--repeat", type=int, default=40, help="requests per case (default 40)")
    p.add_argument("--explain", action="store_true", help="print the full EXPLAIN ANALYZE of every case")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return p.parse_args()


def fill(workspace, count: int, line, sms) -> None:
    """A million rows in a few statements: generate_series does the work inside PostgreSQL."""
    from django.db import connection

    ws = workspace.pk
    with connection.cursor() as c:
        c.execute(f"""
            INSERT INTO contacts_contact (workspace_id, name, phone, email, member_id, attributes, avatar_url,
                                          created_at, updated_at, bound_at, last_customer_interaction_at)
            SELECT {ws},
                   CASE WHEN g % 2 = 0
                        THEN ({_array(SURNAMES)})[1 + (g / 2) % {len(SURNAMES)}]
                             || ({_array(GIVEN)})[1 + (g / {2 * len(SURNAMES)}) % {len(GIVEN)}]
                        ELSE ({_array(FIRST)})[1 + (g / 7) % {len(FIRST)}] || ' '
                             || ({_array(LAST)})[1 + (g / 2) % {len(LAST)}] END,
                   CASE WHEN g % 3 = 0 THEN '+8869' || lpad(g::text, 8, '0')
                        ELSE '+8526' || lpad(g::text, 7, '0') END,
                   CASE WHEN g % 5 < 4 THEN 'user' || g || '@example.com' ELSE '' END,
                   CASE WHEN g % 3 = 0 THEN 'M' || lpad(g::text, 6, '0') ELSE '' END,
                   '{{}}'::jsonb, '',
                   now() - make_interval(secs => g), now(),
                   CASE WHEN g % 10 = 0 THEN now() - make_interval(secs => g) END,
                   CASE WHEN g % 4 = 0 THEN now() - make_interval(secs => g * 2) END
            FROM generate_series(1, {int(count)}) AS g""")
        c.execute(f"""
            INSERT INTO contacts_tag (workspace_id, name, created_at)
            SELECT {ws}, t, now() FROM unnest({_array(TAGS)}) AS t""")
        c.execute(f"SELECT min(id) FROM contacts_tag WHERE workspace_id = {ws}")
        tag0 = c.fetchone()[0]
        # ~30% get one tag (spread over the 20), ~10% a second one.
        c.execute(f"""
            INSERT INTO contacts_contacttag (workspace_id, contact_id, tag_id, created_at)
            SELECT {ws}, id, {tag0} + abs(hashtext(id || 't1')) % {len(TAGS)}, now() FROM contacts_contact
            WHERE workspace_id = {ws} AND abs(hashtext(id || 'tagged')) % 10 < 3
            UNION ALL
            SELECT {ws}, id, {tag0} + ((abs(hashtext(id || 't1')) % {len(TAGS)}) + 1 + abs(hashtext(id || 't2'))
                                       % {len(TAGS) - 1}) % {len(TAGS)}, now()
            FROM contacts_contact WHERE workspace_id = {ws} AND abs(hashtext(id || 'tagged')) % 10 = 0""")
        c.execute(f"""
            INSERT INTO contacts_channelidentity (workspace_id, contact_id, channel, account_id, external_id,
                display_name, picture_url, subscribed, subscribed_at, created_at, updated_at)
            SELECT {ws}, id, 'line', {line.pk}, 'U' || md5(id::text), name, '', abs(hashtext(id || 'sub')) % 4 <> 0,
                   CASE WHEN abs(hashtext(id || 'sub')) % 4 <> 0 THEN created_at END, created_at, created_at
            FROM contacts_contact WHERE workspace_id = {ws} AND abs(hashtext(id || 'line')) % 5 < 2
            UNION ALL
            SELECT {ws}, id, 'sms', {sms.pk}, phone, name, '', true, created_at, created_at, created_at
            FROM contacts_contact WHERE workspace_id = {ws} AND abs(hashtext(id || 'sms')) % 5 = 0""")
        c.execute("ANALYZE")


def plan_summary(sql: str, params) -> tuple[list[str], float, list[str]]:
    """Index names used by a query's plan and its execution time (EXPLAIN ANALYZE)."""
    import re

    from django.db import connection

    with connection.cursor() as c:
        c.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + sql, params)
        lines = [row[0] for row in c.fetchall()]
    text = "\n".join(lines)
    indexes = sorted(set(re.findall(r"Index (?:Only )?Scan (?:Backward )?using (\w+)", text))
                     | set(re.findall(r"Bitmap Index Scan on (\w+)", text)))
    if any("Seq Scan on contacts_contact " in line for line in lines):
        indexes.append("SEQ SCAN contacts_contact")
    took = next((float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Execution Time")), 0.0)
    return indexes, took, lines


def explain(workspace, params: str, show: bool) -> str:
    """What the page runs for these filters, per query (one, or one per way of matching a search term): the
    unordered read of up to cap + 1 matches and, for a query with more, the ordered read of page 1 — each with its
    time and the indexes it uses."""
    from django.http import QueryDict

    from tidings.console.contact_selectors import ORDER
    from tidings.console.views.contacts import filtered_contacts, list_filters

    results = filtered_contacts(workspace, list_filters(QueryDict(params)))
    out = []
    for arm in results.arms:
        scan = arm.order_by().values_list("pk", "created_at")[: results.cap + 1]
        queries = [("scan", *scan.query.sql_with_params())]
        if len(list(scan)) > results.cap:
            queries.append(("page", *arm.order_by(*ORDER).values_list("pk", "created_at")[:50].query
                            .sql_with_params()))
        parts = []
        for label, sql, p in queries:
            indexes, took, lines = plan_summary(sql, p)
            parts.append(f"{label} {took:.0f} ms {'+'.join(indexes) or '-'}")
            if show:
                print("\n".join("      " + line for line in lines))
        out.append(", ".join(parts))
    return " | ".join(out)


def main() -> int:
    args = parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("contacts_list needs a PostgreSQL server (--database-url postgres://…)")
    with tidings_bench(args.database_url, "tidings_bench_contacts", timeout=3600, keep=args.keep):
        from django.http import QueryDict
        from django.test import Client

        from tidings.channels.services import account_create
        from tidings.core.roles import Role
        from tidings.core.services import member_add, workspace_create

        workspace = workspace_create(slug="bench", name="Bench", is_sandbox=True)
        marketer = member_add(workspace=workspace, actor=None, email="marketer@bench.test", name="M",
                              role=Role.MARKETER, password="bench-password-1")
        marketer.user.language = "en"
        marketer.user.current_workspace = workspace
        marketer.user.save(update_fields=["language", "current_workspace"])
        line = account_create(workspace=workspace, actor=None, channel="line", name="LINE")
        sms = account_create(workspace=workspace, actor=None, channel="sms", name="SMS")
        started = time.monotonic()
        fill(workspace, args.count, line, sms)
        print(f"contacts_list: {args.count:,} contacts made in {time.monotonic() - started:.0f} s "
              f"(PostgreSQL, COPY-free INSERT … SELECT generate_series)")

        client = Client()
        client.force_login(marketer.user)
        client.get("/contacts/")  # warm: connection, templates, caches
        print(f"{'case':<30} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95/goal':>9}   plan (first term)")
        worst = 0.0
        for label, pattern, terms in CASES:
            times = []
            for i in range(args.repeat):
                term = terms[i % len(terms)]
                data = QueryDict(pattern.format(term)) if pattern else {}
                t0 = time.perf_counter()
                response = client.get("/contacts/", data)
                times.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{label}: HTTP {response.status_code}")
            p95 = percentile(sorted(times), 95)
            worst = max(worst, p95 / GOAL_MS)
            first = pattern.format(terms[0]) if pattern else ""
            print(f"{label:<30} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} {p95 / GOAL_MS:9.2f}"
                  f"   {explain(workspace, first, args.explain)}")
        print(f"worst p95 / {GOAL_MS:.0f} ms goal: {worst:.2f} ({'meets' if worst <= 1 else 'misses'} the goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
