#!/usr/bin/env python
"""Inbox list with 100,000 conversations on PostgreSQL: p95 server time per tab and filter (goal ≤ 150 ms).

    bench/run inbox_list                                    # local PostgreSQL server, 100,000 conversations
    bench/run inbox_list --database-url postgres://postgres@127.0.0.1:5432/postgres --count 20000 --repeat 10

On a throwaway PostgreSQL database (`tidings_bench_inbox`, dropped afterwards unless --keep) it migrates, then fills
one workspace in a few INSERT … SELECT FROM generate_series statements: --count conversations over five channel
accounts (LINE 45%, WhatsApp 25%, Messenger 15%, Instagram 8%, SMS 7%), one identity each, on about 0.85 × count
contacts (so some customers talk on two channels), states pending 10% (unassigned, unread, the last 3 days),
in progress 20% (followed by one of 24 members, the last week) and closed 70% (90% with their last follower, the
last 180 days), 20 tags on 30% of the customers. Then it times the real list views, through Django's test client
(view, selectors, counts, serialization — everything but the network):

- the API, `GET /api/v1/conversations?…` (a bearer token), for each tab (all, pending, in progress, closed);
- the console's list column, `GET /inbox/list?…` (logged in), for each of its tabs (pending, in progress, closed),
  which also counts every tab for the badges;

each as an Admin (every conversation) and as a CS Agent (their own and unassigned ones), with no filter, each
channel-, assignee- and tag-filter, search by name and by phone, and two filters together. It prints p50 / p95 / max
and p95 ÷ the goal per case, and for the slowest API case per filter the plan of the page and count queries
(--explain prints every plan in full).
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench.common import FIRST, GIVEN, LAST, SURNAMES, TAGS, percentile, sql_text_array as _array, tidings_bench  # noqa: E402,E501

GOAL_MS = 150.0
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
PREVIEWS = ["請問還有貨嗎？", "Do you ship to Kowloon?", "謝謝！", "What time do you open on Sunday?", "[image]",
            "我想改收件地址", "Is the oolong in stock?", "好的，收到", "Can I use the coupon online?", "訂單編號 A1234",
            "Thanks, see you tomorrow", "[sticker]", "可以幫我查一下物流嗎", "Received, thank you!"]
# (channel, share of conversations in %)
CHANNELS = [("line", 45), ("whatsapp", 25), ("messenger", 15), ("instagram", 8), ("sms", 7)]
AGENTS = 20  # CS agents; with 2 CS managers, a supervisor and the admin, 24 members follow conversations

# (label, query string with {agent} / {term} placeholders, search terms cycled through, roles it applies to)
FILTERS = [
    ("no filter", "", [""], "both"),
    ("channel", "channel={term}", ["whatsapp", "line", "instagram"], "both"),
    ("assignee me", "assignee=me", [""], "both"),
    ("unassigned", "assignee=unassigned", [""], "both"),
    ("assignee member", "assignee={agent}", [""], "admin"),
    ("tag", "tag={term}", ["VIP", "回購客", "外送"], "both"),
    ("search name", "q={term}", ["Chan", "陳美玲", "Karen W", "雅婷", "wong"], "both"),
    ("search phone", "q={term}", ["61234", "0012345", "85260", "98765"], "both"),
    ("channel + tag", "channel=whatsapp&tag={term}", ["VIP", "新客"], "both"),
    ("search + channel", "channel=line&q={term}", ["Chan", "美玲"], "both"),
]
API_TABS = ["", "pending", "in_progress", "closed"]
CONSOLE_TABS = ["pending", "in_progress", "closed"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_SERVER),
                   help=f"a PostgreSQL server URL (default $BENCH_POSTGRES_URL or {DEFAULT_SERVER})")
    p.add_argument("--count", type=int, default=100_000, help="conversations (default 100000)")
    p.add_argument("--repeat", type=int, default=20, help="requests per case (default 20)")
    p.add_argument("--surface", choices=["api", "console", "both"], default="both")
    p.add_argument("--explain", action="store_true", help="print the full EXPLAIN ANALYZE of the API cases")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return p.parse_args()


def fill(workspace, count: int, accounts: dict, followers: list[int]) -> None:
    """Contacts, identities, conversations and tags in a few statements: generate_series works inside PostgreSQL.
    Each column draws on its own hash of the row id, so filters do not correlate by accident."""
    from django.db import connection

    ws = workspace.pk
    people = max(1, int(count * 0.85))
    bounds, total = [], 0
    for channel, share in CHANNELS:
        total += share
        bounds.append((channel, total))
    channel_case = "CASE " + " ".join(f"WHEN abs(hashtext(g || 'ch')) % 100 < {b} THEN '{c}'" for c, b in bounds[:-1])
    channel_case += f" ELSE '{bounds[-1][0]}' END"
    account_case = "CASE ch " + " ".join(f"WHEN '{c}' THEN {accounts[c].pk}" for c, _s in CHANNELS) + " END"
    with connection.cursor() as c:
        c.execute(f"""
            INSERT INTO contacts_contact (workspace_id, name, phone, email, member_id, attributes, avatar_url,
                                          created_at, updated_at, last_customer_interaction_at)
            SELECT {ws},
                   CASE WHEN g % 2 = 0
                        THEN ({_array(SURNAMES)})[1 + (g / 2) % {len(SURNAMES)}]
                             || ({_array(GIVEN)})[1 + (g / {2 * len(SURNAMES)}) % {len(GIVEN)}]
                        ELSE ({_array(FIRST)})[1 + (g / 7) % {len(FIRST)}] || ' '
                             || ({_array(LAST)})[1 + (g / 2) % {len(LAST)}] END,
                   CASE WHEN g % 3 = 0 THEN '+8869' || lpad(g::text, 8, '0')
                        ELSE '+8526' || lpad(g::text, 7, '0') END,
                   CASE WHEN g % 5 < 3 THEN 'user' || g || '@example.com' ELSE '' END,
                   '', '{{}}'::jsonb, '', now() - make_interval(days => 200), now(), now()
            FROM generate_series(1, {people}) AS g""")
        c.execute(f"SELECT min(id) FROM contacts_contact WHERE workspace_id = {ws}")
        contact0 = c.fetchone()[0]
        # One identity per conversation; the first 15% of the customers get a second one on another draw.
        c.execute(f"""
            INSERT INTO contacts_channelidentity (workspace_id, contact_id, channel, account_id, external_id,
                display_name, picture_url, subscribed, subscribed_at, created_at, updated_at, last_inbound_at)
            SELECT {ws}, contact_id, ch, {account_case},
                   CASE ch WHEN 'line' THEN 'U' || md5(g::text) WHEN 'whatsapp' THEN '8526' || lpad(g::text, 8, '0')
                           WHEN 'sms' THEN '+8526' || lpad(g::text, 8, '0') ELSE ch || g END,
                   CASE WHEN ch IN ('line', 'messenger', 'instagram') THEN name ELSE '' END,
                   '', true, now(), now(), now(), now() - make_interval(secs => abs(hashtext(g || 'in')) % 864000)
            FROM (SELECT g, {contact0} + (g - 1) % {people} AS contact_id, {channel_case} AS ch
                  FROM generate_series(1, {int(count)}) AS g) s
            JOIN contacts_contact ON contacts_contact.id = s.contact_id""")
        followers_sql = _array(followers) + "::bigint[]"
        c.execute(f"""
            INSERT INTO inbox_conversation (workspace_id, contact_id, identity_id, account_id, channel, state,
                assignee_id, last_message_at, last_message_preview, last_message_direction, unread_count,
                created_at, closed_at)
            SELECT {ws}, contact_id, id, account_id, channel, state,
                   CASE WHEN state = 'pending' THEN NULL
                        WHEN state = 'closed' AND abs(hashtext(id || 'who')) % 10 = 0 THEN NULL
                        ELSE ({followers_sql})[1 + abs(hashtext(id || 'as')) % {len(followers)}] END,
                   at, ({_array(PREVIEWS)})[1 + abs(hashtext(id || 'pv')) % {len(PREVIEWS)}],
                   CASE WHEN state = 'pending' OR abs(hashtext(id || 'dir')) % 2 = 0 THEN 'in' ELSE 'out' END,
                   CASE WHEN state = 'pending' THEN 1 + abs(hashtext(id || 'un')) % 4 ELSE 0 END,
                   at - make_interval(days => abs(hashtext(id || 'age')) % 60),
                   CASE WHEN state = 'closed' THEN at + interval '10 minutes' END
            FROM (SELECT i.*, st.state,
                         now() - make_interval(secs => abs(hashtext(i.id || 'at'))
                             % CASE st.state WHEN 'pending' THEN 259200 WHEN 'in_progress' THEN 604800
                                             ELSE 15552000 END) AS at
                  FROM contacts_channelidentity i,
                       LATERAL (SELECT CASE WHEN abs(hashtext(i.id || 'st')) % 100 < 10 THEN 'pending'
                                            WHEN abs(hashtext(i.id || 'st')) % 100 < 30 THEN 'in_progress'
                                            ELSE 'closed' END AS state) st
                  WHERE i.workspace_id = {ws}) s""")
        c.execute(f"""
            INSERT INTO contacts_tag (workspace_id, name, created_at)
            SELECT {ws}, t, now() FROM unnest({_array(TAGS)}) AS t""")
        c.execute(f"SELECT min(id) FROM contacts_tag WHERE workspace_id = {ws}")
        tag0 = c.fetchone()[0]
        c.execute(f"""
            INSERT INTO contacts_contacttag (workspace_id, contact_id, tag_id, created_at)
            SELECT {ws}, id, {tag0} + abs(hashtext(id || 't1')) % {len(TAGS)}, now() FROM contacts_contact
            WHERE workspace_id = {ws} AND abs(hashtext(id || 'tagged')) % 10 < 3""")
        # The steady state of a table this size: autovacuum has set the visibility map (index-only scans) and
        # statistics.
        c.execute("VACUUM ANALYZE")


def plan_summary(sql: str, params) -> tuple[str, float, list[str]]:
    """Index names a query's plan uses (or the tables it scans whole) and its execution time (EXPLAIN ANALYZE)."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + sql, params)
        lines = [row[0] for row in c.fetchall()]
    text = "\n".join(lines)
    used = sorted(set(re.findall(r"Index (?:Only )?Scan (?:Backward )?using (\w+)", text))
                  | set(re.findall(r"Bitmap Index Scan on (\w+)", text)))
    used += sorted({f"seq:{t}" for t in re.findall(r"Seq Scan on (\w+)", text)})
    took = next((float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Execution Time")), 0.0)
    return "+".join(used) or "-", took, lines


def explain(membership, query: str, show: bool) -> str:
    """The API list's two queries for these filters: the page (50 rows) and the count."""
    from django.core.exceptions import EmptyResultSet
    from django.http import QueryDict

    from tidings.inbox.selectors import conversations_filter

    data = QueryDict(query)
    queryset = conversations_filter(membership, **{k: data.get(k, "") for k in ("state", "channel", "assignee",
                                                                                 "tag", "q")})
    page = queryset.select_related("contact", "identity", "account", "assignee__user")[:50]
    try:
        queries = (("page", page.query.sql_with_params()),
                   ("count", queryset.order_by().values("pk").query.sql_with_params()))
    except EmptyResultSet:  # a term no customer matches (small --count): no query runs at all
        return "no query (nothing matches)"
    parts = []
    for label, qs_sql in queries:
        sql, params = qs_sql
        if label == "count":
            sql = f"SELECT count(*) FROM ({sql}) AS counted"
        used, took, lines = plan_summary(sql, params)
        parts.append(f"{label} {took:.0f} ms {used}")
        if show:
            print("\n".join("      " + line for line in lines))
    return ", ".join(parts)


def run_cases(label: str, get, tabs, role_name: str, agent_id: int, repeat: int, membership, show: bool,
              with_plans: bool) -> list[tuple[str, float]]:
    from django.http import QueryDict

    out = []
    for name, pattern, terms, roles in FILTERS:
        if roles != "both" and roles != role_name:
            continue
        for tab in tabs:
            times = []
            for i in range(repeat):
                query = pattern.format(term=terms[i % len(terms)], agent=agent_id)
                if tab:
                    query = f"state={tab}&{query}" if query else f"state={tab}"
                t0 = time.perf_counter()
                response = get(QueryDict(query))
                times.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{label} {name} {tab}: HTTP {response.status_code} {response.content[:300]!r}")
            times.sort()
            p95 = percentile(times, 95)
            plan = ""
            if with_plans:
                query = pattern.format(term=terms[0], agent=agent_id)
                plan = "   " + explain(membership, f"state={tab}&{query}" if tab else query, show)
            print(f"{label:<8} {role_name:<6} {tab or 'all':<12} {name:<17} {statistics.median(times):7.1f} "
                  f"{p95:7.1f} {times[-1]:7.1f} {p95 / GOAL_MS:6.2f}{plan}", flush=True)
            out.append((f"{label} {role_name} {tab or 'all'} {name}", p95))
    return out


def main() -> int:
    args = parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("inbox_list needs a PostgreSQL server (--database-url postgres://…)")
    with tidings_bench(args.database_url, "tidings_bench_inbox", timeout=3600, keep=args.keep):
        from django.test import Client
        from django.urls import reverse

        from tidings.channels.services import account_create
        from tidings.core.roles import Role
        from tidings.core.services import api_token_create, member_add, workspace_create

        workspace = workspace_create(slug="bench", name="Bench", is_sandbox=True)

        def member(role, n):
            m = member_add(workspace=workspace, actor=None, email=f"{role}-{n}@bench.test", name=f"{role} {n}",
                           role=role)
            m.user.language = "en"
            m.user.current_workspace = workspace
            m.user.save(update_fields=["language", "current_workspace"])
            return m

        admin = member(Role.ADMIN, 1)
        agents = [member(Role.CS_AGENT, n) for n in range(AGENTS)]
        followers = [admin.pk, member(Role.SUPERVISOR, 1).pk, member(Role.CS_MANAGER, 1).pk,
                     member(Role.CS_MANAGER, 2).pk, *(a.pk for a in agents)]
        accounts = {c: account_create(workspace=workspace, actor=None, channel=c, name=c.title()) for c, _s in CHANNELS}
        started = time.monotonic()
        fill(workspace, args.count, accounts, followers)
        print(f"inbox_list: {args.count:,} conversations made in {time.monotonic() - started:.0f} s "
              f"(PostgreSQL, INSERT … SELECT generate_series)", flush=True)

        agent = agents[0]
        from tidings.inbox.models import Conversation

        visible = Conversation.objects.filter(workspace=workspace)
        print(f"  admin sees {visible.count():,}; agent sees "
              f"{visible.filter(assignee__isnull=True).count() + visible.filter(assignee=agent).count():,} "
              f"(their own {visible.filter(assignee=agent).count():,})")

        console_url = reverse("console:inbox_list")
        print(f"{'surface':<8} {'role':<6} {'tab':<12} {'filter':<17} {'p50':>7} {'p95':>7} {'max':>7} "
              f"{'p95/goal':>6}   plan (API, first term)")
        results = []
        for role_name, membership in (("admin", admin), ("agent", agent)):
            if args.surface in ("api", "both"):
                _token, raw = api_token_create(workspace=workspace, actor=None, membership=membership, name="bench")
                api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
                api.get("/api/v1/conversations")  # warm: connection, caches
                results += run_cases("api", lambda q: api.get("/api/v1/conversations", q), API_TABS, role_name,
                                     agent.pk, args.repeat, membership, args.explain, with_plans=True)
            if args.surface in ("console", "both"):
                console = Client()
                console.force_login(membership.user)
                console.get(console_url)
                results += run_cases("console", lambda q: console.get(console_url, q), CONSOLE_TABS, role_name,
                                     agent.pk, args.repeat, membership, args.explain, with_plans=False)
        for surface in ("api", "console"):
            mine = [(name, p95) for name, p95 in results if name.startswith(surface + " ")]
            if not mine:
                continue
            worst_name, worst = max(mine, key=lambda r: r[1])
            misses = sum(1 for _n, p95 in mine if p95 > GOAL_MS)
            print(f"{surface}: worst p95 {worst:.0f} ms ({worst_name}) = {worst / GOAL_MS:.2f} × the {GOAL_MS:.0f} ms "
                  f"goal; {len(mine) - misses}/{len(mine)} cases meet it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
