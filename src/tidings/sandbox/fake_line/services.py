"""What the fake LINE Messaging API does for each endpoint, with LINE's rules, limits and errors.

Each `line_api_*` function takes the account and the parsed request and returns an `Answer` (status, JSON body,
extra headers, the deliveries it made and the webhooks to send later). The view (views.py) wraps them: account
lookup, auth, injected faults, rate limits, the request log and the transaction. Behaviour where LINE's documents
leave a choice is written down in docs next to the function.
"""

import dataclasses
import datetime
import re
import uuid
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction

from tidings.channels.models import ChannelAccount
from tidings.core import clock

from ..models import Persona, SandboxDelivery, SandboxInteraction, SandboxRequest, SandboxRetryKey
from ..selectors import line_recipients, persona_by_pnp_hash, personas_by_line_user
from ..services import DeliveryRow, sandbox_interaction_record, sandbox_token_issue, sandbox_token_use
from . import validation as v
from .ids import QUOTABLE, link_token, message_id, message_ids, quote_token
from .webhooks import line_event_delivery

RETRY_KEY_LIFETIME = datetime.timedelta(hours=24)
LINK_TOKEN_LIFETIME = datetime.timedelta(minutes=10)
PNP_DELIVERY_DELAY = datetime.timedelta(seconds=5)
JST = datetime.timezone(datetime.timedelta(hours=9))  # LINE's statistics dates are UTC+9
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
STATS_WINDOW = datetime.timedelta(days=14)  # LINE updates unit statistics for 14 days after a send

FAILED = {"message": "Failed to send messages"}
NOT_FOUND = {"message": "Not found"}


@dataclasses.dataclass
class Answer:
    status: int
    body: dict | None
    headers: dict = dataclasses.field(default_factory=dict)
    deliveries: list = dataclasses.field(default_factory=list)
    webhooks: list = dataclasses.field(default_factory=list)  # (events, delay)
    retry_key: str | None = None  # an accepted request's X-Line-Retry-Key, claimed when it is recorded


def _bad(problems: v.Problems) -> Answer:
    return Answer(400, problems.body())


def _reaches(persona: Persona) -> bool:
    # Push and multicast reach friends only; a user who blocked the account gets nothing (LINE still answers 200).
    return persona.line_friend and not persona.line_blocked


def _deliver(account, persona_id: int, messages, kind, *, delivered) -> tuple[list, list]:
    deliveries, sent = [], []
    for message in messages:
        mid = message_id()
        one = {"id": mid}
        if message.get("type") in QUOTABLE:
            one["quoteToken"] = quote_token()
        sent.append(one)
        deliveries.append(DeliveryRow(account_id=account.pk, persona_id=persona_id,
                                      provider="line", channel="line", kind=kind, payload=message,
                                      provider_message_id=mid, delivered=delivered))
    return deliveries, sent


def _retry_key(headers) -> tuple[str | None, Answer | None]:
    key = headers.get("X-Line-Retry-Key")
    if key is None:
        return None, None
    try:
        uuid.UUID(key)
    except ValueError:
        return None, Answer(400, {"message": "The value of the X-Line-Retry-Key header is invalid",
                                  "details": [{"message": "must be a UUID", "property": "X-Line-Retry-Key"}]})
    return key.lower(), None


def line_retry_key_claim(account, answer: Answer, request_id: str) -> Answer:
    """Claim the retry key an accepted request carries, in the transaction that records it: LINE remembers the key
    (with what it answered) for 24 h on the workspace clock. The answer itself, or a 409 with the accepted request
    id, and nothing delivered, if the key was accepted before."""
    key = answer.retry_key
    now = clock.now(account.workspace)
    SandboxRetryKey.objects.filter(account=account, key=key, created_at__lt=now - RETRY_KEY_LIFETIME).delete()
    try:
        with transaction.atomic():
            SandboxRetryKey.objects.create(account=account, key=key, request_id=request_id, created_at=now,
                                           response_body=answer.body)
        return answer
    except IntegrityError:
        accepted = SandboxRetryKey.objects.get(account=account, key=key)
        body = {"message": "The retry key is already accepted", **accepted.response_body}
        return Answer(409, body, headers={"X-Line-Accepted-Request-Id": accepted.request_id})


