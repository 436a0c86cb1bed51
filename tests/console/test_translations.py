"""Both Chinese catalogs are complete: every entry translated, nothing fuzzy, placeholders kept."""

import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "src" / "tidings" / "locale"
CATALOGS = ["zh_Hant", "zh_Hans"]
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sd]")


def _unquote(text: str) -> str:
    return text[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def parse_po(path: Path) -> list[dict]:
    """A small .po reader: entries with their flags, msgid, msgid_plural and msgstr(s)."""
    entries, entry, key = [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if entry is not None:
                entries.append(entry)
            entry, key = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgid": "", "msgid_plural": None, "msgstr": {}, "obsolete": False}
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            key, entry["msgid_plural"] = "msgid_plural", _unquote(line[len("msgid_plural "):])
        elif line.startswith("msgid "):
            key, entry["msgid"] = "msgid", _unquote(line[len("msgid "):])
        elif line.startswith("msgstr"):
            index, _, value = line.partition(" ")
            key = ("msgstr", index[7:-1] if "[" in index else "0")
            entry["msgstr"][key[1]] = _unquote(value)
        elif line.startswith('"'):
            if isinstance(key, tuple):
                entry["msgstr"][key[1]] += _unquote(line)
            else:
                entry[key] += _unquote(line)
    return entries


@pytest.mark.parametrize("catalog", CATALOGS)
def test_catalog_is_complete(catalog):
    path = LOCALE / catalog / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"missing {path}: run makemessages (see docs)"
    entries = parse_po(path)
    header = next(e for e in entries if e["msgid"] == "")
    assert "fuzzy" not in header["flags"], f"{catalog}: the header is marked fuzzy"
    problems = []
    for e in entries:
        if e["msgid"] == "" or e["obsolete"]:
            continue
        if "fuzzy" in e["flags"]:
            problems.append(f"fuzzy: {e['msgid']!r}")
        if not e["msgstr"] or any(not text.strip() for text in e["msgstr"].values()):
            problems.append(f"untranslated: {e['msgid']!r}")
            continue
        # Chinese has one plural form, used for every count: it takes the plural msgid's placeholders.
        wanted = sorted(PLACEHOLDER.findall(e["msgid_plural"] or e["msgid"]))
        for text in e["msgstr"].values():
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"placeholders differ: {e['msgid']!r}")
    assert len(entries) > 100
    assert not problems, f"{catalog}: " + "; ".join(problems)


def test_role_names_follow_the_product():
    expected = {
        "zh_Hant": ["管理員", "主管", "客服經理", "客服人員", "行銷人員", "銷售經理", "銷售人員"],
        "zh_Hans": ["管理员", "主管", "客服经理", "客服人员", "营销人员", "销售经理", "销售人员"],
    }
    roles = ["Admin", "Supervisor", "CS Manager", "CS Agent", "Marketer", "Sales Manager", "Sales Person"]
    for catalog, names in expected.items():
        table = {e["msgid"]: e["msgstr"].get("0") for e in parse_po(LOCALE / catalog / "LC_MESSAGES" / "django.po")}
        assert [table[r] for r in roles] == names
