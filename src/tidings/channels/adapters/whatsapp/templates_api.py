"""The Graph API calls behind WhatsApp message templates (reference/meta/NOTES.md, "Templates").

Templates belong to the WhatsApp Business Account (`account.settings["waba_id"]`), not to the phone number:

- create  `POST {base}/v23.0/{waba-id}/message_templates` {name, language, category, components} → {id, status}
- edit    `POST {base}/v23.0/{template-id}` {components, category?} → {success}   (goes back to review)
- list    `GET  {base}/v23.0/{waba-id}/message_templates?limit=&after=` → {data: [...], paging: {cursors, next?}}
- delete  `DELETE {base}/v23.0/{waba-id}/message_templates?name=&hsm_id=` → {success}

Every call raises `channels.meta.GraphApiError` (with Graph's error object) when Meta refuses.
"""

from urllib.parse import parse_qs, urlparse

from tidings.channels.meta import GraphApiError, graph_request, graph_url

PAGE_SIZE = 100
MAX_PAGES = 50  # 5,000 templates: far above Meta's per-WABA limit, a guard against a paging loop


def _waba(account) -> str:
    waba = str(account.settings.get("waba_id") or "").strip()
    if not waba:
        raise GraphApiError({"status": None, "message": "This WhatsApp account has no WhatsApp Business Account id."})
    return waba


def template_create(account, payload: dict) -> dict:
    return graph_request(account, "POST", graph_url(account, _waba(account), "message_templates"), payload=payload)


def template_edit(account, template_id: str, payload: dict) -> dict:
    return graph_request(account, "POST", graph_url(account, template_id), payload=payload)


def template_delete(account, name: str, template_id: str = "") -> dict:
    params = {"name": name}
    if template_id:
        params["hsm_id"] = template_id
    return graph_request(account, "DELETE", graph_url(account, _waba(account), "message_templates"), params=params)


def templates_list(account) -> list[dict]:
    """Every template of the account's WABA, following the paging cursors."""
    url = graph_url(account, _waba(account), "message_templates")
    params = {"limit": PAGE_SIZE}
    out: list[dict] = []
    for _page in range(MAX_PAGES):
        body = graph_request(account, "GET", url, params=params)
        out.extend(t for t in body.get("data") or [] if isinstance(t, dict))
        paging = body.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            break
        next_after = parse_qs(urlparse(paging["next"]).query).get("after", [after])[0]
        params = {"limit": PAGE_SIZE, "after": next_after}
    return out
