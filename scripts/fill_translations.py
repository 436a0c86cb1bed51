"""Fill empty msgstr entries of the zh catalogs from a JSON file {msgid: {"zh_Hant": ..., "zh_Hans": ...}}.

Developer helper for after `makemessages`: python scripts/fill_translations.py new-strings.json
Only single-line msgids are handled; multi-line ones are edited by hand.
"""

import json
import re
import sys
from pathlib import Path

LOCALE = Path(__file__).resolve().parent.parent / "src" / "tidings" / "locale"


def fill(catalog: Path, translations: dict[str, str]) -> int:
    text = catalog.read_text(encoding="utf-8")
    filled = 0

    def replace(match):
        nonlocal filled
        msgid = json.loads(match.group(1))
        if msgid in translations:
            filled += 1
            return f"msgid {match.group(1)}\nmsgstr {json.dumps(translations[msgid], ensure_ascii=False)}\n"
        return match.group(0)

    text = re.sub(r'^msgid (".*")\nmsgstr ""\n(?!")', replace, text, flags=re.M)
    catalog.write_text(text, encoding="utf-8")
    return filled


def main(path: str) -> None:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    for language in ("zh_Hant", "zh_Hans"):
        catalog = LOCALE / language / "LC_MESSAGES" / "django.po"
        count = fill(catalog, {msgid: by_lang[language] for msgid, by_lang in data.items()})
        print(f"{language}: filled {count}")


if __name__ == "__main__":
    main(sys.argv[1])
