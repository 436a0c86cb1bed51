"""Where the shared reference material is: `../shared` beside the checkout (as CI lays it out), else /work/shared."""

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def _shared() -> Path:
    for candidate in (os.environ.get("TIDINGS_SHARED_DIR"), _REPO.parent / "shared", "/work/shared"):
        if candidate and (Path(candidate) / "reference").is_dir():
            return Path(candidate)
    raise RuntimeError("The shared reference folder (../shared) is missing; set TIDINGS_SHARED_DIR")


SHARED = _shared()
REFERENCE = SHARED / "reference"
