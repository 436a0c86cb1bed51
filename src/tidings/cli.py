"""The `tidings` command: manage.py under a name people remember.

    tidings serve | worker | demo | token create ... | clock show|advance ... | migrate | ...
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tidings.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tidings", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
