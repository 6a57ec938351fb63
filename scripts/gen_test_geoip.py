#!/usr/bin/env python3
"""Write the tiny GeoIP country database the tests use (crates/web/tests/data/geoip-test.mmdb).

It is in MaxMind's mmdb format, like GeoLite2-Country, with a handful of documentation-style
networks mapped to countries. Regenerate with:

    pip install mmdb-writer==0.2.7
    python3 scripts/gen_test_geoip.py
"""
from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

NETWORKS = {
    "GB": ["81.2.69.0/24", "2a02:8010::/32"],
    "US": ["216.160.83.0/24"],
    "SE": ["89.160.20.0/24"],
    "CN": ["175.16.199.0/24"],
    "FR": ["2.3.4.0/24"],
}

def main() -> None:
    out = Path(__file__).resolve().parent.parent / "crates/web/tests/data/geoip-test.mmdb"
    w = MMDBWriter(ip_version=6, database_type="storefort-test-Country",
                   languages=["en"], description={"en": "storefort test GeoIP database"},
                   ipv4_compatible=True)
    for code, nets in NETWORKS.items():
        w.insert_network(IPSet(nets), {"country": {"iso_code": code}})
    w.to_db_file(str(out))
    print(f"wrote {out} ({out.stat().st_size} bytes)")

if __name__ == "__main__":
    main()
