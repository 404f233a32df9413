"""Shared command line of the kernel generators (tools/gen-*.py).

    python3 tools/gen-X.py            rewrite the generated Swift file (atomically)
    python3 tools/gen-X.py --check    exit 1 if the committed file differs from what the script makes
"""
import argparse
import pathlib
import sys


def run(doc: str, out: pathlib.Path, script: str, generate) -> None:
    """Parses --check, then writes `generate()` to `out` (temp file + rename) or compares it."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that the file is up to date")
    args = ap.parse_args()
    text = generate()
    if args.check:
        if out.read_text() != text:
            print(f"{out} is stale: run tools/{script}", file=sys.stderr)
            sys.exit(1)
        return
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(out)
