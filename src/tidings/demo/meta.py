"""The demo on Meta's channels: sandbox WhatsApp, Messenger and Instagram accounts, three approved WhatsApp templates
(one with five buttons, so the phone folds them behind "See all options"), which personas are on which app and
whether their 24-hour window is open, and a little history made the real way.

Templates are created through the templates app (a Graph call to the fake, which puts them in review); the demo
then has the fake's review decide at once and reads the result back with "sync", so the demo does not wait for the
review timer. A persona "in the window" wrote its first message by signed webhook when it was created
(`personas_meta`); one outside it has never written, so only templates reach it.

Webhooks are processed by the worker, which `./run` starts after loading the demo (and which a test runs only once
the loading transaction commits). So that the demo's replies pass the pipeline's window check now, the demo notes on
the persona's identity the moment it wrote (`demo_note_windows`): what processing its webhook will record anyway.
"""

from tidings.channels.models import AccountMode, ChannelAccount
from tidings.channels.services import account_create
from tidings.contacts.models import ChannelIdentity
from tidings.contacts.services import identity_note_inbound
from tidings.core.models import Workspace
from tidings.message_templates.models import WhatsAppTemplate
from tidings.message_templates.services import template_create, templates_sync
from tidings.sandbox.fake_graph.templates import template_review
from tidings.sandbox.models import Persona
from tidings.sandbox.personas_meta import LAST_FIELD, META_CHANNELS

META_ACCOUNTS = [("whatsapp", "Tidings 茶飲 WhatsApp"), ("messenger", "Tidings 茶飲 Facebook"),
                 ("instagram", "Tidings 茶飲 Instagram")]

TEMPLATES = [
    {"name": "weekly_offers", "language": "zh_TW", "category": "MARKETING", "audience": "general",
     "header": {"format": "TEXT", "text": "本週精選"},
     "body": "{{1}} 你好！本週新品上架，凍檸茶第二杯半價，快啲揀你鍾意嘅口味。",
     "footer": "Tidings 茶飲 · 回覆「停止」取消訂閱", "examples": {"body": ["陳小姐"]},
     "buttons": [{"type": "quick_reply", "text": "我要凍檸茶"}, {"type": "quick_reply", "text": "我要珍珠奶茶"},
                 {"type": "quick_reply", "text": "我要烏龍茶"},
                 {"type": "url", "text": "睇全部新品", "url": "https://tidings.example/menu"},
                 {"type": "phone", "text": "致電門市", "phone": "+85230001234"}]},
    {"name": "order_ready", "language": "zh_TW", "category": "UTILITY", "audience": "general",
     "body": "{{1}} 你好，你嘅訂單 {{2}} 已經準備好，請到 {{3}} 取貨。", "examples": {"body": ["王小美", "#1024", "銅鑼灣店"]},
     "buttons": [{"type": "quick_reply", "text": "收到"}, {"type": "quick_reply", "text": "改期取貨"}]},
    {"name": "table_reminder", "language": "en", "category": "UTILITY", "audience": "general",
     "body": "Hi {{1}}, see you at {{2}} today. Reply if your plans change.", "examples": {"body": ["Priya", "7:30 pm"]},
     "footer": "Tidings Tea House",
     "buttons": [{"type": "quick_reply", "text": "Confirm"}, {"type": "quick_reply", "text": "Reschedule"},
                 {"type": "url", "text": "Directions", "url": "https://tidings.example/find-us"}]},
]

# phone → how the persona is on Meta's apps (None = not on it; in_window = it wrote just now).
OPEN, SHUT = {"in_window": True}, {"in_window": False}
META_FLAGS = {
    "+85261234501": {"whatsapp": OPEN, "messenger": SHUT},
    "+85261234502": {"whatsapp": SHUT},
    "+85261234503": {"instagram": OPEN},
    "+85261234506": {"whatsapp": OPEN, "messenger": OPEN},
    "+85291234507": {"instagram": OPEN, "messenger": SHUT},
    "+886912345611": {"whatsapp": SHUT},
    "+886912345612": {"messenger": OPEN, "instagram": SHUT},
    "+886912345613": {"whatsapp": OPEN},
}
# Personas on Meta's apps only (no LINE): name, phone, flags.
META_PERSONAS = [
    ("Priya Sharma", "+85251234521", {"whatsapp": OPEN}),
    ("陳俊傑", "+85251234522", {"whatsapp": SHUT, "instagram": SHUT}),
    ("Sophie Ho", "+886912345621", {"messenger": OPEN, "instagram": OPEN}),
    ("周杰倫", "+886912345622", {"whatsapp": SHUT, "messenger": OPEN}),
]

