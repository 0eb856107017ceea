#!/usr/bin/env python3
"""Reference deterministic ids of STIX 2.1 Cyber-observable Objects (SCOs).

Builds SCOs deterministically (from --seed) with the OASIS ``stix2`` package
(tested with 3.0.2) and prints one JSON line per object:

    {"object": <the object as stix2 serializes it, without "id">, "id": "<type>--<uuid5 computed by stix2>"}

Covered types: ipv4-addr, ipv6-addr, domain-name, url, email-addr, mac-addr,
file (single and combined hashes, non-standard hash names, names with
non-ASCII / astral / control characters, parent_directory_ref, extensions),
directory, mutex, autonomous-system, software, user-account,
windows-registry-key with values, x509-certificate, network-traffic
(src_ref/dst_ref/ports/protocols/extensions), email-message (subject, from_ref,
body) and artifact (hashes with url or payload_bin).

Every generated object has at least one ID contributing property, so every id
is a UUIDv5 (namespace 00abedb4-aa42-466c-9c01-fed23315a9b7 over the RFC 8785
canonical JSON of the contributing properties; for ``hashes`` stix2 keeps only
one: MD5, else SHA-1, else SHA-256, else SHA-512, else the first key).

Requires Python 3.11 and ``stix2``; stdlib otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import sys

import stix2.v21 as s

# Names that exercise JSON canonicalization: non-ASCII (BMP and astral), quotes,
# backslashes, control characters, DEL, U+2028, a slash.
TRICKY_NAMES = [
    "résumé.pdf",
    "中文文件.exe",
    "Grüße aus Köln.docx",
    "smile 🙂 face.png",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢.txt",
    'quote "inside".txt',
    "back\\slash.bat",
    "tab\tand\nnewline.txt",
    "ctrl\u0001\u001f.bin",
    "del\u007fchar.dat",
    "line\u2028separator.txt",
    "path/like/name.sh",
    "e\u0301 combining accent.txt",
    "ÅÄÖ åäö.zip",
    "Ελληνικά.rtf",
    "русский.doc",
    "עברית.pdf",
    "العربية.html",
    "日本語のファイル.js",
    "한국어.hwp",
]

ASCII_NAMES = ["invoice.pdf.exe", "svchost.exe", "update.ps1", "payload.dll", "readme.txt", "a", "x" * 200]


def hexstr(rng, n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def md5(rng):
    return hexstr(rng, 32)


def sha1(rng):
    return hexstr(rng, 40)


def sha256(rng):
    return hexstr(rng, 64)


def sha512(rng):
    return hexstr(rng, 128)


def ipv4(rng):
    return ".".join(str(rng.randrange(256)) for _ in range(4))


def ipv6(rng):
    return ":".join(f"{rng.randrange(65536):x}" for _ in range(8))


def build(rng):
    out = []

    # --- addresses and names -------------------------------------------------
    ipv4s = [s.IPv4Address(value=v) for v in
             ["198.51.100.3", "203.0.113.0/24", "10.0.0.1", "0.0.0.0", "255.255.255.255"]]
    ipv4s += [s.IPv4Address(value=ipv4(rng)) for _ in range(10)]
    ipv6s = [s.IPv6Address(value=v) for v in
             ["2001:db8::1", "::1", "::", "2001:db8::/32", "fe80::1ff:fe23:4567:890a"]]
    ipv6s += [s.IPv6Address(value=ipv6(rng)) for _ in range(10)]
    out += ipv4s + ipv6s

    domains = ["example.com", "sub.example.org", "xn--bcher-kva.example", "bücher.example", "a.b.c.d.example.net"]
    domains += [f"{hexstr(rng, 8)}.example.{rng.choice(['com', 'net', 'org', 'io'])}" for _ in range(7)]
    domain_objs = [s.DomainName(value=d) for d in domains]
    out += domain_objs
    out.append(s.DomainName(value="resolves.example.com", resolves_to_refs=[ipv4s[0].id, ipv6s[0].id]))

    urls = ["http://example.com/", "https://example.com/path?q=1&r=%20x#frag", "ftp://198.51.100.3/file.bin",
            "https://bücher.example/straße", "http://[2001:db8::1]:8080/index.html"]
    urls += [f"https://{hexstr(rng, 6)}.example.com/{hexstr(rng, 10)}" for _ in range(7)]
    out += [s.URL(value=u) for u in urls]

    emails = ["jdoe@example.com", "first.last+tag@sub.example.org", "ADMIN@EXAMPLE.COM"]
    emails += [f"{hexstr(rng, 6)}@example.net" for _ in range(5)]
    email_objs = [s.EmailAddress(value=e) for e in emails]
    out += email_objs
    out.append(s.EmailAddress(value="named@example.com", display_name="Jöhn Dœ"))

    macs = ["00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "d2:fb:49:24:37:18"]
    macs += [":".join(hexstr(rng, 2) for _ in range(6)) for _ in range(5)]
    out += [s.MACAddress(value=m) for m in macs]

    # --- files and directories ----------------------------------------------
    dirs = [s.Directory(path=p) for p in
            ["C:\\Windows\\System32", "/tmp", "/home/user/Документы", "C:\\Users\\Zoë\\AppData"]]
    dirs += [s.Directory(path=f"/var/lib/{hexstr(rng, 8)}") for _ in range(4)]
    out += dirs

    hash_combos = [
        lambda: {"MD5": md5(rng)},
        lambda: {"SHA-1": sha1(rng)},
        lambda: {"SHA-256": sha256(rng)},
        lambda: {"SHA-512": sha512(rng)},
        lambda: {"MD5": md5(rng), "SHA-256": sha256(rng)},
        lambda: {"SHA-256": sha256(rng), "MD5": md5(rng)},
        lambda: {"SHA-1": sha1(rng), "SHA-256": sha256(rng)},
        lambda: {"SHA-256": sha256(rng), "SHA-512": sha512(rng)},
        lambda: {"MD5": md5(rng), "SHA-1": sha1(rng), "SHA-256": sha256(rng), "SHA-512": sha512(rng)},
        lambda: {"SHA3-256": sha256(rng)},
        lambda: {"SSDEEP": f"96:{hexstr(rng, 20)}:{hexstr(rng, 12)}"},
        lambda: {"TLSH": hexstr(rng, 70)},
        lambda: {"sha256": sha256(rng)},  # normalised by stix2 to SHA-256
        lambda: {"md5": md5(rng), "sha1": sha1(rng)},
    ]
    for i, combo in enumerate(hash_combos):
        out.append(s.File(hashes=combo()))
        out.append(s.File(hashes=combo(), name=rng.choice(ASCII_NAMES), size=rng.randrange(1, 10_000_000)))
    for name in TRICKY_NAMES:
        out.append(s.File(name=name))
    for name in TRICKY_NAMES[:8]:
        out.append(s.File(name=name, hashes={"SHA-256": sha256(rng)}, mime_type="application/octet-stream"))
    for name in ASCII_NAMES:
        out.append(s.File(name=name))
    for d in dirs[:4]:
        out.append(s.File(name=rng.choice(ASCII_NAMES), parent_directory_ref=d.id))
    out.append(s.File(name="ntfs.txt", extensions={"ntfs-ext": {"sid": "S-1-5-21-1234", "alternate_data_streams": [
        {"name": "second.stream", "size": 25536}]}}))
    out.append(s.File(name="image.jpg", extensions={"raster-image-ext": {"image_height": 768, "image_width": 1024,
                                                                        "bits_per_pixel": 72}}))
    out.append(s.Directory(path="/srv/data", contains_refs=[out[-1].id]))

    # --- simple named objects ------------------------------------------------
    mutexes = ["__CLEANSWEEP__", "Global\\MsWinZonesCacheCounterMutexA", "ÄÖÜ-mutex", "mutex with spaces"]
    mutexes += [f"Local\\{hexstr(rng, 16)}" for _ in range(6)]
    out += [s.Mutex(name=m) for m in mutexes]

    out.append(s.AutonomousSystem(number=15139, name="Slime Industries", rir="ARIN"))
    out.append(s.AutonomousSystem(number=4294967295))
    out.append(s.AutonomousSystem(number=0))
    out += [s.AutonomousSystem(number=rng.randrange(1, 400000)) for _ in range(5)]

    out.append(s.Software(name="Word", cpe="cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*", version="2002",
                          vendor="Microsoft"))
    out.append(s.Software(name="VLC media player", vendor="VideoLAN", version="3.0.20", languages=["en", "fr"]))
    out.append(s.Software(name="Ünïcödé Tool"))
    out.append(s.Software(name="curl", swid="swid:curl-8.5.0", version="8.5.0"))
    out += [s.Software(name=f"tool-{hexstr(rng, 4)}", version=f"{rng.randrange(10)}.{rng.randrange(10)}")
            for _ in range(4)]

    out.append(s.UserAccount(user_id="1001", account_login="jdoe", account_type="unix", display_name="John Doe"))
    out.append(s.UserAccount(user_id="S-1-5-21-0-0-0-500", account_type="windows-local"))
    out.append(s.UserAccount(account_login="root"))
    out.append(s.UserAccount(user_id="thegrugq_ebooks", account_login="thegrugq_ebooks",
                             account_type="twitter", display_name="the grugq"))
    out += [s.UserAccount(user_id=str(rng.randrange(1000, 65000)), account_login=hexstr(rng, 6)) for _ in range(4)]

    out.append(s.WindowsRegistryKey(key="HKEY_LOCAL_MACHINE\\System\\Foo\\Bar"))
    out.append(s.WindowsRegistryKey(
        key="hkey_local_machine\\system\\bar\\foo",
        values=[s.WindowsRegistryValueType(name="Foo", data="qwerty", data_type="REG_SZ"),
                s.WindowsRegistryValueType(name="Bar", data="42", data_type="REG_DWORD")]))
    out.append(s.WindowsRegistryKey(
        key="HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
        values=[s.WindowsRegistryValueType(name="Updater", data="C:\\Users\\Zoë\\upd.exe", data_type="REG_SZ")]))
    out.append(s.WindowsRegistryKey(values=[s.WindowsRegistryValueType(name="", data="default")]))
    out += [s.WindowsRegistryKey(key=f"HKEY_LOCAL_MACHINE\\SOFTWARE\\{hexstr(rng, 8)}") for _ in range(4)]

    out.append(s.X509Certificate(issuer="C=ZA, ST=Western Cape, L=Cape Town, O=Thawte Consulting cc",
                                 serial_number="36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49:32:0a:b7:06",
                                 validity_not_before="2016-03-12T12:00:00Z",
                                 validity_not_after="2016-08-21T12:00:00Z",
                                 subject="C=US, ST=Maryland, L=Pasadena, O=Brent Baccala"))
    out.append(s.X509Certificate(hashes={"SHA-256": sha256(rng)}))
    out.append(s.X509Certificate(hashes={"SHA-1": sha1(rng)}, serial_number="02:00:00:00:00:01"))
    out += [s.X509Certificate(serial_number=":".join(hexstr(rng, 2) for _ in range(8))) for _ in range(3)]

    # --- network traffic -----------------------------------------------------
    protos = [["tcp"], ["udp"], ["ipv4", "tcp"], ["ipv4", "tcp", "http"], ["ipv6", "udp", "dns"], ["icmp"]]
    endpoints = ipv4s + ipv6s + domain_objs
    for i in range(18):
        kw = {"protocols": protos[i % len(protos)]}
        if i % 3 != 2:
            kw["src_ref"] = rng.choice(endpoints).id
        if i % 3 != 1:
            kw["dst_ref"] = rng.choice(endpoints).id
        if i % 2 == 0:
            kw["src_port"] = rng.randrange(1024, 65536)
        if i % 4 != 3:
            kw["dst_port"] = rng.choice([0, 22, 53, 80, 443, 8080, 65535])
        if i % 5 == 0:
            kw["start"] = "2016-06-19T01:00:00Z"
            kw["end"] = "2016-06-19T01:05:00.123Z"
            kw["is_active"] = False
        out.append(s.NetworkTraffic(**kw))
    out.append(s.NetworkTraffic(protocols=["tcp", "http"], src_ref=ipv4s[0].id, dst_ref=ipv4s[1].id, dst_port=80,
                                extensions={"http-request-ext": {"request_method": "get",
                                                                 "request_value": "/download.html",
                                                                 "request_version": "http/1.1"}}))

    # --- e-mail and artifacts ------------------------------------------------
    for i in range(8):
        kw = {"is_multipart": False}
        if i % 2 == 0:
            kw["from_ref"] = email_objs[i % len(email_objs)].id
        if i % 3 != 2:
            kw["subject"] = rng.choice(["Saying Hello", "Rechnung Nr. 4711 – bitte prüfen", "会议通知",
                                        "RE: \"urgent\" wire", f"Ticket {hexstr(rng, 6)}"])
        if i % 4 == 3 or len(kw) == 1:
            kw["body"] = "Please see attached.\r\nRegards"
        out.append(s.EmailMessage(**kw))

    payloads = [b"hello world\n", bytes(range(256)), "grüße".encode("utf-8"), b""]
    for p in payloads:
        out.append(s.Artifact(mime_type="application/octet-stream",
                              payload_bin=base64.b64encode(p).decode("ascii")))
        out.append(s.Artifact(mime_type="application/octet-stream",
                              payload_bin=base64.b64encode(p).decode("ascii"),
                              hashes={"SHA-256": hashlib.sha256(p).hexdigest()}))
    for i in range(4):
        out.append(s.Artifact(url=f"https://example.com/samples/{hexstr(rng, 8)}.bin",
                              hashes={"MD5": md5(rng), "SHA-256": sha256(rng)}))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    ap.add_argument("--out", default="-", help="output JSON-lines file (default: stdout)")
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    objs = build(rng)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    counts = {}
    seen = set()
    try:
        for o in objs:
            d = json.loads(o.serialize())
            ident = d.pop("id")
            if ident in seen:
                continue  # identical contributing properties (e.g. a repeated name)
            seen.add(ident)
            if ident.split("--")[1][14] != "5":
                raise SystemExit(f"not a UUIDv5: {ident}")
            counts[d["type"]] = counts.get(d["type"], 0) + 1
            out.write(json.dumps({"object": d, "id": ident}, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"{sum(counts.values())} SCOs: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
