"""Templates in the shape of the API (and of the issue's external test suite)."""

import pytest


def template_data(**overrides) -> dict:
    data = {
        "name": "order_shipped",
        "language": "en",
        "category": "UTILITY",
        "audience": "general",
        "header": "Your order is on its way",
        "body": "Hi {{1}}, order {{2}} left our warehouse today.",
        "footer": "Reply STOP to opt out",
        "buttons": [
            {"type": "quick_reply", "text": "Thanks"},
            {"type": "url", "text": "Track it", "url": "https://shop.example/track/{{1}}"},
        ],
    }
    data.update(overrides)
    return data


def buttons(*kinds) -> list[dict]:
    """Buttons of the given kinds, each valid on its own ("qr", "url", "phone", "order")."""
    out = []
    for n, kind in enumerate(kinds, 1):
        if kind == "qr":
            out.append({"type": "quick_reply", "text": f"Answer {n}"})
        elif kind == "url":
            out.append({"type": "url", "text": f"Open {n}", "url": f"https://shop.example/p/{n}"})
        elif kind == "phone":
            out.append({"type": "phone", "text": "Call us", "phone": "+85230001234"})
        elif kind == "order":
            out.append({"type": "go_to_order", "text": "View order"})
        else:
            raise ValueError(kind)
    return out


@pytest.fixture
def wa(whatsapp_account):
    return whatsapp_account