RESERVE = {"type": "buttons", "text": "有呀！今日仲有蛋撻，要唔要幫你預留？", "actions": [
    {"type": "postback", "label": "預留兩件", "data": "reserve=2"},
    {"type": "postback", "label": "預留四件", "data": "reserve=4"},
    {"type": "postback", "label": "唔使喇", "data": "reserve=0"}]}
CARDS = {"type": "carousel", "columns": [
    {"title": "燕麥奶茶 Oat milk tea", "text": "Vegan · HK$34", "actions": [
        {"type": "postback", "label": "Order", "data": "order=oat-milk-tea"},
        {"type": "uri", "label": "Details", "uri": "https://tidings.example/menu/oat-milk-tea"}]},
    {"title": "椰子冰 Coconut ice", "text": "Vegan · HK$30", "actions": [
        {"type": "postback", "label": "Order", "data": "order=coconut-ice"}]}]}
WHEN = {"type": "text", "text": "新品下星期一開賣！想幾時收到提示？", "quick_replies": [
    {"type": "postback", "label": "開賣當日", "data": "remind=launch"},
    {"type": "postback", "label": "唔使喇", "data": "remind=no"}]}


def weekly_offers(name: str) -> dict:
    return {"type": "template", "name": "weekly_offers", "language": "zh_TW", "parameters": [name]}


# phone → [("in", channel, text) | ("out", channel, contents)], after the persona is created.
META_HISTORY = {
    "+85261234501": [("in", "whatsapp", "想問下今日有冇蛋撻？"), ("out", "whatsapp", [RESERVE])],
    "+85261234502": [("out", "whatsapp", [weekly_offers("Chan 先生")])],
    "+85261234503": [("in", "instagram", "新品幾時有得賣？"), ("out", "instagram", [WHEN])],
    "+85261234506": [("in", "messenger", "Do you have vegan options?"), ("out", "messenger", [CARDS])],
    "+886912345611": [("out", "whatsapp", [{"type": "template", "name": "order_ready", "language": "zh_TW",
                                            "parameters": ["林志明", "#2048", "信義店"]}])],
    "+886912345613": [("out", "whatsapp", [weekly_offers("Kevin")])],
    "+85251234521": [("out", "whatsapp", [{"type": "template", "name": "table_reminder", "language": "en",
                                           "parameters": ["Priya", "7:30 pm"]}])],
    "+85251234522": [("out", "whatsapp", [weekly_offers("陳先生")])],
    "+886912345621": [("in", "instagram", "有冇得外賣？"),
                      ("out", "instagram", [{"type": "text", "text": "有呀！Foodpanda 同 Uber Eats 都搵到我哋。"}])],
}


def demo_meta_accounts(workspace: Workspace) -> None:
    for channel, name in META_ACCOUNTS:
        if not ChannelAccount.objects.for_workspace(workspace).filter(channel=channel, mode=AccountMode.SANDBOX).exists():
            account_create(workspace=workspace, actor=None, channel=channel, name=name)


def demo_templates(workspace: Workspace) -> None:
    """Create the templates that do not exist yet, have the fake Meta approve them now, and sync."""
    created = []
    for data in TEMPLATES:
        if not WhatsAppTemplate.objects.for_workspace(workspace).filter(name=data["name"],
                                                                       language=data["language"]).exists():
            created.append(template_create(workspace=workspace, actor=None, data=data))
    for template in created:
        if template.provider_template_id:
            template_review(template.provider_template_id)
    if created:
        templates_sync(workspace=workspace, actor=None)


def demo_note_windows(persona: Persona) -> None:
    """Record on the persona's identities when it last wrote on each Meta channel (see the module's note)."""
    for channel in META_CHANNELS:
        at = getattr(persona, LAST_FIELD[channel])
        if at is None:
            continue
        identity = ChannelIdentity.objects.filter(contact=persona.contact, channel=channel).first()
        if identity is not None:
            identity_note_inbound(identity=identity, at=at)
