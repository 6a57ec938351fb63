#!/usr/bin/env python3
"""Refresh crates/core/src/fraud/disposable_domains.txt, the bundled list of throwaway email
domains used by fraud screening.

Source: the PyPI package `disposable-email-domains` (a copy of the community-maintained
disposable-email-domains list). Install it first, then run from the repository root:

    pip install --upgrade disposable-email-domains
    python3 scripts/update_disposable_domains.py

The output is sorted, lower case, one domain per line, with a header saying where it came from.
Lines that do not look like a domain are skipped (and counted), so a bad upstream entry can
never break the Rust side, which reads the file with include_str!.
"""

import datetime
import importlib.metadata
import pathlib
import re
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/core/src/fraud/disposable_domains.txt"
LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def looks_like_domain(d: str) -> bool:
    labels = d.split(".")
    return len(d) <= 253 and len(labels) >= 2 and all(LABEL.match(p) for p in labels)


def main() -> int:
    try:
        import disposable_email_domains as source
    except ImportError:
        print("install the source first: pip install disposable-email-domains", file=sys.stderr)
        return 1
    version = importlib.metadata.version("disposable-email-domains")
    domains = {d.strip().lower() for d in source.blocklist}
    good = sorted(d for d in domains if looks_like_domain(d))
    skipped = len(domains) - len(good)
    today = datetime.date.today().isoformat()
    header = [
        "# Disposable (throwaway) email domains for storefort's fraud screening.",
        f"# Source: PyPI package disposable-email-domains {version}, fetched {today}.",
        "# Regenerate with scripts/update_disposable_domains.py; do not edit by hand",
        "# (shops add their own in the fraud settings instead).",
    ]
    OUT.write_text("\n".join(header + good) + "\n", encoding="utf-8")
    print(f"wrote {len(good)} domains to {OUT} (skipped {skipped} malformed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
