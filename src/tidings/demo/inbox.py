"""The demo's inbox: conversations in all three states on LINE, WhatsApp and Messenger — some followed by the demo
CS agent (Kai), some by the CS manager and a salesperson, some closed — three keyword rules and a few personal and
team-wide saved replies. All through the inbox services, as the console would do it.

Runs inside `demo_load`'s transaction, after the personas: their customer messages are webhooks the worker processes
once the load commits, so the conversations arranged here are those our own messages opened, and only those whose
customer has nothing more to say are closed (a customer message reopens a closed conversation). The keyword rules
exist by the time those webhooks are processed: "新品" and "幾點開" fire on two of them.

Loading twice changes nothing: a conversation is arranged only while it has no activity, rules and replies are
created only when missing (by name / title).
"""

import logging

from tidings.contacts.models import ChannelIdentity
from tidings.core.errors import ServiceError
from tidings.core.models import Membership, Workspace
from tidings.core.roles import Role
from tidings.inbox.keyword_rules import keyword_rule_create
from tidings.inbox.models import Conversation, KeywordRule, SavedReply
from tidings.inbox.saved_replies import saved_reply_create, saved_reply_fill
from tidings.inbox.services import conversation_close, conversation_ensure, conversation_follow, conversation_reply
from tidings.messaging.services import message_send

logger = logging.getLogger(__name__)

AGENT, MANAGER, SALES = "cs-agent@demo.test", "cs-manager@demo.test", "sales@demo.test"

# (persona phone, channel) → who follows it, and whether it ends closed. Unlisted conversations stay pending.
ARRANGEMENT = [
    ("+85261234501", "whatsapp", AGENT, False),  # 陳美玲 asks about egg tarts
    ("+85261234502", "line", AGENT, False),  # Chan Tai Man: delivery to Kowloon Bay
    ("+85261234506", "messenger", AGENT, False),  # Emily Lau: vegan options (Kai answers with a saved reply)
    ("+85251234521", "whatsapp", MANAGER, False),  # Priya Sharma: table reminder
    ("+886912345613", "whatsapp", SALES, False),  # Kevin Huang: weekly offers, served by the store
    ("+85261234503", "line", AGENT, True),  # 李嘉欣: coupon sent, nothing more to say
    ("+886912345612", "line", MANAGER, True),  # 王小美: menu sent
    ("+85261234502", "whatsapp", AGENT, True),  # Chan Tai Man: weekly offers template
    ("+85251234522", "whatsapp", MANAGER, True),  # 陳俊傑: weekly offers template
    ("+85261234501", "messenger", AGENT, True),  # 陳美玲: order update, outside the window with a tag
]
# A tagged update (outside Messenger's window) that opens the closed Messenger conversation above.
MESSENGER_UPDATE = ("+85261234501", "POST_PURCHASE_UPDATE",
                    {"type": "text", "text": "你嘅訂單 #1024 已經送達，多謝惠顧！有問題隨時搵我哋。"})
REPLIED_WITH = ("+85261234506", "messenger", "我的結尾 My sign-off")

KEYWORD_RULES = [
    ("reply", {"name": "新品查詢 New items", "match_type": "any", "keywords": ["新品", "new items"],
               "channels": ["line", "whatsapp", "messenger"], "tags": ["問新品"],
               "reply_contents": [{"type": "text", "text": "本週新品：凍頂烏龍奶蓋同燕麥奶茶 🍵 回覆「菜單」睇全部飲品！"}]}),
    ("reply", {"name": "營業時間 Opening hours", "match_type": "any", "keywords": ["營業時間", "幾點開", "opening hours"],
               "reply_contents": [{"type": "text", "text": "我哋每日 11:00–21:00 營業 🙂 Open daily 11:00–21:00."}]}),
    ("assign", {"name": "團購轉客服 Group orders to CS", "match_type": "any", "keywords": ["團購", "group order", "bulk"],
                "assign_role": Role.CS_AGENT, "assign_order": "in_turn", "tags": ["團購"]}),
]