def _reject_retry_key(headers) -> Answer | None:
    if headers.get("X-Line-Retry-Key") is not None:
        return Answer(400, {"message": "The X-Line-Retry-Key header is not supported by this API"})
    return None


def line_api_push(account: ChannelAccount, body: dict, headers) -> Answer:
    """`to` must be a user of this channel (else 400 "Failed to send messages"); friends get the messages; users
    who blocked the account or are not friends get nothing, and the answer is still 200 with message ids (recorded
    as deliveries with `delivered=False` so the log shows what was stopped)."""
    key, bad = _retry_key(headers)
    if bad:
        return bad
    p = v.Problems()
    to = body.get("to")
    if not isinstance(to, str) or not to:
        p.add("to", "must be specified")
    messages = v.check_messages(p, body)
    v.check_units(p, body)
    if p:
        return _bad(p)
    persona = personas_by_line_user(account.workspace, [to]).get(to)
    if persona is None:
        return Answer(400, dict(FAILED))
    deliveries, sent = _deliver(account, persona.pk, messages, "push", delivered=_reaches(persona))
    return Answer(200, {"sentMessages": sent}, deliveries=deliveries, retry_key=key)


def line_api_multicast(account: ChannelAccount, body: dict, headers) -> Answer:
    """1–500 user ids, 1–5 messages. A malformed id is a 400 (LINE's "The property, to[i], … is invalid"); a
    well-formed id that is no user of this channel, a non-friend and a blocker are skipped silently (200)."""
    key, bad = _retry_key(headers)
    if bad:
        return bad
    p = v.Problems()
    to = body.get("to")
    if not isinstance(to, list):
        p.add("to", "must be specified")
        to = []
    elif not 1 <= len(to) <= 500:
        p.add("to", "Size must be between 1 and 500")
    messages = v.check_messages(p, body)
    v.check_units(p, body)
    if p:
        return _bad(p)
    for i, user_id in enumerate(to):
        if not isinstance(user_id, str) or not v.USER_ID.match(user_id):
            return Answer(400, {"message": f"The property, to[{i}], in the request body is invalid (line: -, column: -)"})
    recipients = line_recipients(account.workspace, to)
    reached = [recipients[user_id] for user_id in dict.fromkeys(to) if user_id in recipients]  # repeats get it once
    ids = iter(message_ids(len(reached) * len(messages)))
    # No sentMessages in a multicast answer: ids only, no quote tokens.
    deliveries = [DeliveryRow(account_id=account.pk, persona_id=persona_id, provider="line", channel="line",
                              kind="multicast", payload=message, provider_message_id=next(ids), delivered=reaches)
                  for persona_id, reaches in reached for message in messages]
    return Answer(200, {}, deliveries=deliveries, retry_key=key)


def line_api_reply(account: ChannelAccount, body: dict, headers) -> Answer:
    """Reply tokens come from webhooks the fake sent; each works once, within a minute of the webhook."""
    bad = _reject_retry_key(headers)
    if bad:
        return bad
    p = v.Problems()
    if not isinstance(body.get("replyToken"), str) or not body.get("replyToken"):
        p.add("replyToken", "must be specified")
    messages = v.check_messages(p, body)
    if p:
        return _bad(p)
    token = sandbox_token_use(account=account, kind="reply", token=body["replyToken"])
    if token is None:
        return Answer(400, {"message": "Invalid reply token"})
    persona = token.persona
    deliveries, sent = _deliver(account, persona.pk, messages, "reply", delivered=not persona.line_blocked)
    return Answer(200, {"sentMessages": sent}, deliveries=deliveries)


