"""Objects of another workspace for the cross-workspace 404 test: personas (sandbox API, simulated phone) and
channel accounts (console channel pages)."""

import itertools

from tests.support.cross_workspace import register_object_factory, register_request_body

_seq = itertools.count(1)


def make_persona(workspace):
    from tidings.sandbox.personas import persona_create

    # No LINE account: creating it needs no sandbox account or webhook in the other workspace.
    return persona_create(workspace=workspace, name=f"XWS persona {next(_seq)}",
                          phone=f"+8529876{next(_seq):04d}", line=False)


def make_account(workspace):
    from tidings.channels.services import account_create

    return account_create(workspace=workspace, actor=None, channel="line", name=f"XWS LINE {next(_seq)}")


register_object_factory("persona_id", make_persona)
register_object_factory("account_id", make_account)
register_request_body("POST", "/api/v1/sandbox/personas/{persona_id}/actions",
                      {"action": "send", "channel": "sms", "text": "hello"})