# (author, team-wide, title, category, text)
SAVED_REPLIES = [
    (MANAGER, True, "營業時間 Opening hours", "門市 Store",
     "{name} 你好！我哋每日 11:00–21:00 營業，歡迎嚟搵我哋 🙂"),
    (MANAGER, True, "外賣 Delivery", "訂單 Orders",
     "{name} 你好，Foodpanda 同 Uber Eats 都搵到 {brand}；滿 HK$200 仲有免費送貨。"),
    (MANAGER, True, "退款 Refunds", "訂單 Orders",
     "{name} 你好，退款會喺 3 個工作天內退返原本嘅付款方式。如有疑問請回覆呢個對話，{agent} 會跟進。"),
    (AGENT, False, "我的結尾 My sign-off", "",
     "多謝你嘅查詢，{name}！我係 {agent}，有咩再搵我 😊"),
    (MANAGER, False, "VIP 招呼 VIP welcome", "",
     "{name} 你好，多謝一直支持 {brand}！你嘅 VIP 優惠已經加咗入帳戶。"),
]


def _members(workspace: Workspace) -> dict[str, Membership]:
    return {m.user.email: m for m in Membership.objects.for_workspace(workspace).select_related("user", "workspace")
            .filter(user__email__in=[AGENT, MANAGER, SALES])}


def _identity(workspace: Workspace, phone: str, channel: str) -> ChannelIdentity | None:
    return (ChannelIdentity.objects.for_workspace(workspace)
            .filter(channel=channel, contact__phone=phone, contact__merged_into__isnull=True).first())


def _conversation(workspace: Workspace, phone: str, channel: str) -> Conversation | None:
    identity = _identity(workspace, phone, channel)
    return conversation_ensure(identity=identity)[0] if identity else None


def _saved_replies(workspace: Workspace, members: dict[str, Membership]) -> None:
    for author, team_wide, title, category, text in SAVED_REPLIES:
        member = members.get(author)
        if member is None:
            continue
        owner = None if team_wide else member
        if SavedReply.objects.for_workspace(workspace).filter(title=title, owner=owner).exists():
            continue
        saved_reply_create(membership=member, title=title, category=category, text=text, team_wide=team_wide)


def _keyword_rules(workspace: Workspace, members: dict[str, Membership]) -> None:
    existing = set(KeywordRule.objects.for_workspace(workspace).values_list("name", flat=True))
    for kind, data in KEYWORD_RULES:
        if data["name"] not in existing:
            keyword_rule_create(workspace=workspace, kind=kind, data=data, by=members.get(MANAGER))


def _messenger_update(workspace: Workspace) -> None:
    phone, tag, content = MESSENGER_UPDATE
    identity = _identity(workspace, phone, "messenger")
    if identity is None or Conversation.objects.filter(identity=identity).exists():
        return
    message_send(workspace=workspace, contact=identity.contact_id, channel="messenger", contents=[content],
                 purpose="chat", source="demo", tag=tag)


def _arrange(workspace: Workspace, members: dict[str, Membership]) -> None:
    for phone, channel, email, closed in ARRANGEMENT:
        member = members.get(email)
        conversation = _conversation(workspace, phone, channel)
        if member is None or conversation is None or conversation.activities.exists():
            continue
        conversation_follow(conversation=conversation, membership=member)
        if (phone, channel) == REPLIED_WITH[:2]:
            reply = SavedReply.objects.for_workspace(workspace).filter(title=REPLIED_WITH[2]).first()
            if reply is not None:
                try:
                    conversation_reply(conversation=conversation, membership=member,
                                       contents=[{"type": "text", "text": saved_reply_fill(reply, conversation,
                                                                                           member)["text"]}])
                except ServiceError as exc:  # an old demo database whose window has long closed
                    logger.info("demo: no saved reply in conversation %s: %s", conversation.pk, exc.message)
        if closed:
            conversation_close(conversation=conversation, membership=member)


def demo_inbox(workspace: Workspace) -> None:
    members = _members(workspace)
    _saved_replies(workspace, members)
    _keyword_rules(workspace, members)
    _messenger_update(workspace)
    _arrange(workspace, members)