def line_api_pnp_push(account: ChannelAccount, body: dict, headers) -> Answer:
    """LINE notification message by hashed phone. No retry key. 422 when no LINE user has that phone or the user
    refused notification messages; 200 and silence (no delivery webhook, ever) when the user blocked the account;
    otherwise 200, the messages on the phone and a delivery webhook a few seconds later (workspace clock)."""
    bad = _reject_retry_key(headers)
    if bad:
        return bad
    tag = headers.get("X-Line-Delivery-Tag")
    p = v.Problems()
    if tag is not None and not 16 <= len(tag) <= 100:
        p.add("X-Line-Delivery-Tag", "Length must be between 16 and 100")
    to = body.get("to")
    if not isinstance(to, str) or not SHA256_HEX.match(to):
        p.add("to", "The value must be a valid SHA-256 digest.")
    messages = v.check_messages(p, body, pnp=True)
    if p:
        return _bad(p)
    persona = persona_by_pnp_hash(account.workspace, to)
    if persona is None or not persona.line_user_id or not persona.pnp_consent:
        return Answer(422, dict(FAILED))
    delivered = not persona.line_blocked
    deliveries, _sent = _deliver(account, persona.pk, messages, "pnp", delivered=delivered)
    webhooks = []
    if delivered:
        due = clock.now(account.workspace) + PNP_DELIVERY_DELAY
        webhooks.append(([line_event_delivery(account.workspace, tag or to, persona, at=due)], PNP_DELIVERY_DELAY))
    return Answer(200, {}, deliveries=deliveries, webhooks=webhooks)


def _user_persona(account, user_id) -> Persona | None:
    return personas_by_line_user(account.workspace, [user_id]).get(user_id)


def line_api_profile(account: ChannelAccount, user_id: str) -> Answer:
    """Friends only: LINE answers 404 for unknown users, non-friends and users who blocked the account."""
    persona = _user_persona(account, user_id)
    if persona is None or not _reaches(persona):
        return Answer(404, dict(NOT_FOUND))
    profile = {"userId": persona.line_user_id, "displayName": persona.name}
    for attr, key in (("picture_url", "pictureUrl"), ("status_message", "statusMessage")):
        if getattr(persona, attr, ""):
            profile[key] = getattr(persona, attr)
    profile["language"] = getattr(persona, "language", "") or "en"
    return Answer(200, profile)


def line_api_link_token(account: ChannelAccount, user_id: str) -> Answer:
    """A single-use link token, 10 minutes (workspace clock). Unknown users or blockers: 404 "Not found" (LINE
    documents no error for this endpoint; we answer as the profile endpoint does)."""
    persona = _user_persona(account, user_id)
    if persona is None or persona.line_blocked:
        return Answer(404, dict(NOT_FOUND))
    token = sandbox_token_issue(account=account, persona=persona, kind="link", lifetime=LINK_TOKEN_LIFETIME,
                                token=link_token())
    return Answer(200, {"linkToken": token.token})


def line_link_token_use(account: ChannelAccount, token: str) -> Persona | None:
    """For the simulated account-link dialog: the persona a valid link token was issued for (spends it)."""
    found = sandbox_token_use(account=account, kind="link", token=token)
    return found.persona if found else None


# --- aggregation units and unit statistics -----------------------------------------------------------------------


def _unit_requests(account, since=None, until=None):
    qs = SandboxRequest.objects.filter(
        account=account, provider="line", path__in=["/v2/bot/message/push", "/v2/bot/message/multicast"],
        response_status=200,
    )
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    for record in qs.order_by("created_at", "id").only("id", "body", "created_at").iterator():
        units = (record.body or {}).get("customAggregationUnits") or []
        if units:
            yield record, units[0]


def _month_units(account) -> list[str]:
    now = clock.now(account.workspace).astimezone(JST)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return list(dict.fromkeys(unit for _record, unit in _unit_requests(account, since=start)))


def line_api_aggregation_info(account: ChannelAccount) -> Answer:
    return Answer(200, {"numOfCustomAggregationUnits": len(_month_units(account))})


def line_api_aggregation_list(account: ChannelAccount, query) -> Answer:
    """Unit names used this month (UTC+9), oldest first; `limit` ≤ 100 (default 100); `start` = the `next` token."""
    try:
        limit = int(query.get("limit", "100"))
        if not 1 <= limit <= 100:
            raise ValueError
    except ValueError:
        return Answer(400, {"message": "Invalid limit param"})
    try:
        start = int(query.get("start", "0"))
        if start < 0:
            raise ValueError
    except ValueError:
        return Answer(400, {"message": "Invalid start param"})
    units = _month_units(account)
    body = {"customAggregationUnits": units[start:start + limit]}
    if start + limit < len(units):
        body["next"] = str(start + limit)
    return Answer(200, body)


def _privacy(value: int):
    # LINE shows counts under 20 as null, to protect users' privacy.
    return value if value >= getattr(settings, "SANDBOX_LINE_PRIVACY_THRESHOLD", 20) else None


