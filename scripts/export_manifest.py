"""Record the SHA-256 of every file the export writes for the shipped data (``tests/reference/export_sha256.json``).

The test suite re-exports and compares byte for byte, so a refactoring that
changes any table, figure or ledger value fails until the change is reviewed
and the manifest re-recorded with::

    python scripts/export_manifest.py
"""
from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "reference" / "export_sha256.json"


def manifest(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``, sorted by path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def main() -> int:
    from ketapain_lib import load_trial
    from ketapain_lib.report.export import export_all

    with tempfile.TemporaryDirectory() as out:
        export_all(load_trial(), out)
        MANIFEST.write_text(json.dumps(manifest(Path(out)), indent=1) + "\n", encoding="utf-8")
    print(f"recorded {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
