"""The demo's channels and simulated customers: a sandbox LINE Official Account, a sandbox Twilio sender, sandbox
WhatsApp, Messenger and Instagram accounts (`meta.py`), and two dozen personas in Hong Kong and Taiwan covering every
LINE state (friend; not a friend; blocked; no LINE account; PNP consent or not) and Meta's (on WhatsApp, Messenger
or Instagram, inside or outside the 24-hour window), with a little chat history made the real way (inbound by
signed webhooks, outbound through the message pipeline). A persona that already exists (same phone) is left alone,
history included."""

from tidings.channels.models import AccountMode, ChannelAccount
from tidings.channels.services import account_create
from tidings.core.models import Workspace
from tidings.messaging.services import message_send
from tidings.sandbox.models import Persona
from tidings.sandbox.personas import persona_act, persona_create

from .meta import META_FLAGS, META_HISTORY, META_PERSONAS, demo_meta_accounts, demo_note_windows, demo_templates

LINE_ACCOUNT = "Tidings 茶飲 LINE"
SMS_ACCOUNT = "Tidings 茶飲 SMS"

# name, phone, LINE account, friend, blocked, PNP consent
PERSONAS = [
    ("陳美玲", "+85261234501", True, True, False, True),
    ("Chan Tai Man", "+85261234502", True, True, False, False),
    ("李嘉欣", "+85261234503", True, True, False, True),
    ("Wong Ka Yan", "+85261234504", True, False, False, False),
    ("張偉明", "+85261234505", True, True, True, False),
    ("Emily Lau", "+85261234506", False, False, False, False),
    ("何詠詩", "+85291234507", True, True, False, False),
    ("Jason Cheung", "+85291234508", True, False, False, True),
    ("梁振華", "+85251234509", False, False, False, False),
    ("Karen Ng", "+85251234510", True, True, True, True),
    ("林志明", "+886912345611", True, True, False, True),
    ("王小美", "+886912345612", True, True, False, True),
    ("Kevin Huang", "+886912345613", True, True, False, False),
    ("黃雅婷", "+886912345614", True, False, False, True),
    ("張家豪", "+886912345615", True, True, True, False),
    ("Amy Lin", "+886912345616", False, False, False, False),
    ("吳宗翰", "+886912345617", True, True, False, True),
    ("Grace Tsai", "+886912345618", True, False, False, False),
    ("劉怡君", "+886912345619", True, True, False, False),
    ("蔡承恩", "+886912345620", False, False, False, False),
]

MENU = {"type": "carousel", "alt_text": "本週新品", "columns": [
    {"title": "凍檸茶", "text": "港式凍檸茶 HK$28", "actions": [
        {"type": "postback", "label": "落單", "data": "order=lemon-tea", "display_text": "我要凍檸茶"},
        {"type": "uri", "label": "詳情", "uri": "https://tidings.example/menu/lemon-tea"}]},
    {"title": "珍珠奶茶", "text": "招牌珍珠奶茶 HK$32", "actions": [
        {"type": "postback", "label": "落單", "data": "order=bubble-tea", "display_text": "我要珍珠奶茶"},
        {"type": "uri", "label": "詳情", "uri": "https://tidings.example/menu/bubble-tea"}]},
    {"title": "烏龍茶", "text": "凍頂烏龍 HK$25", "actions": [
        {"type": "postback", "label": "落單", "data": "order=oolong", "display_text": "我要烏龍茶"},
        {"type": "uri", "label": "詳情", "uri": "https://tidings.example/menu/oolong"}]},
]}
COUPON = {"type": "coupon", "title": "會員九折", "description": "全單九折，每人限用一次", "code": "TEA10",
          "valid_until": "2026-12-31", "button": {"type": "uri", "label": "領取優惠",
                                                  "uri": "https://tidings.example/coupons/tea10"}}
WELCOME = {"type": "buttons", "title": "歡迎加入", "text": "多謝你加我哋做朋友！想睇咩？", "actions": [
    {"type": "postback", "label": "最新優惠", "data": "menu=offers"},
    {"type": "message", "label": "門市地址", "text": "門市地址"},
    {"type": "uri", "label": "網上商店", "uri": "https://tidings.example/shop"}],
    "quick_replies": [{"type": "message", "label": "營業時間", "text": "營業時間？"}]}

# phone → what happens after the persona is created: ("in", channel, text) or ("out", channel, contents)
HISTORY = {
    "+85261234501": [("out", "line", [WELCOME]), ("in", "line", "你好！有冇新品？"), ("out", "line", [MENU])],
    "+85261234502": [("in", "line", "Do you deliver to Kowloon Bay?"),
                     ("out", "line", [{"type": "text", "text": "Yes, free delivery over HK$200."}])],
    "+85261234503": [("out", "line", [COUPON])],
    "+85261234506": [("out", "sms", [{"type": "text", "text": "Tidings 茶飲: 你的訂單 #1024 已出貨。"}]),
                     ("in", "sms", "多謝！")],
    "+886912345611": [("in", "line", "請問信義店幾點開？"),
                      ("out", "line", [{"type": "text", "text": "信義店每天 11:00–21:00 營業喔！"}])],
    "+886912345612": [("out", "line", [MENU])],
}


def _account(workspace: Workspace, channel: str, name: str) -> ChannelAccount:
    return (ChannelAccount.objects.for_workspace(workspace).filter(channel=channel, mode=AccountMode.SANDBOX)
            .order_by("id").first()
            or account_create(workspace=workspace, actor=None, channel=channel, name=name))


def demo_channels_and_personas(workspace: Workspace) -> None:
    _account(workspace, "line", LINE_ACCOUNT)
    _account(workspace, "sms", SMS_ACCOUNT)
    demo_meta_accounts(workspace)
    demo_templates(workspace)
    existing = set(Persona.objects.for_workspace(workspace).values_list("phone", flat=True))
    people = [(name, phone, {"line": line, "friend": friend, "blocked": blocked, "pnp_consent": pnp,
                             **META_FLAGS.get(phone, {})}) for name, phone, line, friend, blocked, pnp in PERSONAS]
    people += [(name, phone, {"line": False, **flags}) for name, phone, flags in META_PERSONAS]
    for name, phone, flags in people:
        if phone in existing:
            continue
        persona = persona_create(workspace=workspace, name=name, phone=phone, **flags)
        for direction, channel, what in HISTORY.get(phone, []) + META_HISTORY.get(phone, []):
            if direction == "in":
                persona_act(workspace=workspace, persona=persona, action="send", channel=channel, text=what)
            else:
                demo_note_windows(persona)
                # Templates and replies in the window go as chat; the pipeline refuses anything else.
                message_send(workspace=workspace, contact=persona.contact, channel=channel, contents=what,
                             purpose="chat", source="demo")
