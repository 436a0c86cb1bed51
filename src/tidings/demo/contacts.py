"""The demo's customer data, so the contact pages are not empty: custom attributes of every type, tags, attribute
values and notes on the personas' contacts, website events (product views, carts, a purchase) and one merged pair
(a website member folded into the LINE friend it turned out to be — undoable from the profile).

Made through the contacts services, the same way the console and the API make them. Loading twice changes nothing:
attributes are created only when missing, tags are idempotent, notes are added to contacts without notes, events
carry event ids (stored once) and the merge happens only while the member's contact does not exist yet."""

import datetime

from tidings.contacts.models import Contact, ContactNote, CustomAttribute
from tidings.contacts.services import (
    contact_create,
    contact_update,
    contacts_merge,
    custom_attribute_create,
    note_add,
    tags_add,
)
from tidings.contacts.tracking import events_record
from tidings.core import clock
from tidings.core.models import Membership, Workspace

ATTRIBUTES = [
    ("birthday", "生日 Birthday", "date", []),
    ("level", "會員等級 Level", "choice", ["銀卡 Silver", "金卡 Gold", "白金卡 Platinum"]),
    ("points", "積分 Points", "number", []),
    ("newsletter", "訂閱電子報 Newsletter", "boolean", []),
    ("favourite_drink", "最愛飲品 Favourite drink", "text", []),
]

# persona phone → tags, attribute values, note
PEOPLE = {
    "+85261234501": (["VIP", "回購客", "珍珠奶茶控"], {"birthday": "1990-04-12", "level": "金卡 Gold", "points": 1280,
                                                 "newsletter": True, "favourite_drink": "凍檸茶少甜"},
                     "常客，喜歡少甜。下次來店可以介紹新品烏龍。"),
    "+85261234502": (["英文客服"], {"level": "銀卡 Silver", "points": 120, "newsletter": False},
                     "Asked about delivery to Kowloon Bay; prefers English."),
    "+85261234503": (["VIP", "優惠券"], {"birthday": "1985-11-02", "level": "白金卡 Platinum", "points": 5400}, ""),
    "+85261234506": (["SMS"], {"favourite_drink": "珍珠奶茶"}, ""),
    "+886912345611": (["台北信義店", "回購客"], {"level": "金卡 Gold", "points": 860, "newsletter": True},
                      "信義店熟客，週末下午來店。"),
    "+886912345612": (["台北信義店"], {"birthday": "1998-07-21"}, ""),
    "+886912345613": (["新客"], {}, ""),
}

MERGED_MEMBER_ID = "TD-10023"  # the website member who turned out to be 陳美玲 on LINE
PRODUCTS = [("SKU-LEMON", "港式凍檸茶禮盒", "128", "6 入"), ("SKU-BUBBLE", "招牌珍珠奶茶", "32", "大杯"),
            ("SKU-OOLONG", "凍頂烏龍茶葉", "260", "150 g")]


def _live(workspace: Workspace, phone: str) -> Contact | None:
    return Contact.objects.for_workspace(workspace).filter(phone=phone, merged_into__isnull=True).first()


def _events(workspace: Workspace, contact: Contact, phone: str) -> None:
    """A browsing session or two on the shop: views, a cart, and for some a checkout and purchase."""
    now = clock.now(workspace)
    lemon, bubble, oolong = PRODUCTS
    story = [("view_product", 50, {"id": lemon[0], "name": lemon[1], "price": lemon[2], "variant": lemon[3]}),
             ("view_product", 48, {"id": oolong[0], "name": oolong[1], "price": oolong[2], "variant": oolong[3]}),
             ("add_to_cart", 47, {"items": [{"id": lemon[0], "name": lemon[1], "price": lemon[2], "quantity": 2,
                                             "variant": lemon[3]}]})]
    if phone in ("+85261234501", "+886912345611"):
        story += [("add_to_cart", 26, {"items": [{"id": bubble[0], "name": bubble[1], "price": bubble[2],
                                                  "quantity": 3, "variant": bubble[3]}]}),
                  ("checkout", 25, {"items": [{"id": lemon[0], "name": lemon[1], "price": lemon[2], "quantity": 2},
                                              {"id": bubble[0], "name": bubble[1], "price": bubble[2],
                                               "quantity": 3}]}),
                  ("purchase", 24, {"transaction_id": f"#{1000 + contact.pk}", "amount": "352", "currency": "HKD",
                                    "items": [{"id": lemon[0], "name": lemon[1], "price": lemon[2], "quantity": 2},
                                              {"id": bubble[0], "name": bubble[1], "price": bubble[2],
                                               "quantity": 3}]})]
    events_record(workspace=workspace, source="web", events=[
        {"type": kind, "contact": contact, "properties": props, "event_id": f"demo-{phone}-{index}",
         "occurred_at": now - datetime.timedelta(hours=hours)}
        for index, (kind, hours, props) in enumerate(story)])


def demo_contacts(workspace: Workspace) -> None:
    existing = set(CustomAttribute.objects.for_workspace(workspace).values_list("key", flat=True))
    for key, name, kind, choices in ATTRIBUTES:
        if key not in existing:
            custom_attribute_create(workspace=workspace, key=key, name=name, type=kind, choices=choices)
    author = (Membership.objects.for_workspace(workspace).filter(user__email="marketer@demo.test").first()
              or Membership.objects.for_workspace(workspace).first())
    for phone, (tags, values, note) in PEOPLE.items():
        contact = _live(workspace, phone)
        if contact is None:
            continue
        tags_add(workspace=workspace, contact_ids=[contact.pk], names=tags)
        missing = {k: v for k, v in values.items() if k not in (contact.attributes or {})}
        if missing:
            contact_update(workspace=workspace, contact=contact, attributes=missing)
        if note and not ContactNote.objects.filter(contact=contact).exists():
            note_add(workspace=workspace, contact=contact, text=note, author=author)
        if phone in ("+85261234501", "+85261234503", "+886912345611", "+886912345612"):
            _events(workspace, contact, phone)
    mei = _live(workspace, "+85261234501")
    if mei is not None and not Contact.objects.for_workspace(workspace).filter(member_id=MERGED_MEMBER_ID).exists():
        member = contact_create(workspace=workspace, name="Mei Chan", email="mei.chan@example.test",
                                member_id=MERGED_MEMBER_ID, tags=["官網會員"])
        contacts_merge(workspace=workspace, kept=mei, merged=member, reason="binding", detail="LINE code binding")