def line_api_unit_statistics(account: ChannelAccount, query) -> Answer:
    """GET /v2/bot/insight/message/event/aggregation: per-unit impressions and clicks from what personas did with
    the deliveries of push/multicast requests carrying that unit, sent between `from` and `to` (UTC+9 dates, at
    most 30 days apart). Interactions later than 14 days after a send are not counted, as at LINE."""
    unit, d_from, d_to = query.get("customAggregationUnit"), query.get("from"), query.get("to")
    try:
        if not unit or not v.UNIT_NAME.match(unit):
            raise ValueError
        start = datetime.datetime.strptime(d_from or "", "%Y%m%d").replace(tzinfo=JST)
        end = datetime.datetime.strptime(d_to or "", "%Y%m%d").replace(tzinfo=JST)
        if end < start or end - start > datetime.timedelta(days=30):
            raise ValueError
    except ValueError:
        # LINE's documented answer for a statistic it could not get.
        return Answer(400, {"message": None, "key": None, "stacktrace": None, "code": None})
    request_ids = [r.pk for r, u in _unit_requests(account, start, end + datetime.timedelta(days=1)) if u == unit]
    deliveries = list(
        SandboxDelivery.objects.filter(request_id__in=request_ids, delivered=True).order_by("id")
        .only("id", "request_id", "persona_id", "created_at")
    )
    seq_of, counters = {}, defaultdict(int)
    for d in deliveries:  # a request's messages reach each persona in order: seq = 1-based position
        counters[(d.request_id, d.persona_id)] += 1
        seq_of[d.pk] = counters[(d.request_id, d.persona_id)]
    sent_at = {d.pk: d.created_at for d in deliveries}
    persona_of = {d.pk: d.persona_id for d in deliveries}
    impressions, unique_imp, click_count, click_users, url_users = (
        defaultdict(int), defaultdict(set), defaultdict(int), defaultdict(set), defaultdict(set))
    seen, clicked = set(), set()
    for i in SandboxInteraction.objects.filter(delivery_id__in=list(seq_of)).order_by("id"):
        if i.created_at - sent_at[i.delivery_id] > STATS_WINDOW:
            continue
        seq, who = seq_of[i.delivery_id], persona_of[i.delivery_id]
        if i.kind == "impression":
            impressions[seq] += 1
            unique_imp[seq].add(who)
            seen.add(who)
        else:
            click_count[(seq, i.url)] += 1
            click_users[(seq, i.url)].add(who)
            url_users[i.url].add(who)
            clicked.add(who)
    nulls = dict.fromkeys(["mediaPlayed", "mediaPlayed25Percent", "mediaPlayed50Percent", "mediaPlayed75Percent",
                           "mediaPlayed100Percent", "uniqueMediaPlayed", "uniqueMediaPlayed25Percent",
                           "uniqueMediaPlayed50Percent", "uniqueMediaPlayed75Percent",
                           "uniqueMediaPlayed100Percent"])
    body = {
        "overview": {"uniqueImpression": _privacy(len(seen)), "uniqueClick": _privacy(len(clicked)),
                     "uniqueMediaPlayed": None, "uniqueMediaPlayed100Percent": None},
        "messages": [
            {"seq": seq, "impression": _privacy(impressions[seq]), "uniqueImpression": _privacy(len(unique_imp[seq])),
             **nulls}
            for seq in sorted(impressions)
        ],
        "clicks": [
            {"seq": seq, "url": url, "click": _privacy(click_count[(seq, url)]),
             "uniqueClick": _privacy(len(click_users[(seq, url)])), "uniqueClickOfRequest": _privacy(len(url_users[url]))}
            for seq, url in sorted(click_count)
        ],
    }
    return Answer(200, body)


def sandbox_line_impression(delivery: SandboxDelivery) -> SandboxInteraction:
    """The simulated phone showed this LINE message to its persona (feeds unit statistics' impressions)."""
    return sandbox_interaction_record(delivery=delivery, kind="impression")


def sandbox_line_click(delivery: SandboxDelivery, url: str) -> SandboxInteraction:
    """The persona opened `url` from this LINE message (feeds unit statistics' clicks)."""
    return sandbox_interaction_record(delivery=delivery, kind="click", url=url)
