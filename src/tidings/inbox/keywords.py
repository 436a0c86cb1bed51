"""Keyword auto-reply and auto-assign rules (SPEC I4): placeholder until the rules land."""


def keyword_rules_fire(*, conversation, message) -> None:
    return None
