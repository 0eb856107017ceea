"""Print the IoCs that ioc-finder finds in a report, one `kind<TAB>value` per line.

Used by crates/exchange/tests/extract.rs to score ioc-finder on the same hand-checked labels
as Watchpost's extractor. Kinds are mapped to Watchpost's names; kinds Watchpost does not
extract (file paths, registry keys, MAC addresses, ...) are left out.
"""
import sys

from ioc_finder import find_iocs

KINDS = {
    "urls": "url",
    "domains": "domain",
    "ipv4s": "ipv4",
    "ipv4_cidrs": "ipv4-cidr",
    "ipv6s": "ipv6",
    "email_addresses": "email",
    "md5s": "md5",
    "sha1s": "sha1",
    "sha256s": "sha256",
    "sha512s": "sha512",
    "cves": "cve",
}

with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    found = find_iocs(f.read())
for key, kind in KINDS.items():
    for value in sorted(found.get(key, [])):
        print(f"{kind}\t{value}")
for group in ("enterprise", "mobile", "pre_attack"):
    for value in sorted(found.get("attack_techniques", {}).get(group, [])):
        print(f"attack-technique\t{value}")
