"""Strict validation of LINE message objects against `Message` in LINE's own messaging-api.yml (jsonschema).

OpenAPI's `discriminator` is not JSON Schema, and the spec's schemas allow any extra property. So the components are
loaded into a 2020-12 registry where each discriminator becomes an explicit dispatch (`type: text` must validate as
TextMessage, an unknown `type` fails), `allOf` parents are referenced without their dispatch, and every concrete
schema gets `unevaluatedProperties: false`, so a misspelt or invented key fails too.
"""

import copy
from functools import lru_cache
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from tests.support.reference import REFERENCE

SPEC = REFERENCE / "line" / "specs" / "messaging-api.yml"
PREFIX = "#/components/schemas/"

_formats = FormatChecker()


@_formats.checks("uri")
def _uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme in ("tel", "line", "mailto"))


def _rewrite_refs(node, fn):
    if isinstance(node, dict):
        return {k: (fn(v) if k == "$ref" else _rewrite_refs(v, fn)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v, fn) for v in node]
    return node


@lru_cache(maxsize=1)
def _registry():
    schemas = yaml.safe_load(SPEC.read_text())["components"]["schemas"]
    uri = "urn:line:messaging-api"
    absolute = lambda ref: f"{uri}{ref}" if ref.startswith("#") else ref  # noqa: E731
    dispatchers = {name for name, s in schemas.items() if isinstance(s, dict) and s.get("discriminator")}
    parents = set()
    for s in schemas.values():
        for part in (s or {}).get("allOf", []):
            if "$ref" in part:
                parents.add(part["$ref"].removeprefix(PREFIX))
    out = {}
    for name, schema in schemas.items():
        schema = copy.deepcopy(schema)
        # Inheritance (`allOf: [$ref Parent]`) means the parent's fields, not its dispatch back to the children.
        for part in schema.get("allOf", []):
            ref = part.get("$ref", "")
            if ref.removeprefix(PREFIX) in dispatchers:
                part["$ref"] = ref + "__base"
        schema = _rewrite_refs(schema, absolute)
        if name in dispatchers:
            disc = schema.pop("discriminator")
            out[name + "__base"] = schema
            prop, mapping = disc["propertyName"], disc["mapping"]
            out[name] = {"allOf": [
                {"$ref": f"{uri}{PREFIX}{name}__base"},
                {"required": [prop], "properties": {prop: {"enum": sorted(mapping)}}},
                *({"if": {"properties": {prop: {"const": key}}, "required": [prop]},
                   "then": {"$ref": absolute(target)}} for key, target in mapping.items()),
            ]}
            continue
        if name not in parents and (schema.get("properties") or schema.get("allOf")):
            schema["unevaluatedProperties"] = False
        out[name] = schema
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": {"schemas": out}}
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    return Registry().with_resource(uri, resource), uri


def line_errors(value, schema_name: str = "Message") -> list[str]:
    registry, uri = _registry()
    validator = Draft202012Validator({"$ref": f"{uri}{PREFIX}{schema_name}"}, registry=registry,
                                     format_checker=_formats)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(value)]


def assert_line_valid(value, schema_name: str = "Message") -> None:
    errors = line_errors(value, schema_name)
    assert not errors, f"not a valid LINE {schema_name}:\n" + "\n".join(errors)
