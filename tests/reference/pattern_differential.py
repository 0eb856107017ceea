#!/usr/bin/env python3
"""Random differential tests of ``watchpost pattern eval`` against the OASIS
reference STIX pattern matcher (PyPI ``stix2-matcher`` 3.0.0 with
``stix2-patterns`` 2.1.2).

Two modes:

``generate`` (``--seed N --count N --out FILE``; defaults seed 11, count 12000)
    Deterministically generates (pattern, observations, stix_version) cases,
    evaluates each with ``stix2matcher.matcher`` and writes one JSON line per
    case::

        {"id": "s11-00042", "pattern": "...", "observations": [...],
         "stix_version": "2.0" | "2.1",
         "expect": {"matched": bool, "sdos": [...]}
                 | {"error": "parse" | "matcher", "message": "..."},
         "tags": ["op:LIKE", "qual:WITHIN-int", "path:ref", ...]}

    ``sdos`` lists the SDOs of the reference's first binding, in the order the
    reference returns them (always the input order of the observed-data): the
    SDO ``id`` for STIX 2.0, the ``objects[0]["id"]`` (the observed-data) of each
    returned split bundle for STIX 2.1. ``tags`` come from a walk of the
    reference parse tree (operators, qualifiers, literal kinds, path features)
    plus data-side features; ``check`` groups its summary by them.

    About 70 % of the cases are STIX 2.1 (a list of bundles holding
    observed-data with ``object_refs`` plus the SCOs), 30 % STIX 2.0
    (observed-data with an embedded ``objects`` dict). At most ~5 % of the
    cases are rejected by the reference (parse or matcher errors), some on
    purpose (invalid CIDR, non-homogeneous sets, invalid JSON timestamps, ...).
    A case on which the reference needs more than 1 s is regenerated; patterns
    whose binding enumeration could explode are never produced, so in practice
    the output depends on --seed only. A coverage table is printed at the end;
    the command fails when a required feature never occurs.

``check`` (``--cases FILE [--binary PATH] [--allow FILE] [--max-report N]``)
    Streams every case through ONE ``$WATCHPOST_BIN pattern eval`` process
    (default ``target/debug/watchpost`` relative to the repository root; one
    request line written, one answer line read) and compares:

    * the matched verdict must be equal;
    * when both matched, the ``sdos`` sets must be equal (order differences are
      only counted as warnings);
    * a reference parse error must be our ``syntax`` or ``semantic`` error;
    * a reference matcher error must be an error of ours (any kind).

    Prints agree/disagree counts per operator, qualifier, observation operator
    and STIX version, then the first N disagreements with the pattern and a
    compact dump of the observations. Exits 1 on any disagreement not listed in
    the allow file: a JSON list of ``{"id": ...}`` or ``{"pattern_regex": ...}``
    objects, each with a ``"reason"``; an entry may instead (or also) carry
    ``"message_regex"`` (searched in the reference's error message) and be
    narrowed with ``"stix_version"`` and ``"kind"`` (a disagreement kind or a
    list of them: verdict, sdos, missing-error, unexpected-error, error-kind,
    bad-output, crash, timeout). Every field given must match.

``generate`` requires the reference packages (use /work/venv-ref/bin/python);
``check`` needs only the standard library. The case file (about 41 MB for the
default 12,000 cases) belongs in /tmp or target/, never in the repository;
``generate`` refuses other paths inside it.

Reference behaviours the generator deliberately exercises (verified against
stix2-matcher 3.0.0; an engine that deviates on purpose lists them in --allow):

* ``sdos`` is the first binding sorted by observed-data input order; the
  first binding follows the reference's enumeration order: comparison ``OR``
  yields the observations matching the left operand first, observation ``OR``
  alternates left/right starting left, observation ``AND``/``FOLLOWEDBY``
  enumerate pairs diagonally (new right binding x cached left ones, then new
  left binding x cached right ones).
* ``number_observed`` N makes an observed-data usable N times by ``AND``,
  ``FOLLOWEDBY`` and ``REPEATS`` (``[a] REPEATS 3 TIMES`` matches one SDO with
  number_observed 3); it is listed once in ``sdos``.
* type mismatches: ``=`` is false, so ``!=`` and ``NOT =`` are true; order
  comparisons are false, and stay false under ``NOT`` (but ``NOT <`` between
  binary data and a string with code points >= 256 is true); LIKE, MATCHES,
  ISSUBSET and ISSUPERSET on non-strings are false, true under ``NOT``; ``IN``
  is Python set membership (``true IN (1)`` holds, lists are never members).
  A missing property never matches, not even negated.
* ``NOT EXISTS`` is evaluated as ``EXISTS``; EXISTS next to another comparison
  inside one ``[...]`` fails (TypeError) when both select the same observation.
* 2.1 patterns on SDO/SRO types (observed-data, relationship, ...) never match;
  references resolve only to objects in the observed-data's own object_refs,
  but those may come from any bundle of the list (the bundles are merged).
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import hashlib
import ipaddress
import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# ---------------------------------------------------------------------------
# Value pools (small, so that generated patterns hit real values often)
# ---------------------------------------------------------------------------

IPV4 = ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.7", "10.0.1.20", "192.168.1.10",
        "192.168.1.77", "203.0.113.5", "198.51.100.23", "172.16.5.4"]
IPV4_CIDR = ["10.0.0.0/24", "10.0.0.0/16", "10.0.0.0/8", "192.168.1.0/24", "198.51.100.0/25",
             "203.0.113.0/28", "10.0.0.1/32", "10.0.0.5/24", "172.16.0.0/12"]
IPV6 = ["2001:db8::1", "2001:db8::2", "fe80::1", "2001:db8:85a3::8a2e:370:7334", "2001:db8::/32", "::1"]
DOMAINS = ["example.com", "example.com", "evil.example.com", "mail.example.org", "cdn.example.net",
           "login.bank.test", "xn--bcher-kva.example", "EXAMPLE.com"]
URLS = ["http://example.com/", "https://evil.example.com/payload.exe?id=1", "https://login.bank.test/auth",
        "ftp://files.example.org/a%20b.txt", "http://10.0.0.7:8080/c2"]
MACS = ["00:00:5e:00:53:00", "d2:fb:49:24:37:18", "aa:bb:cc:dd:ee:ff"]
EMAILS = ["alice@example.com", "bob@example.com", "mallory@evil.example.com", "ceo@bank.test",
          "o'brien@example.org"]
DISPLAY = ["Alice", "Bob Smith", "Mallory", "CEO", "J\u00fcrgen M\u00fcller"]
FILE_NAMES = ["invoice.pdf", "invoice.pdf", "setup.exe", "evil.exe", "evil.exe", "report.docx", "it's.txt",
              "C:\\Windows\\evil.dll", "a_b%c.txt", "r\u00e9sum\u00e9.docx", "README", "payload.bin", "EVIL.EXE"]
# Rare probes: NFD form (LIKE/MATCHES normalise to NFC, '=' does not), a trailing
# newline (Python '$' matches before it), a tab, CJK and an astral character.
RARE_FILE_NAMES = ["re\u0301sume\u0301.docx", "note.txt\n", "tab\there.txt", "\u4e2d\u6587.exe",
                   "smile \U0001F642.png"]
SIZES = [0, 512, 1024, 1024, 4096, 65536, 1048576, 2147483648]
BIG_SIZE = 9007199254740993  # 2**53 + 1: exact int/float comparison probe
MIME = ["application/pdf", "application/x-dosexec", "text/plain", "application/zip", "image/jpeg"]
MAGIC = ["25504446", "4d5a9000", "504b0304", "ffd8ffe0", "7f454c46", "4D5A9000"]
DIRS = ["C:\\Windows\\System32", "C:\\Users\\Public", "/tmp", "/usr/bin", "/home/o'neil"]
ARCHIVE_COMMENTS = ["", "password: infected", "build 42"]
ADS = ["Zone.Identifier", "secret", "$DATA"]
ENTROPY = [7.0, 6.5, 3.25, 7.99, 0.0]
PE_TYPES = ["exe", "dll", "sys"]
SECTIONS = [".text", ".data", ".rsrc", "UPX0"]
PORTS = [22, 25, 53, 80, 443, 443, 3389, 8080, 49152]
PROTOCOLS = [["tcp"], ["tcp", "http"], ["udp", "dns"], ["tcp", "ssl", "https"], ["ipv4", "tcp"], ["tcp", "http"]]
BYTECOUNTS = [0, 147, 1500, 65536, 1048576]
METHODS = ["get", "post", "GET"]
UAS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "curl/7.68.0", "python-requests/2.25"]
REQVALS = ["/index.html", "/login.php?user=admin", "/c2/beacon", "/"]
SUBJECTS = ["Invoice overdue", "Re: meeting", "Password reset", "Your parcel", "Urgent: wire transfer", "100% free"]
PIDS = [4, 1234, 4321, 31337, 1]
CMDS = ["C:\\Windows\\System32\\cmd.exe /c whoami", "powershell.exe -enc SQBFAFgA", "/bin/sh -c 'id'",
        "svchost.exe -k netsvcs"]
PNAMES = ["cmd.exe", "powershell.exe", "sh", "svchost.exe"]
ARGS = [["-c", "id"], ["/c", "whoami"], ["-k", "netsvcs"]]
ENV_TEMP = ["C:\\Users\\alice\\AppData\\Local\\Temp", "/tmp"]
SERIALS = ["36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49:32:0a:b7:06", "01", "00:ab:cd:ef"]
ISSUERS = ["C=US, O=Example CA, CN=Example Root", "CN=evil", "C=ZZ, O=Bank, CN=Bank Issuing CA"]
X509SUBJ = ["CN=www.example.com", "CN=evil.example.com", "CN=login.bank.test"]
EXPS = [65537, 3]
BASICC = ["critical,CA:TRUE", "CA:FALSE"]
X509VER = ["3", "1"]
UIDS = ["1001", "0", "S-1-5-21-1004336348-1177238915-682003330-512", "1000"]
LOGINS = ["root", "jdoe", "admin", "svc_backup"]
ACCT_TYPES = ["unix", "windows-local", "windows-domain"]
GIDS = [0, 100, 1001]
GROUPS = ["wheel", "sudo", "users"]
REGKEYS = ["HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run", "HKEY_CURRENT_USER\\Software\\Evil",
           "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\evilsvc"]
REGNAMES = ["Updater", "", "ImagePath", "Start"]
REGDATA = ["C:\\Users\\Public\\evil.exe", "1", "%SystemRoot%\\system32\\svchost.exe", "0x00000002"]
REGTYPES = ["REG_SZ", "REG_DWORD", "REG_EXPAND_SZ"]
NSUB = [0, 2, 5]
PAYLOADS = [b"hello", b"MZ\x90\x00", b"%PDF-1.7", b"\xff\xd8\xff\xe0", b"evil payload", b"caf\xc3\xa9"]
ASNS = [15139, 64496, 65535]
ASNAMES = ["Slime Industries", "EXAMPLE-AS"]
MUTEXES = ["Global\\evil_mutex", "__SYSTEM__", "it's-me"]
SWNAMES = ["Word", "Acrobat Reader", "curl"]
VENDORS = ["Microsoft", "Adobe"]
SWVERS = ["2002", "11.0.1", "7.68.0"]
BOOLS = [True, False]

BASES = ["2021-03-14T09:00:00Z", "2022-12-31T23:50:00Z", "2020-02-28T12:00:00Z"]
SPREADS = [60, 600, 3600, 6 * 3600, 86400, 3 * 86400]


def _md5(s):
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def _sha256(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def _sha1(s):
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


ALL_NAMES = FILE_NAMES + RARE_FILE_NAMES
POOLS = {
    "ip4": IPV4 + IPV4_CIDR, "ip6": IPV6, "domain": DOMAINS, "url": URLS, "mac": MACS, "email": EMAILS,
    "display": DISPLAY, "fname": FILE_NAMES, "size": SIZES, "md5": [_md5(n) for n in FILE_NAMES],
    "sha256": [_sha256(n) for n in FILE_NAMES], "sha1": [_sha1(n) for n in FILE_NAMES], "mime": MIME,
    "magic": MAGIC, "dir": DIRS, "comment": ARCHIVE_COMMENTS, "ads": ADS, "entropy": ENTROPY,
    "pe_type": PE_TYPES, "nsect": [1, 3, 5], "section": SECTIONS, "port": PORTS,
    "proto": ["tcp", "udp", "http", "dns", "ssl", "https", "ipv4"], "protolist": PROTOCOLS, "bool": BOOLS,
    "bytecount": BYTECOUNTS, "method": METHODS, "ua": UAS, "reqval": REQVALS, "subject": SUBJECTS,
    "pid": PIDS, "cmd": CMDS, "pname": PNAMES, "arg": ["-c", "id", "/c", "whoami", "-k", "netsvcs"],
    "env": ENV_TEMP, "serial": SERIALS, "issuer": ISSUERS, "x509subj": X509SUBJ, "exp": EXPS,
    "bc": BASICC, "x509ver": X509VER, "uid": UIDS, "login": LOGINS, "acct_type": ACCT_TYPES, "gid": GIDS,
    "group": GROUPS, "regkey": REGKEYS, "regname": REGNAMES, "regdata": REGDATA, "regtype": REGTYPES,
    "nsub": NSUB, "payload": [base64.b64encode(p).decode() for p in PAYLOADS], "asn": ASNS,
    "asname": ASNAMES, "mutex": MUTEXES, "swname": SWNAMES, "vendor": VENDORS, "swver": SWVERS,
    "type": ["ipv4-addr", "ipv6-addr", "domain-name", "file", "email-addr"],
}

# ---------------------------------------------------------------------------
# Object paths per SCO type: (components, value kind, pool, weight, versions)
# components: str key, int index or "*"; versions: "a" (both), "20", "21"
# ---------------------------------------------------------------------------

CATALOG = {
    "ipv4-addr": [(("value",), "ip4", "ip4", 6, "a"), (("resolves_to_refs", "*", "value"), "str", "mac", 0.6, "a")],
    "ipv6-addr": [(("value",), "ip6", "ip6", 5, "a")],
    "domain-name": [(("value",), "str", "domain", 4, "a"),
                    (("resolves_to_refs", "*", "value"), "ip4", "ip4", 2, "a"),
                    (("resolves_to_refs", 0, "value"), "ip4", "ip4", 1, "a"),
                    (("resolves_to_refs", "value"), "ip4", "ip4", 0.3, "a")],
    "url": [(("value",), "str", "url", 4, "a")],
    "mac-addr": [(("value",), "str", "mac", 3, "a")],
    "email-addr": [(("value",), "str", "email", 3, "a"), (("display_name",), "str", "display", 1, "a")],
    "directory": [(("path",), "str", "dir", 3, "a")],
    "file": [(("name",), "str", "fname", 4, "a"), (("size",), "int", "size", 3, "a"),
             (("hashes", "MD5"), "str", "md5", 2, "a"), (("hashes", "SHA-256"), "str", "sha256", 2, "a"),
             (("hashes", "SHA-1"), "str", "sha1", 0.7, "a"), (("hashes",), "obj", "md5", 0.2, "a"),
             (("mime_type",), "str", "mime", 1, "a"), (("magic_number_hex",), "hex", "magic", 2, "a"),
             (("ctime",), "ts", "ts", 1.5, "21"), (("mtime",), "ts", "ts", 1, "21"),
             (("created",), "ts", "ts", 1.5, "20"), (("modified",), "ts", "ts", 1, "20"),
             (("parent_directory_ref", "path"), "str", "dir", 1.5, "a"),
             (("extensions", "archive-ext", "contains_refs", "*", "name"), "str", "fname", 1.5, "a"),
             (("extensions", "archive-ext", "contains_refs", 0, "hashes", "MD5"), "str", "md5", 0.5, "a"),
             (("extensions", "archive-ext", "comment"), "str", "comment", 0.5, "a"),
             (("extensions", "ntfs-ext", "alternate_data_streams", "*", "name"), "str", "ads", 0.7, "a"),
             (("extensions", "windows-pebinary-ext", "sections", "*", "entropy"), "float", "entropy", 0.8, "a"),
             (("extensions", "windows-pebinary-ext", "sections", 0, "name"), "str", "section", 0.4, "a"),
             (("extensions", "windows-pebinary-ext", "pe_type"), "str", "pe_type", 0.4, "a"),
             (("extensions", "windows-pebinary-ext", "number_of_sections"), "int", "nsect", 0.4, "a"),
             (("x_nonexistent",), "str", "fname", 0.3, "a"), (("size", 0), "int", "size", 0.1, "a")],
    "artifact": [(("payload_bin",), "bin", "payload", 3, "a"), (("mime_type",), "str", "mime", 1, "a"),
                 (("hashes", "SHA-256"), "str", "sha256", 0.5, "a")],
    "network-traffic": [(("src_ref", "value"), "ip4", "ip4", 3, "a"), (("dst_ref", "value"), "ip4", "ip4", 3, "a"),
                        (("src_ref", "type"), "str", "type", 0.4, "a"), (("src_port",), "int", "port", 2, "a"),
                        (("dst_port",), "int", "port", 2, "a"), (("protocols", "*"), "str", "proto", 2, "a"),
                        (("protocols", 0), "str", "proto", 1, "a"), (("protocols",), "list", "protolist", 0.7, "a"),
                        (("protocols", -1), "str", "proto", 0.2, "a"), (("protocols", 7), "str", "proto", 0.1, "a"),
                        (("is_active",), "bool", "bool", 1, "a"), (("start",), "ts", "ts", 1, "a"),
                        (("src_byte_count",), "int", "bytecount", 1, "a"),
                        (("extensions", "http-request-ext", "request_method"), "str", "method", 1, "a"),
                        (("extensions", "http-request-ext", "request_header", "User-Agent"), "str", "ua", 0.7, "a"),
                        (("extensions", "http-request-ext", "request_value"), "str", "reqval", 0.7, "a")],
    "email-message": [(("from_ref", "value"), "str", "email", 2, "a"), (("to_refs", "*", "value"), "str", "email", 2, "a"),
                      (("to_refs", 0, "value"), "str", "email", 1, "a"), (("to_refs", "value"), "str", "email", 0.2, "a"),
                      (("cc_refs", "*", "display_name"), "str", "display", 0.5, "a"),
                      (("subject",), "str", "subject", 2, "a"), (("is_multipart",), "bool", "bool", 1, "a"),
                      (("date",), "ts", "ts", 1, "a"), (("from_ref",), "obj", "email", 0.2, "a")],
    "process": [(("pid",), "int", "pid", 2, "a"), (("command_line",), "str", "cmd", 2, "21"),
                (("image_ref", "name"), "str", "fname", 2, "21"), (("parent_ref", "pid"), "int", "pid", 1, "a"),
                (("parent_ref", "image_ref", "name"), "str", "fname", 0.5, "21"),
                (("child_refs", "*", "pid"), "int", "pid", 0.5, "21"),
                (("is_hidden",), "bool", "bool", 1, "a"), (("created_time",), "ts", "ts", 1, "21"),
                (("environment_variables", "TEMP"), "str", "env", 0.5, "a"),
                (("name",), "str", "pname", 2, "20"), (("arguments", "*"), "str", "arg", 1, "20"),
                (("arguments", 1), "str", "arg", 0.5, "20"), (("binary_ref", "name"), "str", "fname", 2, "20"),
                (("parent_ref", "name"), "str", "pname", 0.5, "20"), (("created",), "ts", "ts", 1, "20")],
    "x509-certificate": [(("serial_number",), "str", "serial", 1.5, "a"), (("issuer",), "str", "issuer", 1.5, "a"),
                         (("subject",), "str", "x509subj", 1, "a"), (("is_self_signed",), "bool", "bool", 1, "a"),
                         (("validity_not_before",), "ts", "ts", 1, "a"), (("validity_not_after",), "ts", "ts", 1, "a"),
                         (("hashes", "SHA-256"), "str", "sha256", 0.7, "a"),
                         (("subject_public_key_exponent",), "int", "exp", 1, "a"),
                         (("x509_v3_extensions", "basic_constraints"), "str", "bc", 0.7, "a"),
                         (("version",), "str", "x509ver", 0.5, "a")],
    "user-account": [(("user_id",), "str", "uid", 2, "a"), (("account_login",), "str", "login", 2, "a"),
                     (("account_type",), "str", "acct_type", 1, "a"), (("is_privileged",), "bool", "bool", 1, "a"),
                     (("is_disabled",), "bool", "bool", 0.7, "a"), (("account_created",), "ts", "ts", 1, "a"),
                     (("extensions", "unix-account-ext", "gid"), "int", "gid", 0.7, "a"),
                     (("extensions", "unix-account-ext", "groups", "*"), "str", "group", 0.7, "a")],
    "windows-registry-key": [(("key",), "str", "regkey", 2, "a"), (("values", "*", "name"), "str", "regname", 1.5, "a"),
                             (("values", "*", "data"), "str", "regdata", 1.5, "a"),
                             (("values", 0, "data_type"), "str", "regtype", 1, "a"),
                             (("number_of_subkeys",), "int", "nsub", 1, "a"),
                             (("modified_time",), "ts", "ts", 1, "21"), (("modified",), "ts", "ts", 1, "20")],
    "autonomous-system": [(("number",), "int", "asn", 2, "a"), (("name",), "str", "asname", 1, "a")],
    "mutex": [(("name",), "str", "mutex", 2, "a")],
    "software": [(("name",), "str", "swname", 2, "a"), (("vendor",), "str", "vendor", 1, "a"),
                 (("version",), "str", "swver", 1, "a")],
}

# STIX 2.1 SDO/SRO types: the reference never matches these in 2.1 patterns.
SDO_PATTERN_TYPES = [("observed-data", ("number_observed",), "int", [1, 2, 3]),
                     ("relationship", ("relationship_type",), "str", ["resolves-to", "related-to"]),
                     ("identity", ("name",), "str", ["ACME"]), ("malware", ("name",), "str", ["evil"])]

ROOT_WEIGHTS = [("file", 5), ("network-traffic", 4), ("ipv4-addr", 3), ("domain-name", 2), ("url", 2),
                ("email-message", 2), ("process", 2), ("x509-certificate", 1), ("user-account", 1.2),
                ("windows-registry-key", 1.2), ("artifact", 1), ("ipv6-addr", 0.8), ("email-addr", 0.5),
                ("autonomous-system", 0.4), ("mutex", 0.4), ("software", 0.4), ("mac-addr", 0.3),
                ("directory", 0.3)]

# Upper bound of the bindings the reference may have to enumerate for a pattern
# (see CaseGen.cost); keeps every reference evaluation well under a second.
COST_LIMIT = 20000

NS_SCO = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
IDENT_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
REGEX_META = set("\\.^$|?*+()[]{}")

# ---------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------

TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$")


def parse_ts(s):
    m = TS_RE.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se, frac = m.groups()
    us = int((frac or "0")[:6].ljust(6, "0"))
    try:
        return dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(se), us)
    except ValueError:
        return None


def fmt_ts(d, style="s"):
    base = d.strftime("%Y-%m-%dT%H:%M:%S")
    if style == "s":
        return base + "Z"
    if style == "ms":
        return "%s.%03dZ" % (base, d.microsecond // 1000)
    if style == "us":
        return "%s.%06dZ" % (base, d.microsecond)
    # "ns": more digits than Python keeps (the reference truncates to 6)
    return "%s.%06d789Z" % (base, d.microsecond)


def pick_style(rng):
    r = rng.random()
    return "s" if r < 0.6 else "ms" if r < 0.95 else "us" if r < 0.99 else "ns"


# ---------------------------------------------------------------------------
# Literal rendering
# ---------------------------------------------------------------------------


def s_lit(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def int_lit(i, rng=None):
    if rng is not None and i >= 0 and rng.random() < 0.03:
        return "+%d" % i
    return "%d" % i


def float_lit(f):
    s = "%.6f" % f
    s = s.rstrip("0")
    if s.endswith("."):
        s += "0"
    return s


def bool_lit(b):
    return "true" if b else "false"


def hex_lit(b, rng=None):
    h = b.hex()
    if rng is not None and rng.random() < 0.3:
        h = h.upper()
    return "h'" + h + "'"


def bin_lit(b):
    return "b'" + base64.b64encode(b).decode() + "'"


def ts_lit(d, style):
    return "t'" + fmt_ts(d, style) + "'"


def latin1(s):
    try:
        return s.encode("latin-1")
    except UnicodeEncodeError:
        return None


def regex_escape(s):
    return "".join("\\" + ch if ch in REGEX_META else ch for ch in s)


# ---------------------------------------------------------------------------
# Internal SCO graph
# ---------------------------------------------------------------------------


class Ref:
    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node


class Node:
    __slots__ = ("type", "props", "sid")

    def __init__(self, type_, props):
        self.type = type_
        self.props = {"type": type_}
        self.props.update(props)
        self.sid = None


def iter_refs(value):
    if isinstance(value, Ref):
        yield value.node
    elif isinstance(value, list):
        for v in value:
            yield from iter_refs(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from iter_refs(v)


def ser(value, refname):
    if isinstance(value, Ref):
        return refname(value.node)
    if isinstance(value, list):
        return [ser(v, refname) for v in value]
    if isinstance(value, dict):
        return {k: ser(v, refname) for k, v in value.items()}
    return value


def sco_id(node):
    if node.sid is None:
        content = ser(node.props, lambda n: sco_id(n))
        canon = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        node.sid = "%s--%s" % (node.type, uuid.uuid5(NS_SCO, canon))
    return node.sid


class OD:
    def __init__(self):
        self.roots = []
        self.nodes = []
        self.listed = set()  # id(node) of listed nodes (membership only)
        self.omitted = []
        self.first = self.last = None
        self.first_s = self.last_s = None
        self.n = 1
        self.id = None


def eval_path(node, comps, od):
    """Values selected by comps on node, following refs inside od (as the reference does)."""
    vals = [node.props]
    for c in comps:
        nxt = []
        for v in vals:
            if c == "*":
                if isinstance(v, list):
                    nxt.extend(v)
            elif isinstance(c, int):
                if isinstance(v, list) and 0 <= c < len(v):
                    nxt.append(v[c])
            elif isinstance(v, dict) and c in v:
                x = v[c]
                if c.endswith("_ref"):
                    if isinstance(x, Ref) and id(x.node) in od.listed:
                        nxt.append(x.node.props)
                elif c.endswith("_refs"):
                    if isinstance(x, list):
                        lst = [r.node.props for r in x if isinstance(r, Ref) and id(r.node) in od.listed]
                        if lst:
                            nxt.append(lst)
                else:
                    nxt.append(x)
        vals = nxt
    return vals


def wchoice(rng, items):
    """items: list of (value, weight)."""
    total = sum(w for _, w in items)
    r = rng.random() * total
    acc = 0.0
    for v, w in items:
        acc += w
        if r < acc:
            return v
    return items[-1][0]


# ---------------------------------------------------------------------------
# Case generation
# ---------------------------------------------------------------------------


class Timeout(BaseException):
    pass


class CaseGen:
    """Builds one case: observations (internal graph, then JSON) and a pattern."""

    def __init__(self, rng, version, p_true):
        self.rng = rng
        self.version = version
        self.v21 = version == "2.1"
        self.p_true = p_true
        self.shared = {}
        self.by_type = collections.defaultdict(list)
        self.data_tags = []
        self.cidr_only = rng.random() < 0.15
        self.base = parse_ts(rng.choice(BASES))
        self.spread = rng.choice(SPREADS)
        self.ts_pool = []
        for _ in range(6):
            d = self.base + dt.timedelta(seconds=rng.randint(-self.spread, 2 * self.spread),
                                         milliseconds=rng.choice([0, 0, 250, 999]))
            self.ts_pool.append(fmt_ts(d, pick_style(rng)))
        self.ods = []

    # -- value helpers -----------------------------------------------------
    def ch(self, seq):
        return self.rng.choice(seq)

    def p(self, x):
        return self.rng.random() < x

    def ts(self):
        return self.ch(self.ts_pool)

    def node(self, type_, props, share_key=None):
        if share_key is not None:
            key = (type_, share_key)
            if key in self.shared:
                return self.shared[key]
        n = Node(type_, props)
        if share_key is not None:
            self.shared[(type_, share_key)] = n
        self.by_type[type_].append(n)
        return n

    def reuse(self, type_, prob):
        if self.by_type[type_] and self.p(prob):
            return self.ch(self.by_type[type_])
        return None

    def refs(self, build, k):
        """A reference list to k built objects, without duplicates."""
        out = []
        for _ in range(k):
            n = build()
            if all(r.node is not n for r in out):
                out.append(Ref(n))
        return out

    # -- SCO builders --------------------------------------------------------
    def b_ipv4(self):
        v = self.ch(IPV4_CIDR) if self.cidr_only else (self.ch(IPV4) if self.p(0.85) else self.ch(IPV4_CIDR))
        props = {"value": v}
        if self.p(0.06):
            props["resolves_to_refs"] = [Ref(self.b_mac())]
        return self.node("ipv4-addr", props, share_key=v)

    def b_ipv6(self):
        v = self.ch(IPV6)
        return self.node("ipv6-addr", {"value": v}, share_key=v)

    def b_mac(self):
        v = self.ch(MACS)
        return self.node("mac-addr", {"value": v}, share_key=v)

    def b_domain(self):
        v = self.ch(DOMAINS)
        key = v
        if self.p(0.45):
            return self.node("domain-name", {"value": v}, share_key=key)
        refs = self.refs(self.b_ipv4, self.rng.randint(1, 2))
        if self.p(0.15):
            refs.append(Ref(self.b_ipv6()))
        return self.node("domain-name", {"value": v, "resolves_to_refs": refs}, share_key=(v, "r"))

    def b_url(self):
        v = self.ch(URLS)
        return self.node("url", {"value": v}, share_key=v)

    def b_email_addr(self):
        v = self.ch(EMAILS)
        props = {"value": v}
        if self.p(0.5):
            props["display_name"] = self.ch(DISPLAY)
        return self.node("email-addr", props, share_key=(v, props.get("display_name")))

    def b_directory(self):
        v = self.ch(DIRS)
        return self.node("directory", {"path": v}, share_key=v)

    def file_name(self):
        return self.ch(RARE_FILE_NAMES) if self.p(0.03) else self.ch(FILE_NAMES)

    def b_file(self, depth=0):
        old = self.reuse("file", 0.2 if depth == 0 else 0.1)
        if old is not None:
            return old
        name = self.file_name()
        props = {}
        if self.p(0.7):
            hashes = {}
            h = _md5(name)
            if self.p(0.15):
                h = h.upper()
            if self.p(0.8):
                hashes["MD5"] = h
            if self.p(0.5) or not hashes:
                hashes["SHA-256"] = _sha256(name)
            if self.p(0.2):
                hashes["SHA-1"] = _sha1(name)
            props["hashes"] = hashes
        if self.p(0.85):
            props["name"] = name
        if self.p(0.75):
            props["size"] = BIG_SIZE if self.p(0.01) else self.ch(SIZES)
        if self.p(0.35):
            props["mime_type"] = self.ch(MIME)
        if self.p(0.3):
            props["magic_number_hex"] = self.ch(MAGIC)
        if self.p(0.4):
            if self.v21:
                props["ctime"] = self.ts()
                if self.p(0.6):
                    props["mtime"] = self.ts()
            else:
                props["created"] = self.ts()
                if self.p(0.6):
                    props["modified"] = self.ts()
        if self.p(0.3):
            props["parent_directory_ref"] = Ref(self.b_directory())
        ext = {}
        if depth == 0 and self.p(0.15):
            arch = {"contains_refs": self.refs(lambda: self.b_file(depth + 1), self.rng.randint(1, 3))}
            if self.p(0.5):
                arch["comment"] = self.ch(ARCHIVE_COMMENTS)
            if not self.v21:
                arch["version"] = "5.0"
            ext["archive-ext"] = arch
        if self.p(0.08):
            ext["ntfs-ext"] = {"alternate_data_streams": [{"name": self.ch(ADS), "size": self.ch([0, 26, 512])}
                                                          for _ in range(self.rng.randint(1, 2))]}
        if self.p(0.1):
            secs = [{"name": self.ch(SECTIONS), "entropy": self.ch(ENTROPY), "size": self.ch([512, 4096])}
                    for _ in range(self.rng.randint(1, 3))]
            ext["windows-pebinary-ext"] = {"pe_type": self.ch(PE_TYPES), "number_of_sections": len(secs),
                                           "sections": secs}
        if ext:
            props["extensions"] = ext
        if not props:
            props["name"] = name
        return self.node("file", props)

    def b_artifact(self):
        payload = self.ch(PAYLOADS)
        props = {"payload_bin": base64.b64encode(payload).decode()}
        if self.p(0.5):
            props["mime_type"] = self.ch(MIME)
        if self.p(0.3):
            props["hashes"] = {"SHA-256": hashlib.sha256(payload).hexdigest()}
        return self.node("artifact", props)

    def b_addr(self):
        r = self.rng.random()
        if r < 0.85:
            return self.b_ipv4()
        if r < 0.95:
            return self.b_ipv6()
        return self.b_domain()

    def b_network_traffic(self):
        props = {}
        if self.p(0.9):
            props["src_ref"] = Ref(self.b_addr())
        if self.p(0.9) or "src_ref" not in props:
            props["dst_ref"] = Ref(self.b_addr())
        if self.p(0.7):
            props["src_port"] = self.ch(PORTS + [51515, 60000])
        if self.p(0.9):
            props["dst_port"] = self.ch(PORTS)
        props["protocols"] = list(self.ch(PROTOCOLS))
        if self.p(0.5):
            props["start"] = self.ts()
        if self.p(0.4):
            props["is_active"] = self.ch(BOOLS)
        if self.p(0.4):
            props["src_byte_count"] = self.ch(BYTECOUNTS)
        if self.p(0.25):
            http = {"request_method": self.ch(METHODS), "request_value": self.ch(REQVALS)}
            if self.p(0.7):
                http["request_header"] = {"User-Agent": self.ch(UAS), "Host": self.ch(DOMAINS)}
            props["extensions"] = {"http-request-ext": http}
        return self.node("network-traffic", props)

    def b_email_message(self):
        props = {"is_multipart": self.ch(BOOLS)}
        if self.p(0.85):
            props["from_ref"] = Ref(self.b_email_addr())
        if self.p(0.8):
            props["to_refs"] = self.refs(self.b_email_addr, self.rng.randint(1, 3))
        if self.p(0.3):
            props["cc_refs"] = self.refs(self.b_email_addr, self.rng.randint(1, 2))
        if self.p(0.7):
            props["subject"] = self.ch(SUBJECTS)
        if self.p(0.5):
            props["date"] = self.ts()
        return self.node("email-message", props)

    def b_process(self, depth=0):
        props = {}
        if self.p(0.85):
            props["pid"] = self.ch(PIDS)
        if self.v21:
            if self.p(0.6):
                props["command_line"] = self.ch(CMDS)
            if self.p(0.5):
                props["image_ref"] = Ref(self.b_file(1))
            if self.p(0.4):
                props["created_time"] = self.ts()
            if depth == 0 and self.p(0.1):
                props["child_refs"] = self.refs(lambda: self.b_process(1), self.rng.randint(1, 2))
        else:
            if self.p(0.7):
                props["name"] = self.ch(PNAMES)
            if self.p(0.4):
                props["arguments"] = list(self.ch(ARGS))
            if self.p(0.5):
                props["binary_ref"] = Ref(self.b_file(1))
            if self.p(0.4):
                props["created"] = self.ts()
        if self.p(0.3):
            props["is_hidden"] = self.ch(BOOLS)
        if self.p(0.2):
            props["environment_variables"] = {"TEMP": self.ch(ENV_TEMP), "PATH": "/usr/bin:/bin"}
        if depth == 0 and self.p(0.25):
            props["parent_ref"] = Ref(self.b_process(1))
        if not props:
            props["pid"] = self.ch(PIDS)
        return self.node("process", props)

    def b_x509(self):
        props = {}
        if self.p(0.6):
            props["is_self_signed"] = self.ch(BOOLS)
        if self.p(0.5):
            props["hashes"] = {"SHA-256": _sha256(self.ch(X509SUBJ))}
        if self.p(0.5):
            props["version"] = self.ch(X509VER)
        props["serial_number"] = self.ch(SERIALS)
        if self.p(0.7):
            props["issuer"] = self.ch(ISSUERS)
        if self.p(0.6):
            props["subject"] = self.ch(X509SUBJ)
        if self.p(0.5):
            props["validity_not_before"] = self.ts()
            props["validity_not_after"] = self.ts()
        if self.p(0.4):
            props["subject_public_key_exponent"] = self.ch(EXPS)
        if self.p(0.3):
            props["x509_v3_extensions"] = {"basic_constraints": self.ch(BASICC)}
        return self.node("x509-certificate", props)

    def b_user_account(self):
        props = {"user_id": self.ch(UIDS)}
        if self.p(0.7):
            props["account_login"] = self.ch(LOGINS)
        if self.p(0.6):
            props["account_type"] = self.ch(ACCT_TYPES)
        if self.p(0.5):
            props["is_privileged"] = self.ch(BOOLS)
        if self.p(0.4):
            props["is_disabled"] = self.ch(BOOLS)
        if self.p(0.4):
            props["account_created"] = self.ts()
        if self.p(0.25):
            props["extensions"] = {"unix-account-ext": {"gid": self.ch(GIDS),
                                                        "groups": [self.ch(GROUPS) for _ in range(self.rng.randint(1, 3))]}}
        return self.node("user-account", props)

    def b_registry(self):
        props = {"key": self.ch(REGKEYS)}
        if self.p(0.7):
            props["values"] = [{"name": self.ch(REGNAMES), "data": self.ch(REGDATA), "data_type": self.ch(REGTYPES)}
                               for _ in range(self.rng.randint(1, 3))]
        if self.p(0.4):
            props["number_of_subkeys"] = self.ch(NSUB)
        if self.p(0.4):
            props["modified_time" if self.v21 else "modified"] = self.ts()
        return self.node("windows-registry-key", props)

    def b_asn(self):
        props = {"number": self.ch(ASNS)}
        if self.p(0.5):
            props["name"] = self.ch(ASNAMES)
        return self.node("autonomous-system", props)

    def b_mutex(self):
        v = self.ch(MUTEXES)
        return self.node("mutex", {"name": v}, share_key=v)

    def b_software(self):
        props = {"name": self.ch(SWNAMES)}
        if self.p(0.6):
            props["vendor"] = self.ch(VENDORS)
        if self.p(0.6):
            props["version"] = self.ch(SWVERS)
        return self.node("software", props)

    def build_root(self, type_):
        return {
            "file": self.b_file, "network-traffic": self.b_network_traffic, "ipv4-addr": self.b_ipv4,
            "domain-name": self.b_domain, "url": self.b_url, "email-message": self.b_email_message,
            "process": self.b_process, "x509-certificate": self.b_x509, "user-account": self.b_user_account,
            "windows-registry-key": self.b_registry, "artifact": self.b_artifact, "ipv6-addr": self.b_ipv6,
            "email-addr": self.b_email_addr, "autonomous-system": self.b_asn, "mutex": self.b_mutex,
            "software": self.b_software, "mac-addr": self.b_mac, "directory": self.b_directory,
        }[type_]()

    # -- observations --------------------------------------------------------
    def build_observations(self):
        rng = self.rng
        n_ods = wchoice(rng, [(1, 15), (2, 25), (3, 25), (4, 15), (5, 10), (6, 10)])
        for i in range(n_ods):
            od = OD()
            for _ in range(wchoice(rng, [(1, 55), (2, 30), (3, 15)])):
                od.roots.append(self.build_root(wchoice(rng, ROOT_WEIGHTS)))
            # timestamps
            if i > 0 and self.p(0.15):
                prev = self.ch(self.ods)
                od.first_s, od.last_s = prev.first_s, prev.last_s
            else:
                style = pick_style(rng)
                first = self.base + dt.timedelta(seconds=rng.randint(0, self.spread))
                if style != "s":
                    first += dt.timedelta(milliseconds=rng.randint(0, 999))
                dur = rng.choice([0, 0, 1, 5, 30, self.spread // 10, self.spread // 3])
                last = first + dt.timedelta(seconds=dur)
                od.first_s, od.last_s = fmt_ts(first, style), fmt_ts(last, style)
            od.first, od.last = parse_ts(od.first_s), parse_ts(od.last_s)
            od.n = wchoice(rng, [(1, 70), (2, 20), (3, 10)])
            # collect the graph
            seen = set()
            order = []

            def visit(n):
                if id(n) in seen:
                    return
                seen.add(id(n))
                order.append(n)
                for ch in iter_refs(n.props):
                    visit(ch)

            for r in od.roots:
                visit(r)
            children = [n for n in order if all(n is not r for r in od.roots)]
            if children and self.p(0.12):
                om = self.ch(children)
                od.omitted.append(om)
                order = [n for n in order if n is not om]
                self.data_tags.append("data:omitted-child")
            od.nodes = order
            od.listed = set(id(n) for n in order)
            od.id = "observed-data--%s" % uuid.UUID(int=rng.getrandbits(128), version=4)
            self.ods.append(od)
        if any(od.n > 1 for od in self.ods):
            self.data_tags.append("data:number_observed>1")
        if self.cidr_only:
            self.data_tags.append("data:cidr-only")

    def serialize(self):
        if self.v21:
            return self.serialize21()
        return self.serialize20()

    def serialize20(self):
        out = []
        for od in self.ods:
            keys = {id(n): str(i) for i, n in enumerate(od.nodes)}

            def refname(n, keys=keys):
                return keys.get(id(n), "99")

            objs = {}
            for n in od.nodes:
                objs[keys[id(n)]] = ser(n.props, refname)
            out.append({"type": "observed-data", "id": od.id, "created": od.first_s, "modified": od.first_s,
                        "first_observed": od.first_s, "last_observed": od.last_s, "number_observed": od.n,
                        "objects": objs})
        return out

    def sco_json(self, n):
        d = {"type": n.type, "spec_version": "2.1", "id": sco_id(n)}
        for k, v in n.props.items():
            if k != "type":
                d[k] = ser(v, sco_id)
        return d

    def serialize21(self):
        rng = self.rng
        od_json = []
        sco_lists = []
        for od in self.ods:
            refs = []
            for n in od.nodes:
                if sco_id(n) not in refs:
                    refs.append(sco_id(n))
            scos = [self.sco_json(n) for n in od.nodes]
            for om in od.omitted:
                if self.p(0.5):
                    scos.append(self.sco_json(om))
            if self.p(0.03):
                refs.append("file--%s" % uuid.UUID(int=rng.getrandbits(128), version=4))
                self.data_tags.append("data:dangling-object-ref")
            if self.p(0.05):
                srcs = [n for n in od.nodes if n.type == "domain-name"]
                a, b = (srcs[0], od.nodes[-1]) if srcs else (od.nodes[0], od.nodes[-1])
                rel = {"type": "relationship", "spec_version": "2.1",
                       "id": "relationship--%s" % uuid.UUID(int=rng.getrandbits(128), version=4),
                       "created": od.first_s, "modified": od.first_s, "relationship_type": "resolves-to",
                       "source_ref": sco_id(a), "target_ref": sco_id(b)}
                refs.append(rel["id"])
                scos.append(rel)
                self.data_tags.append("data:sro-in-object-refs")
            od_json.append({"type": "observed-data", "spec_version": "2.1", "id": od.id, "created": od.first_s,
                            "modified": od.first_s, "first_observed": od.first_s, "last_observed": od.last_s,
                            "number_observed": od.n, "object_refs": refs})
            sco_lists.append(scos)

        def bundle(objs):
            return {"type": "bundle", "id": "bundle--%s" % uuid.UUID(int=rng.getrandbits(128), version=4),
                    "objects": objs}

        def dedup(objs):
            seen, out = set(), []
            for o in objs:
                if o["id"] not in seen:
                    seen.add(o["id"])
                    out.append(o)
            return out

        layout = wchoice(rng, [("per-od", 55), ("single", 35), ("split-two", 5), ("cross", 5)])
        if len(self.ods) == 1 and layout == "split-two":
            layout = "per-od"
        self.data_tags.append("data:layout-" + layout)
        if layout == "per-od":
            return [bundle([o] + s) for o, s in zip(od_json, sco_lists)]
        all_scos = dedup([x for s in sco_lists for x in s])
        if layout == "single":
            objs = list(od_json) + all_scos if self.p(0.5) else all_scos + list(od_json)
            return [bundle(objs)]
        if layout == "split-two":
            k = len(self.ods) // 2
            return [bundle(od_json[:k] + dedup([x for s in sco_lists[:k] for x in s])),
                    bundle(od_json[k:] + dedup([x for s in sco_lists[k:] for x in s]))]
        # cross: the SCOs travel in a different bundle than their observed-data
        return [bundle(all_scos), bundle(list(od_json))]

    # -- pattern: comparisons ------------------------------------------------
    def entries(self, type_):
        want = "21" if self.v21 else "20"
        return [e for e in CATALOG.get(type_, []) if e[4] in ("a", want)]

    def pick_anchor(self):
        """(od, node, type) - node None for a random type."""
        if self.p(0.87):
            od = self.ch(self.ods)
            cands = [n for n in od.nodes if self.entries(n.type)]
            if cands:
                n = self.ch(cands)
                return od, n, n.type
        if self.v21 and self.p(0.04):
            return None, None, "sdo:" + self.ch(SDO_PATTERN_TYPES)[0]
        return None, None, wchoice(self.rng, ROOT_WEIGHTS)

    def render_path(self, type_, comps):
        out = [type_, ":"]
        for i, c in enumerate(comps):
            if c == "*":
                out.append("[*]")
            elif isinstance(c, int):
                out.append("[%d]" % c)
            else:
                quoted = not IDENT_RE.match(c) or self.p(0.06)
                if i > 0:
                    out.append(".")
                out.append(s_lit(c) if quoted else c)
        return "".join(out)

    def choose_op(self, kind, value_is_cidr, lone):
        # EXISTS next to another comparison in the same [...] makes the
        # reference fail (TypeError) whenever both sides select the same
        # observation, so it is kept rare there.
        ex = (0.6 if lone else 0.03) if self.v21 else 0.0
        if kind in ("str",):
            w = [("=", 4), ("!=", 2), ("<", 1), ("<=", 1), (">", 1), (">=", 1), ("IN", 2), ("LIKE", 2.5),
                 ("MATCHES", 2.5), ("EXISTS", ex)]
        elif kind == "ip4":
            w = [("=", 3), ("!=", 1), ("IN", 1), ("LIKE", 1), ("MATCHES", 1), ("ISSUBSET", 4), ("<", 0.3),
                 ("ISSUPERSET", 6 if self.cidr_only else (0.15 if value_is_cidr else 0.02)), ("EXISTS", ex)]
        elif kind == "ip6":
            w = [("=", 3), ("!=", 1), ("IN", 1), ("LIKE", 1), ("MATCHES", 1), ("EXISTS", ex)]
        elif kind in ("int", "float"):
            w = [("=", 3), ("!=", 1.5), ("<", 2), ("<=", 1.5), (">", 2), (">=", 1.5), ("IN", 2), ("EXISTS", ex * 0.6),
                 ("LIKE", 0.15), ("MATCHES", 0.1)]
        elif kind == "bool":
            w = [("=", 3), ("!=", 1.5), ("IN", 1), ("EXISTS", ex * 0.5)]
        elif kind == "ts":
            w = [("=", 2), ("!=", 1), ("<", 2), ("<=", 1), (">", 2), (">=", 1), ("IN", 1), ("EXISTS", ex * 0.5)]
        elif kind in ("hex", "bin"):
            w = [("=", 3), ("!=", 1), ("<", 0.5), (">", 0.5), ("<=", 0.2), (">=", 0.2), ("IN", 1), ("LIKE", 0.5),
                 ("MATCHES", 1), ("EXISTS", ex * 0.5)]
        elif kind == "list":
            w = [("=", 1), ("!=", 1), ("IN", 1), ("LIKE", 0.5), ("EXISTS", ex), ("ISSUBSET", 0.3)]
        else:  # obj
            w = [("=", 1), ("!=", 1), ("EXISTS", ex)]
        return wchoice(self.rng, w)

    def pool_value(self, kind, pool):
        if pool == "ts":
            return self.ts()
        if pool == "protolist":
            return list(self.ch(PROTOCOLS))
        if pool == "magic":
            return self.ch(MAGIC)
        v = self.ch(POOLS[pool])
        return v

    def gen_comparison(self, anchor, lone=False):
        """Returns (text, is_exists)."""
        od, node, type_ = anchor
        rng = self.rng
        if type_.startswith("sdo:"):
            t = type_[4:]
            for name, comps, kind, vals in SDO_PATTERN_TYPES:
                if name == t:
                    lit = int_lit(self.ch(vals)) if kind == "int" else s_lit(self.ch(vals))
                    return "%s %s %s" % (self.render_path(t, comps), self.ch(["=", "!=", "="]), lit), False
        entries = self.entries(type_)
        entry, vals = None, []
        if node is not None and self.p(0.9):
            cands = [(e, eval_path(node, e[0], od)) for e in entries]
            cands = [(e, v) for e, v in cands if v]
            if cands:
                entry, vals = wchoice(rng, [((e, v), e[3]) for e, v in cands])
        if entry is None:
            entry = wchoice(rng, [(e, e[3]) for e in entries])
            vals = eval_path(node, entry[0], od) if node is not None else []
        comps, kind, pool = entry[0], entry[1], entry[2]
        truthy = bool(vals) and self.p(self.p_true)
        v = self.ch(vals) if truthy else self.pool_value(kind, pool)
        if isinstance(v, dict):
            kind = "obj"
        elif isinstance(v, list) and kind != "list":
            kind = "list"
        value_is_cidr = isinstance(v, str) and "/" in v
        op = self.choose_op(kind, value_is_cidr, lone)
        path = self.render_path(type_, comps)
        neg = self.p(0.3 if op == "EXISTS" else 0.22)
        if op == "EXISTS":
            return ("NOT EXISTS " if neg else "EXISTS ") + path, True
        lit = self.make_literal(kind, op, v, pool)
        if lit is None:
            op = "="
            lit = self.make_literal(kind, op, v, pool)
        return "%s %s%s %s" % (path, "NOT " if neg else "", op, lit), False

    # literal construction ---------------------------------------------------
    def lit_for(self, kind, v, pool):
        """A literal of the natural type for value v (v of the JSON kind)."""
        rng = self.rng
        if kind == "list":
            v = self.ch(v) if v else "tcp"
            kind = "str"
        if kind == "obj":
            return s_lit("x")
        if isinstance(v, bool):
            if self.p(0.04):
                return int_lit(int(v))  # bool vs int: never equal for '=', but 1 IN {true}
            return bool_lit(v)
        if isinstance(v, int):
            r = rng.random()
            if r < 0.08:
                return float_lit(float(v))
            if r < 0.12:
                return s_lit(str(v))
            return int_lit(v, rng)
        if isinstance(v, float):
            if v == int(v) and self.p(0.3):
                return int_lit(int(v))
            return float_lit(v)
        if kind == "ts":
            d = parse_ts(v)
            if d is None or self.p(0.12):
                return s_lit(v)
            return ts_lit(d, pick_style(rng))
        if kind == "hex":
            try:
                b = bytes.fromhex(v)
            except ValueError:
                return s_lit(v)
            return self.bytes_lit(b)
        if kind == "bin":
            b = base64.b64decode(v)
            return self.bytes_lit(b)
        # strings
        if self.p(0.04):
            b = latin1(v)
            if b:
                return hex_lit(b, rng) if self.p(0.5) else bin_lit(b)
        if self.p(0.02):
            return int_lit(len(v))  # type mismatch
        return s_lit(v)

    def bytes_lit(self, b):
        r = self.rng.random()
        if r < 0.45 or not b:
            return hex_lit(b, self.rng)
        if r < 0.8:
            return bin_lit(b)
        try:
            s = b.decode("latin-1")
        except UnicodeDecodeError:
            return hex_lit(b)
        if "\n" in s or "\r" in s:
            return hex_lit(b)
        return s_lit(s)

    def shift(self, kind, v):
        """A value near v, for order comparisons."""
        rng = self.rng
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)):
            d = rng.choice([0, 0, 1, -1, 100, -100, 0.5, -2000])
            if self.p(0.08):
                return rng.choice([-1, -5])
            return v + d
        if kind == "ts":
            d = parse_ts(v)
            if d is None:
                return v
            return fmt_ts(d + dt.timedelta(seconds=rng.choice([0, 0, 1, -1, 60, -60, 86400, -86400])),
                          pick_style(rng))
        if isinstance(v, str):
            r = rng.random()
            if r < 0.4:
                return v
            if r < 0.55:
                return v[:-1]
            if r < 0.7:
                return v + "~"
            if r < 0.8:
                return v.upper()
            return v
        return v

    def make_literal(self, kind, op, v, pool):
        rng = self.rng
        if op in ("=", "!="):
            if not self.p(self.p_true) and self.p(0.5):
                v = self.pool_value(kind, pool) if kind != "obj" else v
            return self.lit_for(kind, v, pool)
        if op in ("<", "<=", ">", ">="):
            if kind in ("bool",):
                return None
            if kind == "list" or kind == "obj":
                return s_lit("m")
            if kind in ("hex", "bin"):
                try:
                    b = bytes.fromhex(v) if kind == "hex" else base64.b64decode(v)
                except ValueError:
                    return s_lit("m")
                c = rng.random()
                if c < 0.3 and b:
                    b = b[:-1]
                elif c < 0.5:
                    b = b + b"\x00"
                return hex_lit(b, rng) if self.p(0.6) else (bin_lit(b) if b else hex_lit(b))
            sv = self.shift(kind, v)
            if kind == "ts":
                d = parse_ts(sv)
                if d is not None and self.p(0.9):
                    return ts_lit(d, pick_style(rng))
                return s_lit(sv)
            if isinstance(sv, float) and not isinstance(v, float) and sv != int(sv):
                return float_lit(sv)
            if isinstance(sv, (int, float)) and not isinstance(sv, bool):
                return int_lit(sv) if isinstance(sv, int) else float_lit(sv)
            return s_lit(sv) if isinstance(sv, str) else s_lit(str(sv))
        if op == "IN":
            if self.p(0.02):
                return "()"
            base = v
            if kind == "list":
                base = self.ch(v) if v else "tcp"
                k2 = "str"
            else:
                k2 = kind
            items = []
            if self.p(0.8) or kind == "list":
                items.append(s_lit(base) if k2 == "str" else self.lit_for(k2, base, pool))
            for _ in range(rng.randint(0 if items else 1, 3)):
                other = self.pool_value(kind, pool)
                if kind == "list":
                    other = self.ch(other)
                items.append(self.set_member_lit(k2, other, items[0] if items else None))
            # keep the set homogeneous (the reference rejects mixed sets)
            kinds = set(lit_kind(x) for x in items)
            if len(kinds) > 1 and not kinds <= {"int", "float"}:
                items = [x for x in items if lit_kind(x) == lit_kind(items[0])]
            out = []
            for x in items:
                if x not in out:
                    out.append(x)
            return "(" + ", ".join(out) + ")"
        sval = v
        if kind in ("hex", "bin"):
            try:
                b = bytes.fromhex(v) if kind == "hex" else base64.b64decode(v)
                sval = b.decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                sval = "MZ"
        elif kind == "list":
            sval = self.ch(v) if v else "tcp"
        elif not isinstance(v, str):
            sval = str(v)
        if op == "LIKE":
            return s_lit(self.like_from(sval))
        if op == "MATCHES":
            return s_lit(self.regex_from(sval))
        if op == "ISSUBSET":
            return s_lit(self.container_of(sval))
        if op == "ISSUPERSET":
            return s_lit(self.contained_in(sval))
        raise AssertionError(op)

    def set_member_lit(self, kind, v, first):
        fk = lit_kind(first) if first else None
        if fk == "timestamp" and kind == "ts":
            d = parse_ts(v)
            if d:
                return ts_lit(d, pick_style(self.rng))
        if fk in ("hex", "binary") and kind in ("hex", "bin"):
            try:
                b = bytes.fromhex(v) if kind == "hex" else base64.b64decode(v)
                return hex_lit(b, self.rng) if fk == "hex" else (bin_lit(b) if b else hex_lit(b))
            except ValueError:
                pass
        if fk == "string":
            return s_lit(v if isinstance(v, str) else str(v))
        return self.lit_for(kind, v, None)

    def like_from(self, s):
        rng = self.rng
        if not self.p(self.p_true) and self.p(0.4):
            s = self.ch(FILE_NAMES + DOMAINS + EMAILS)
        r = rng.random()
        n = len(s)
        if n == 0 or r < 0.05:
            return "%"
        k = rng.randint(1, max(1, min(n, 6)))
        if r < 0.3:
            return s[:k] + "%"
        if r < 0.5:
            return "%" + s[-k:]
        if r < 0.65:
            i = rng.randint(0, n - 1)
            return "%" + s[i:i + k] + "%"
        if r < 0.8:
            i = rng.randint(0, n - 1)
            return s[:i] + "_" + s[i + 1:]
        if r < 0.9:
            return s
        return s.upper() + "%"

    def regex_from(self, s):
        rng = self.rng
        if not self.p(self.p_true) and self.p(0.4):
            s = self.ch(FILE_NAMES + DOMAINS + EMAILS)
        n = len(s)
        r = rng.random()
        generic = ["\\.exe$", "^[0-9]+$", "\\d{2,}", "^(evil|setup)", "[A-Z]", "^$", ".*", "(?i)^evil",
                   "example\\.(com|org)$", "^[a-f0-9]{32}$", "\\\\", "'", "^\\w+$", "%", "^10\\.0\\.0\\.[0-9]+$"]
        if n == 0 or r < 0.2:
            return self.ch(generic)
        k = rng.randint(1, max(1, min(n, 8)))
        if r < 0.4:
            return "^" + regex_escape(s[:k])
        if r < 0.55:
            return regex_escape(s[-k:]) + "$"
        if r < 0.7:
            i = rng.randint(0, n - 1)
            return regex_escape(s[i:i + k])
        if r < 0.8:
            return "(?i)" + regex_escape(s.upper()[:k])
        if r < 0.9:
            return "^" + regex_escape(s) + "$"
        i = rng.randint(0, n - 1)
        return regex_escape(s[:i]) + "." + regex_escape(s[i + 1:])

    def container_of(self, v):
        rng = self.rng
        try:
            net = ipaddress.ip_network(v, strict=False)
        except ValueError:
            return self.ch(IPV4_CIDR)
        if net.version != 4 or not self.p(self.p_true):
            return self.ch(IPV4_CIDR + ["192.168.0.0/16", "0.0.0.0/1", "128.0.0.0/1"])
        p = rng.choice([1, 8, 16, 24, 24, 32, net.prefixlen, max(1, net.prefixlen - 1)])
        p = max(1, min(p, net.prefixlen))
        sup = net.supernet(new_prefix=p)
        if self.p(0.15):  # host bits set in the literal: the reference masks them
            return "%s/%d" % (net.network_address, p)
        return str(sup)

    def contained_in(self, v):
        rng = self.rng
        try:
            net = ipaddress.ip_network(v, strict=False)
        except ValueError:
            return self.ch(IPV4)
        if net.version != 4 or not self.p(self.p_true):
            return self.ch(IPV4 + IPV4_CIDR)
        r = rng.random()
        if r < 0.5:
            off = rng.randint(0, net.num_addresses - 1)
            return str(net.network_address + off)
        if r < 0.8 and net.prefixlen < 32:
            sub = net.subnets(new_prefix=min(32, net.prefixlen + rng.choice([0, 1, 8])))
            return str(next(iter(sub)))
        return str(net)

    def gen_cmp_expr(self, anchor, n_cmp, lone=False):
        """Returns (text, tree-precedence) for a comparison expression."""
        if n_cmp == 1:
            text, _ = self.gen_comparison(anchor, lone=lone)
            return text, 3
        left_n = self.rng.randint(1, n_cmp - 1)
        op = "AND" if self.p(0.55) else "OR"
        la = anchor
        ra = anchor
        if op == "OR" and self.p(0.5):
            ra = self.pick_anchor()
        elif op == "AND" and self.p(0.08):
            ra = self.pick_anchor()  # usually another object/type: never satisfied together
        l, lp = self.gen_cmp_expr(la, left_n)
        r, rp = self.gen_cmp_expr(ra, n_cmp - left_n)
        prec = 2 if op == "AND" else 1
        if lp < prec or self.p(0.07):
            l = "(" + l + ")"
        if rp <= prec and rp != 3 or self.p(0.07):
            r = "(" + r + ")"
        return "%s %s %s" % (l, op, r), prec

    # -- pattern: observation expressions -----------------------------------
    def gen_leaf(self):
        anchor = self.pick_anchor()
        if self.v21 and self.p(0.05):
            # a lone EXISTS; combined with AND/OR it breaks the reference
            od, node, type_ = anchor
            if not type_.startswith("sdo:"):
                entries = self.entries(type_)
                e = wchoice(self.rng, [(e, e[3]) for e in entries])
                neg = self.p(0.35)
                return "[%sEXISTS %s]" % ("NOT " if neg else "", self.render_path(type_, e[0]))
        n_cmp = wchoice(self.rng, [(1, 55), (2, 30), (3, 15)])
        text, _ = self.gen_cmp_expr(anchor, n_cmp, lone=n_cmp == 1)
        if self.p(0.04):
            text = "(" + text + ")"
        return "[" + text + "]"

    def gen_tree(self, n):
        if n == 1:
            return {"k": "leaf", "quals": []}
        ln = self.rng.randint(1, n - 1)
        op = wchoice(self.rng, [("AND", 35), ("OR", 33), ("FOLLOWEDBY", 32)])
        return {"k": "bin", "op": op, "l": self.gen_tree(ln), "r": self.gen_tree(n - ln), "quals": []}

    def leaves(self, t):
        return 1 if t["k"] == "leaf" else self.leaves(t["l"]) + self.leaves(t["r"])

    def time_gaps(self):
        gaps = []
        for a in self.ods:
            for b in self.ods:
                if a is not b:
                    g = (b.first - a.last).total_seconds()
                    if g > 0:
                        gaps.append(g)
        return gaps

    def gen_within(self):
        rng = self.rng
        gaps = self.time_gaps()
        r = rng.random()
        if r < 0.2 and gaps:
            w = self.ch(gaps)
        elif r < 0.45 and gaps:
            w = self.ch(gaps) + rng.choice([-1, 1, 0.5, -0.5, 0.001, 60])
        else:
            w = rng.choice([1, 5, 30, 60, 300, 600, 3600, 86400, 259200])
        if w <= 0:
            w = 0.5
        if w != int(w) or self.p(0.3):
            if w == int(w):
                w = w + rng.choice([0.0, 0.25, 0.5])
            s = float_lit(w)
            if s.startswith("0.") and self.p(0.3):
                s = s[1:]
            return "WITHIN %s SECONDS" % s
        return "WITHIN %d SECONDS" % int(w)

    def gen_startstop(self):
        rng = self.rng
        od = self.ch(self.ods)
        span = dt.timedelta(seconds=rng.choice([1, 60, 3600, 86400, 10 * 86400]))
        mode = wchoice(rng, [("around", 40), ("touch-outer", 10), ("touch-inner", 10), ("random", 25),
                             ("empty", 5), ("reversed", 3), ("after", 7)])
        if mode == "around":
            t = rng.choice([od.first, od.last])
            start = t - dt.timedelta(seconds=rng.choice([0, 1, 30, 3600]))
            stop = t + dt.timedelta(seconds=rng.choice([0, 1, 30, 3600, 86400]))
            if stop <= start:
                stop = start + span
        elif mode == "touch-outer":
            start, stop = od.last, od.last + span
        elif mode == "touch-inner":
            start, stop = od.first - span, od.first
        elif mode == "random":
            start = self.base + dt.timedelta(seconds=rng.randint(-self.spread, self.spread))
            stop = start + span
        elif mode == "empty":
            start = stop = od.first
        elif mode == "reversed":
            start, stop = od.last + span, od.first
        else:
            start, stop = od.last + span, od.last + span + span
        fine = od.first.microsecond or od.last.microsecond
        st = "ms" if fine else pick_style(rng)
        return "START %s STOP %s" % (ts_lit(start, st), ts_lit(stop, st))

    def add_quals(self, t, cost_ok):
        q = 0.25 if t["k"] == "leaf" else 0.2
        if self.p(q):
            nq = 1
            while nq < 3 and self.p(0.25):
                nq += 1
            for _ in range(nq):
                kinds = [("WITHIN", 45), ("REPEATS", 30 if cost_ok(t) else 0), ("STARTSTOP", 25 if self.v21 else 0)]
                k = wchoice(self.rng, kinds)
                if k == "WITHIN":
                    t["quals"].append(self.gen_within())
                elif k == "REPEATS":
                    cnt = wchoice(self.rng, [(1, 10), (2, 60), (3, 30)])
                    t["quals"].append("REPEATS %d TIMES" % cnt)
                    t["rep"] = t.get("rep", 1) * cnt
                else:
                    t["quals"].append(self.gen_startstop())
        if t["k"] == "bin":
            self.add_quals(t["l"], cost_ok)
            self.add_quals(t["r"], cost_ok)

    def render_tree(self, t):
        """Returns (text, precedence); precedence 4 = atom."""
        if t["k"] == "leaf":
            s, prec = t["text"], 4
        else:
            p = {"FOLLOWEDBY": 1, "OR": 2, "AND": 3}[t["op"]]
            l, lp = self.render_tree(t["l"])
            r, rp = self.render_tree(t["r"])
            if lp < p:
                l = "(" + l + ")"
            if rp <= p:
                r = "(" + r + ")"
            s, prec = "%s %s %s" % (l, t["op"], r), p
        if t["quals"]:
            if prec != 4:
                s = "(" + s + ")"
            s = s + " " + " ".join(t["quals"])
            prec = 4
        elif self.p(0.05):
            s, prec = "(" + s + ")", 4
        return s, prec

    def fill_leaves(self, t):
        if t["k"] == "leaf":
            t["text"] = self.gen_leaf()
        else:
            self.fill_leaves(t["l"])
            self.fill_leaves(t["r"])

    def cost(self, t, inst):
        """Upper bound of the bindings the reference may enumerate."""
        if t["k"] == "leaf":
            c = inst
        else:
            l, r = self.cost(t["l"], inst), self.cost(t["r"], inst)
            c = l + r if t["op"] == "OR" else l * r
        rep = 1
        for q in t["quals"]:
            if q.startswith("REPEATS"):
                k = int(q.split()[1])
                c2 = 1
                for i in range(k):
                    c2 = c2 * max(c - i, 1) // (i + 1)
                c = max(c2, c)
                rep *= k
        return c

    def gen_pattern(self):
        inst = sum(od.n for od in self.ods)
        for _ in range(20):
            n_leaves = wchoice(self.rng, [(1, 45), (2, 35), (3, 15), (4, 5)])
            t = self.gen_tree(n_leaves)

            def cost_ok(sub, t=t):
                return self.leaves(sub) <= 2 and self.leaves(t) <= 3

            self.add_quals(t, cost_ok)
            if self.cost(t, inst) <= COST_LIMIT:
                break
        else:
            t = {"k": "leaf", "quals": []}
        self.fill_leaves(t)
        return self.render_tree(t)[0]

    def walk(self, t):
        yield t
        if t["k"] == "bin":
            yield from self.walk(t["l"])
            yield from self.walk(t["r"])


def lit_kind(text):
    if text is None:
        return None
    if text.startswith("t'"):
        return "timestamp"
    if text.startswith("h'"):
        return "hex"
    if text.startswith("b'"):
        return "binary"
    if text.startswith("'"):
        return "string"
    if text in ("true", "false"):
        return "bool"
    if "." in text:
        return "float"
    return "int"


# ---------------------------------------------------------------------------
# Deliberate reference rejections
# ---------------------------------------------------------------------------

PARSE_BREAKERS = [
    ("drop-closing-bracket", lambda p: p[:p.rfind("]")] + p[p.rfind("]") + 1:]),
    ("lowercase-and", lambda p: "[file:name = 'a' and file:size = 1]"),
    ("bad-escape", lambda p: "[file:name = 'evil\\.exe']"),
    ("within-minutes", lambda p: p + " WITHIN 5 MINUTES" if p.endswith("]") else "[file:size = 1] WITHIN 5 MINUTES"),
    ("repeats-negative", lambda p: "[file:name = 'evil.exe'] REPEATS -2 TIMES"),
    ("within-negative", lambda p: "[file:name = 'evil.exe'] WITHIN -5 SECONDS"),
    ("leading-zero-int", lambda p: "[file:size = 01024]"),
    ("uppercase-bool", lambda p: "[network-traffic:is_active = TRUE]"),
    ("bad-base64", lambda p: "[artifact:payload_bin = b'abc']"),
    ("empty-brackets", lambda p: "[]"),
    ("trailing-and", lambda p: p + " AND"),
    ("unterminated-string", lambda p: "[file:name = 'evil.exe]"),
    ("set-trailing-comma", lambda p: "[file:name IN ('a', 'b',)]"),
    ("hyphen-in-property", lambda p: "[file:mime-type = 'text/plain']"),
    ("date-only-timestamp", lambda p: "[file:ctime > t'2021-03-14']"),
    ("startstop-string-literals", lambda p: "[file:name = 'evil.exe'] START '2021-03-14T00:00:00Z' STOP '2021-03-15T00:00:00Z'"),
    ("missing-operator", lambda p: "[file:name 'evil.exe']"),
    ("no-brackets", lambda p: "file:name = 'evil.exe'"),
    ("float-without-fraction", lambda p: "[file:size > 1.]"),
    ("unknown-operator", lambda p: "[file:name ~= 'evil.exe']"),
]


def deliberate_error(cg, pattern, obs):
    """Returns (pattern, obs, kind) for a case the reference should reject."""
    rng = cg.rng
    ipv4_present = "ipv4-addr" in json.dumps(obs)
    kinds = [("parse", 40), ("invalid-cidr", 12 if ipv4_present else 0), ("nonhomogeneous-set", 10),
             ("bad-json-first-observed", 7), ("bad-json-timestamp-property", 6), ("repeats-zero", 3),
             ("within-zero", 3), ("invalid-regex", 5), ("invalid-timestamp-literal", 4),
             ("startstop-in-2.0", 4 if not cg.v21 else 0), ("exists-in-2.0", 4 if not cg.v21 else 0),
             ("number-observed-zero", 3), ("bad-hex-property", 3), ("issubset-ipv6", 3)]
    kind = wchoice(rng, kinds)
    if kind == "parse":
        name, f = rng.choice(PARSE_BREAKERS)
        return f(pattern), obs, "parse-" + name
    if kind == "invalid-cidr":
        lit = rng.choice(["10.0.0.0/33", "10.0.0.0/0", "300.0.0.0/8", "10.0.0.0", "10.0.0.0/x", "2001:db8::/32"])
        return "[ipv4-addr:value %sISSUBSET '%s']" % ("NOT " if rng.random() < 0.3 else "", lit), obs, kind
    if kind == "nonhomogeneous-set":
        s = rng.choice(["('evil.exe', 1)", "(true, 1)", "(1, 'a', 2)", "(h'00', 'x')", "(t'2021-03-14T09:00:00Z', 'x')",
                        "(1.5, true)"])
        return "[file:name IN %s]" % s, obs, kind
    if kind == "bad-json-first-observed":
        bad = rng.choice(["2021-02-30T00:00:00Z", "2021-03-14 09:00:00Z", "2021-03-14t09:00:00z",
                          "2021-03-14T09:00:00+00:00", "yesterday"])
        target = rng.randrange(len(obs))
        od = obs[target] if not cg.v21 else None
        if cg.v21:
            k = 0
            for b in obs:
                for o in b["objects"]:
                    if o.get("type") == "observed-data":
                        if k == target:
                            od = o
                        k += 1
        od[rng.choice(["first_observed", "last_observed"])] = bad
        return pattern, obs, kind
    if kind == "bad-json-timestamp-property":
        bad = rng.choice(["2021-02-30T00:00:00Z", "2021-03-14 09:00:00Z", "not a time"])
        prop = "ctime" if cg.v21 else "created"
        objs = ([o for b in obs for o in b["objects"]] if cg.v21 else
                [o for sdo in obs for o in sdo["objects"].values()])
        for o in objs:
            if o.get("type") == "file":
                o[prop] = bad
                return "[file:%s > t'2020-01-01T00:00:00Z']" % prop, obs, kind
        # no file: the comparison on an absent property does not fail
        return "[file:%s > t'2020-01-01T00:00:00Z'] OR [file:name = 'x']" % prop, obs, kind
    if kind == "repeats-zero":
        return "[file:name = 'evil.exe'] REPEATS 0 TIMES", obs, kind
    if kind == "within-zero":
        return "[file:name = 'evil.exe'] WITHIN %s SECONDS" % rng.choice(["0", "0.0", ".0"]), obs, kind
    if kind == "invalid-regex":
        return "[file:name MATCHES '%s']" % rng.choice(["(unclosed", "[a-", "*evil", "a{2,1}"]), obs, kind
    if kind == "invalid-timestamp-literal":
        return "[file:%s = t'%s']" % ("ctime" if cg.v21 else "created",
                                      rng.choice(["2021-02-30T00:00:00Z", "2021-03-14T09:00:60Z"])), obs, kind
    if kind == "startstop-in-2.0":
        return "[file:name = 'evil.exe'] START t'2021-03-14T00:00:00Z' STOP t'2021-03-15T00:00:00Z'", obs, kind
    if kind == "exists-in-2.0":
        return "[EXISTS file:name]", obs, kind
    if kind == "number-observed-zero":
        if cg.v21:
            for b in obs:
                for o in b["objects"]:
                    if o.get("type") == "observed-data":
                        o["number_observed"] = 0
                        return pattern, obs, kind
        obs[0]["number_observed"] = 0
        return pattern, obs, kind
    if kind == "bad-hex-property":
        objs = ([o for b in obs for o in b["objects"]] if cg.v21 else
                [o for sdo in obs for o in sdo["objects"].values()])
        for o in objs:
            if o.get("type") == "file":
                o["magic_number_hex"] = rng.choice(["zz90", "4d5a9"])
                return "[file:magic_number_hex = h'4d5a9000']", obs, kind
        return "[file:name = 'x']", obs, "none"
    if kind == "issubset-ipv6":
        return "[ipv6-addr:value ISSUBSET '2001:db8::/32'] OR [ipv4-addr:value = '10.0.0.1']", obs, kind
    raise AssertionError(kind)


# ---------------------------------------------------------------------------
# Reference evaluation and parse-tree tags
# ---------------------------------------------------------------------------

_REF = {}


def _load_reference():
    if _REF:
        return _REF
    try:
        import antlr4
        from stix2matcher import matcher as M
        from stix2patterns.exceptions import ParseException
        from stix2patterns.grammars.STIXPatternParser import STIXPatternParser as GP
    except ImportError as e:
        die("generate needs stix2-matcher 3.0.0 and stix2-patterns 2.1.2 "
                 "(e.g. /work/venv-ref/bin/python): %s" % e)
    _REF.update(M=M, ParseException=ParseException, GP=GP, antlr4=antlr4)
    _REF["TagListener"] = _make_tag_listener(antlr4, GP)
    return _REF


def _make_tag_listener(antlr4, GP):
    QUALCTX = ("ObservationExpressionWithinContext", "ObservationExpressionRepeatedContext",
               "ObservationExpressionStartStopContext")
    LITCTX = ("PrimitiveLiteralContext", "OrderableLiteralContext")
    STRCTX = ("PropTestLikeContext", "PropTestRegexContext", "PropTestIsSubsetContext", "PropTestIsSupersetContext")
    LITNAMES = {GP.IntPosLiteral: "int", GP.IntNegLiteral: "negint", GP.FloatPosLiteral: "float",
                GP.FloatNegLiteral: "float", GP.StringLiteral: "string", GP.BoolLiteral: "bool",
                GP.BinaryLiteral: "binary", GP.HexLiteral: "hex", GP.TimestampLiteral: "timestamp"}

    def has_qual(ctx):
        if type(ctx).__name__ in QUALCTX:
            return True
        for i in range(ctx.getChildCount()):
            c = ctx.getChild(i)
            if not isinstance(c, antlr4.TerminalNode) and has_qual(c):
                return True
        return False

    def unquote(s):
        return s[1:-1].replace("\\'", "'").replace("\\\\", "\\")

    class TagListener(antlr4.ParseTreeListener):
        def __init__(self):
            self.tags = {}
            self.nquals = 0

        def add(self, t):
            self.tags[t] = self.tags.get(t, 0) + 1

        def op(self, ctx, name):
            self.add("op:" + ("NOT " if ctx.NOT() else "") + name)

        def exitPropTestEqual(self, ctx):
            tok = ctx.NEQ() or ctx.EQ()
            if tok.getText() in ("==", "<>"):
                self.add("op-spelling:" + tok.getText())
            self.op(ctx, "!=" if ctx.NEQ() else "=")

        def exitPropTestOrder(self, ctx):
            self.op(ctx, (ctx.GT() or ctx.LT() or ctx.GE() or ctx.LE()).getText())

        def exitPropTestSet(self, ctx):
            self.op(ctx, "IN")

        def exitPropTestLike(self, ctx):
            self.op(ctx, "LIKE")

        def exitPropTestRegex(self, ctx):
            self.op(ctx, "MATCHES")

        def exitPropTestIsSubset(self, ctx):
            self.op(ctx, "ISSUBSET")

        def exitPropTestIsSuperset(self, ctx):
            self.op(ctx, "ISSUPERSET")

        def exitPropTestExists(self, ctx):
            neg = hasattr(ctx, "NOT") and ctx.NOT()
            self.add("op:" + ("NOT " if neg else "") + "EXISTS")

        def exitPropTestParen(self, ctx):
            self.add("cmp:paren")

        def exitComparisonExpression(self, ctx):
            if len(ctx.comparisonExpression()) == 2:
                self.add("cmp:OR")

        def exitComparisonExpressionAnd(self, ctx):
            if len(ctx.comparisonExpressionAnd()) == 2:
                self.add("cmp:AND")

        def exitObservationExpressions(self, ctx):
            if len(ctx.observationExpressions()) == 2:
                self.add("obs:FOLLOWEDBY")

        def exitObservationExpressionOr(self, ctx):
            if len(ctx.observationExpressionOr()) == 2:
                self.add("obs:OR")

        def exitObservationExpressionAnd(self, ctx):
            if len(ctx.observationExpressionAnd()) == 2:
                self.add("obs:AND")

        def exitObservationExpressionCompound(self, ctx):
            self.add("obs:paren")

        def qual(self, ctx, name):
            self.add("qual:" + name)
            self.nquals += 1
            inner = ctx.observationExpression()
            if type(inner).__name__ in QUALCTX:
                self.add("qual:combo")
            elif has_qual(inner):
                self.add("qual:nested")

        def exitObservationExpressionWithin(self, ctx):
            q = ctx.withinQualifier()
            self.qual(ctx, "WITHIN-float" if q.FloatPosLiteral() else "WITHIN-int")

        def exitObservationExpressionRepeated(self, ctx):
            self.qual(ctx, "REPEATS")

        def exitObservationExpressionStartStop(self, ctx):
            self.qual(ctx, "START-STOP")

        def exitObjectType(self, ctx):
            self.add("type:" + ctx.getText())

        def prop(self, name):
            if name.endswith("_refs"):
                self.add("path:refs")
            elif name.endswith("_ref"):
                self.add("path:ref")
            elif name.endswith("_hex"):
                self.add("path:hex-suffix")
            elif name.endswith("_bin"):
                self.add("path:bin-suffix")
            elif name == "extensions":
                self.add("path:extension")

        def exitFirstPathComponent(self, ctx):
            if ctx.StringLiteral():
                self.add("path:quoted-key")
                self.prop(unquote(ctx.StringLiteral().getText()))
            else:
                self.prop(ctx.getText())

        def exitKeyPathStep(self, ctx):
            self.add("path:nested")
            if ctx.StringLiteral():
                self.add("path:quoted-key")
                self.prop(unquote(ctx.StringLiteral().getText()))
            else:
                self.prop(ctx.IdentifierWithoutHyphen().getText())

        def exitIndexPathStep(self, ctx):
            if ctx.ASTERISK():
                self.add("path:star")
            elif ctx.IntNegLiteral():
                self.add("path:negative-index")
            else:
                self.add("path:index")

        def visitTerminal(self, node):
            sym = node.getSymbol()
            name = LITNAMES.get(sym.type)
            if name is None:
                return
            pname = type(node.parentCtx).__name__
            if pname in LITCTX or (name == "string" and pname in STRCTX):
                self.add("lit:" + name)
                if name == "string":
                    txt = sym.text
                    if "\\'" in txt:
                        self.add("lit:string-escape-quote")
                    if "\\\\" in txt:
                        self.add("lit:string-escape-backslash")
            elif pname == "StartStopQualifierContext":
                self.add("lit:timestamp-qualifier")

        def visitErrorNode(self, node):
            pass

        def enterEveryRule(self, ctx):
            pass

        def exitEveryRule(self, ctx):
            pass

    return TagListener


def _on_alarm(signum, frame):
    raise Timeout()


def run_reference(pattern, obs_text, version, time_limit=1.0):
    """Returns (expect, tags, note). Raises Timeout when the reference is too slow."""
    R = _load_reference()
    M = R["M"]
    tags = {}
    note = None
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    try:
        try:
            compiled = M.Pattern(pattern, version)
        except R["ParseException"] as e:
            return {"error": "parse", "message": str(e)}, tags, note
        tl = R["TagListener"]()
        compiled.walk(tl)
        tags = tl.tags
        try:
            listener = M.MatchListener(json.loads(obs_text), False, stix_version=version)
            compiled.walk(listener)
            stack = listener._MatchListener__compute_stack
            raw = next(iter(stack[0]), None) if stack else None
            if raw is None:
                sdos = []
            else:
                filtered = tuple(map(listener.get_obs_index_filtered, raw))
                sdos = listener.get_sdos_from_binding(filtered)
                used = set(x for x in raw if x is not None)
                if any(i > 0 and (o, 0) not in used for o, i in used):
                    note = "ref:instance-only-binding"
        except Timeout:
            raise
        except Exception as e:  # everything but a parse error is a "matcher" error
            return {"error": "matcher", "message": "%s: %s" % (type(e).__name__, e)}, tags, note
        if version == "2.1":
            ids = [b["objects"][0]["id"] for b in sdos]
        else:
            ids = [s["id"] for s in sdos]
        return {"matched": bool(sdos), "sdos": ids}, tags, note
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


# ---------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------

OPS = ["=", "!=", "<", "<=", ">", ">=", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS"]
REQUIRED = (["op:" + o for o in OPS] + ["op:NOT " + o for o in OPS] +
            ["cmp:AND", "cmp:OR", "cmp:paren", "obs:AND", "obs:OR", "obs:FOLLOWEDBY", "obs:paren",
             "qual:WITHIN-int", "qual:WITHIN-float", "qual:REPEATS", "qual:START-STOP", "qual:combo",
             "lit:string", "lit:string-escape-quote", "lit:string-escape-backslash", "lit:int", "lit:negint",
             "lit:float", "lit:bool", "lit:binary", "lit:hex", "lit:timestamp",
             "path:nested", "path:quoted-key", "path:index", "path:star", "path:ref", "path:refs",
             "path:extension", "path:hex-suffix", "path:bin-suffix",
             "version:2.0", "version:2.1", "expect:match", "expect:no-match", "expect:error-parse",
             "expect:error-matcher", "data:number_observed>1"] +
            ["sco:" + t for t in ("ipv4-addr", "ipv6-addr", "domain-name", "url", "file", "network-traffic",
                                  "email-message", "process", "x509-certificate", "user-account",
                                  "windows-registry-key")])

MAX_ERROR_FRACTION = 0.045
DELIBERATE_ERROR_RATE = 0.03


def make_case(seed, index, attempt, p_true):
    rng = random.Random("%s:%d:%d" % (seed, index, attempt))
    version = "2.1" if rng.random() < 0.7 else "2.0"
    cg = CaseGen(rng, version, p_true)
    cg.build_observations()
    pattern = cg.gen_pattern()
    obs = cg.serialize()
    deliberate = None
    if rng.random() < DELIBERATE_ERROR_RATE:
        pattern, obs, deliberate = deliberate_error(cg, pattern, obs)
    data_tags = list(dict.fromkeys(cg.data_tags))
    types = []
    for od in cg.ods:
        for n in od.nodes:
            if n.type not in types:
                types.append(n.type)
    data_tags += ["sco:" + t for t in types]
    data_tags.append("data:observed-data=%d" % len(cg.ods))
    return {"pattern": pattern, "observations": obs, "stix_version": version}, deliberate, data_tags


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)


def cmd_generate(args):
    _load_reference()
    t0 = time.time()
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if os.path.commonpath([os.path.abspath(args.out), REPO]) == REPO and \
            os.path.commonpath([os.path.abspath(args.out), os.path.join(REPO, "target")]) != os.path.join(REPO, "target"):
        die("refusing to write the case file inside the repository (use /tmp or target/)")
    os.makedirs(out_dir, exist_ok=True)
    coverage = collections.Counter()
    matched_cov = collections.Counter()
    errors = matched = nonerr = 0
    timeouts = budget_rejects = 0
    error_kinds = collections.Counter()
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        for i in range(args.count):
            attempt = 0
            while True:
                p_true = 0.7
                if nonerr >= 20:
                    rate = matched / nonerr
                    p_true = min(0.95, max(0.4, 0.7 + (0.45 - rate) * 2.5))
                req, deliberate, data_tags = make_case(args.seed, i, attempt, p_true)
                obs_text = json.dumps(req["observations"], ensure_ascii=False, separators=(",", ":"))
                try:
                    expect, tags, note = run_reference(req["pattern"], obs_text, req["stix_version"])
                except Timeout:
                    timeouts += 1
                    attempt += 1
                    continue
                if "error" in expect and errors + 1 > MAX_ERROR_FRACTION * (i + 1) + 1:
                    budget_rejects += 1
                    attempt += 1
                    continue
                break
            if "error" in expect:
                errors += 1
                error_kinds["%s (%s)" % (expect["error"], deliberate or "natural")] += 1
            else:
                nonerr += 1
                matched += expect["matched"]
            all_tags = list(tags) + data_tags + ["version:" + req["stix_version"]]
            if "error" in expect:
                all_tags.append("expect:error-" + expect["error"])
            else:
                all_tags.append("expect:match" if expect["matched"] else "expect:no-match")
            if deliberate:
                all_tags.append("deliberate:" + deliberate)
            if note:
                all_tags.append(note)
            for t in all_tags:
                coverage[t] += 1
                if expect.get("matched"):
                    matched_cov[t] += 1
            rec = {"id": "s%d-%05d" % (args.seed, i), "pattern": req["pattern"],
                   "observations": req["observations"], "stix_version": req["stix_version"],
                   "expect": expect, "tags": all_tags}
            fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
            if args.progress and (i + 1) % 1000 == 0:
                print("  %d cases, %.1f s" % (i + 1, time.time() - t0), file=sys.stderr)
    os.replace(tmp, args.out)
    elapsed = time.time() - t0
    size = os.path.getsize(args.out)

    print("wrote %d cases to %s (%.1f MB) in %.1f s" % (args.count, args.out, size / 1e6, elapsed))
    print("reference: %d matched, %d not matched (match rate %.1f %% of non-error cases), %d errors (%.1f %%)"
          % (matched, nonerr - matched, 100.0 * matched / max(nonerr, 1), errors, 100.0 * errors / args.count))
    print("regenerated: %d after a reference timeout (> 1 s), %d over the error budget" % (timeouts, budget_rejects))
    print("errors by kind:")
    for k, v in sorted(error_kinds.items(), key=lambda kv: -kv[1]):
        print("  %5d  %s" % (v, k))
    print()
    print("%-34s %7s %8s" % ("coverage (required)", "cases", "matched"))
    missing = []
    for t in REQUIRED:
        n = coverage.get(t, 0)
        print("%-34s %7d %8d%s" % (t, n, matched_cov.get(t, 0), "   <-- MISSING" if n == 0 else ""))
        if n == 0:
            missing.append(t)
    print()
    print("other features:")
    for t in sorted(coverage):
        if t not in REQUIRED and not t.startswith("type:"):
            print("  %-40s %7d %8d" % (t, coverage[t], matched_cov.get(t, 0)))
    if missing:
        print("\nFAIL: required features never generated: %s" % ", ".join(missing))
        return 1
    return 0


# ---------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------


class Engine:
    """One long-lived `watchpost pattern eval` process: one line in, one line out.

    Writing and reading happen on helper threads, so a hung or crashed engine
    costs one timeout, never a stuck harness."""

    def __init__(self, binary, timeout):
        self.binary = binary
        self.timeout = timeout
        self.proc = None
        self.restarts = -1
        self.stderr_file = tempfile.TemporaryFile()
        self.start()

    def start(self):
        self.restarts += 1
        self.stderr_file.seek(0)
        self.stderr_file.truncate()
        self.proc = subprocess.Popen([self.binary, "pattern", "eval"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr_file, cwd=REPO)
        self.lines = queue.Queue()
        self.requests = queue.Queue()
        threading.Thread(target=self._reader, args=(self.proc, self.lines), daemon=True).start()
        threading.Thread(target=self._writer, args=(self.proc, self.requests), daemon=True).start()

    @staticmethod
    def _reader(proc, q):
        try:
            for line in proc.stdout:
                q.put(line)
        except (OSError, ValueError):
            pass
        q.put(None)

    @staticmethod
    def _writer(proc, q):
        while True:
            data = q.get()
            if data is None:
                break
            try:
                proc.stdin.write(data)
                proc.stdin.flush()
            except (OSError, ValueError):
                break

    def stderr_tail(self):
        self.stderr_file.seek(0)
        data = self.stderr_file.read()
        return data[-600:].decode("utf-8", "replace").strip()

    def ask(self, request_line):
        """Returns (answer_text or None, failure or None)."""
        self.requests.put(request_line.encode("utf-8"))
        try:
            line = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            self.restart()
            return None, "timeout (no answer within %.0f s)" % self.timeout
        if line is None:
            try:
                code = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = "?"
            tail = self.stderr_tail()
            self.restart()
            return None, "crash (exit %s): %s" % (code, tail)
        return line.decode("utf-8", "replace"), None

    def stop(self):
        self.requests.put(None)
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:
            pass

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.requests.put(None)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def compare(expect, got):
    """Returns (verdict, detail, order_warning). verdict: 'agree' or a disagreement kind."""
    if not isinstance(got, dict):
        return "bad-output", "answer is not a JSON object", False
    if "error" in got:
        err = got["error"]
        kind = err.get("kind") if isinstance(err, dict) else None
        if kind not in ("syntax", "semantic", "input"):
            return "bad-output", "error without a valid kind", False
        if "error" not in expect:
            return "unexpected-error", "we reported a %s error, the reference %s" % (
                kind, "matched" if expect["matched"] else "did not match"), False
        if expect["error"] == "parse" and kind not in ("syntax", "semantic"):
            return "error-kind", "reference parse error, our error kind is %r" % kind, False
        return "agree", None, False
    if "matched" not in got or not isinstance(got["matched"], bool):
        return "bad-output", "no boolean 'matched'", False
    if "error" in expect:
        return "missing-error", "reference %s error, we answered matched=%s" % (expect["error"], got["matched"]), False
    if got["matched"] != expect["matched"]:
        return "verdict", "reference matched=%s, we matched=%s" % (expect["matched"], got["matched"]), False
    if got["matched"]:
        ours = got.get("sdos")
        if not isinstance(ours, list):
            return "bad-output", "matched without an 'sdos' list", False
        if sorted(map(str, ours)) != sorted(expect["sdos"]):
            return "sdos", "first binding differs", False
        return "agree", None, ours != expect["sdos"]
    return "agree", None, False


def compact_obs(case, width=160):
    def short(o):
        o = {k: v for k, v in o.items() if k not in ("spec_version", "id", "created", "modified")}
        s = json.dumps(o, ensure_ascii=False, separators=(",", ":"))
        return s if len(s) <= width else s[:width - 3] + "..."

    lines = []
    obs = case["observations"]
    if case["stix_version"] == "2.0":
        for i, sdo in enumerate(obs):
            lines.append("  #%d %s %s..%s n=%s" % (i, sdo.get("id"), sdo.get("first_observed"), sdo.get("last_observed"),
                                                   sdo.get("number_observed")))
            for k, o in (sdo.get("objects") or {}).items():
                lines.append("      %s: %s" % (k, short(o)))
        return "\n".join(lines)
    allobjs = [o for b in obs for o in b.get("objects", [])]
    byid = {}
    for o in allobjs:
        if o.get("type") != "observed-data":
            byid[o.get("id")] = o
    ods = [o for o in allobjs if o.get("type") == "observed-data"]
    lines.append("  (%d bundle(s))" % len(obs))
    for i, od in enumerate(ods):
        lines.append("  #%d %s %s..%s n=%s" % (i, od.get("id"), od.get("first_observed"), od.get("last_observed"),
                                               od.get("number_observed")))
        for ref in od.get("object_refs", []):
            o = byid.get(ref)
            lines.append("      %s: %s" % (ref[:ref.find("--") + 10] if "--" in ref else ref,
                                           short(o) if o else "<not in any bundle>"))
    return "\n".join(lines)


ALLOW_KEYS = ("id", "pattern_regex", "message_regex", "stix_version", "kind", "reason")


def load_allow(path):
    """Allow entries: {"id" | "pattern_regex" | "message_regex", "reason"}, optionally
    narrowed by "stix_version" and "kind" (a disagreement kind such as "verdict",
    "sdos", "missing-error", or a list of them); every field given must match."""
    if not path:
        return []
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, list):
        die("allow file must hold a JSON list")
    out = []
    for e in data:
        if (not isinstance(e, dict) or not any(k in e for k in ("id", "pattern_regex", "message_regex"))
                or "reason" not in e or set(e) - set(ALLOW_KEYS)):
            die("allow entries need 'id', 'pattern_regex' or 'message_regex', and 'reason' (optional: "
                "'stix_version', 'kind'): %r" % (e,))
        out.append({"id": e.get("id"),
                    "rx": re.compile(e["pattern_regex"]) if e.get("pattern_regex") else None,
                    "mrx": re.compile(e["message_regex"]) if e.get("message_regex") else None,
                    "version": e.get("stix_version"),
                    "kind": [e["kind"]] if isinstance(e.get("kind"), str) else e.get("kind"),
                    "reason": e["reason"], "used": 0, "raw": e})
    return out


def allowed_by(allow, case, verdict):
    message = case["expect"].get("message", "")
    for e in allow:
        if e["id"] is not None and e["id"] != case["id"]:
            continue
        if e["rx"] is not None and not e["rx"].search(case["pattern"]):
            continue
        if e["mrx"] is not None and not e["mrx"].search(message):
            continue
        if e["version"] is not None and e["version"] != case["stix_version"]:
            continue
        if e["kind"] is not None and verdict not in e["kind"]:
            continue
        e["used"] += 1
        return e
    return None


def cmd_check(args):
    binary = args.binary or os.environ.get("WATCHPOST_BIN") or "target/debug/watchpost"
    if not os.path.isabs(binary):
        binary = os.path.join(REPO, binary)
    if not os.path.exists(binary):
        die("binary not found: %s (build it, or pass --binary / WATCHPOST_BIN)" % binary)
    allow = load_allow(args.allow)
    engine = Engine(binary, args.timeout)
    total = agree = allowed_n = order_warn = 0
    by_kind = collections.Counter()
    by_tag = collections.defaultdict(lambda: [0, 0, 0])  # agree, disagree, allowed
    reports = []
    consecutive_failures = 0
    aborted = False
    t0 = time.time()
    with open(args.cases, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if args.limit and total >= args.limit:
                break
            case = json.loads(line)
            req = json.dumps({"pattern": case["pattern"], "observations": case["observations"],
                              "stix_version": case["stix_version"]}, ensure_ascii=False, separators=(",", ":"))
            answer, failure = engine.ask(req + "\n")
            total += 1
            got = None
            if failure:
                verdict, detail, warn = failure.split(" ", 1)[0], failure, False
                consecutive_failures += 1
                if consecutive_failures >= args.max_failures:
                    print("aborting: %d consecutive crashes/timeouts (last: %s, case %s)"
                          % (consecutive_failures, failure, case["id"]), file=sys.stderr)
                    aborted = True
            else:
                consecutive_failures = 0
                try:
                    got = json.loads(answer)
                    verdict, detail, warn = compare(case["expect"], got)
                except ValueError:
                    verdict, detail, warn = "bad-output", "not JSON: %r" % answer[:200], False
            order_warn += warn
            tags = [t for t in case.get("tags", []) if t.split(":", 1)[0] in ("op", "qual", "obs", "cmp", "version", "expect")]
            if verdict == "agree":
                agree += 1
                for t in tags:
                    by_tag[t][0] += 1
                continue
            entry = allowed_by(allow, case, verdict)
            if entry:
                allowed_n += 1
                by_kind["allowed " + verdict] += 1
                for t in tags:
                    by_tag[t][2] += 1
                continue
            by_kind[verdict] += 1
            for t in tags:
                by_tag[t][1] += 1
            if len(reports) < args.max_report:
                reports.append((case, verdict, detail, got, answer))
            if aborted:
                break
    if aborted:
        engine.stop()
    else:
        engine.close()
    elapsed = time.time() - t0
    disagree = total - agree - allowed_n

    print("checked %d cases against %s in %.1f s (%d restart(s))" % (total, binary, elapsed, engine.restarts))
    print("agree %d, disagree %d, allowed %d; sdos order differs (warning only) in %d matched case(s)"
          % (agree, disagree, allowed_n, order_warn))
    if by_kind:
        print("\ndisagreements by kind:")
        for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1]):
            print("  %6d  %s" % (v, k))
    print("\n%-28s %7s %9s %8s" % ("feature", "agree", "disagree", "allowed"))
    order = {"version": 0, "expect": 1, "op": 2, "cmp": 3, "obs": 4, "qual": 5}
    for t in sorted(by_tag, key=lambda t: (order.get(t.split(":")[0], 9), t)):
        a, d, al = by_tag[t]
        print("%-28s %7d %9d %8d%s" % (t, a, d, al, "   <--" if d else ""))
    if reports:
        print("\nfirst %d disagreement(s):" % len(reports))
    for case, verdict, detail, got, answer in reports:
        print("\n--- %s [%s] STIX %s: %s" % (case["id"], verdict, case["stix_version"], detail))
        print("  pattern:   %s" % case["pattern"])
        print("  reference: %s" % json.dumps(case["expect"], ensure_ascii=False))
        print("  watchpost: %s" % (json.dumps(got, ensure_ascii=False) if got is not None
                                   else (answer.strip() if answer else "-")))
        print(compact_obs(case))
    stale = [e["raw"] for e in allow if e["used"] == 0]
    if stale:
        print("\nallow entries that matched no disagreement (%d): %s" % (
            len(stale), json.dumps(stale, ensure_ascii=False)))
    if aborted:
        print("\nABORTED after case %d: the engine keeps crashing or hanging" % total)
    return 1 if disagree or aborted else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    g = sub.add_parser("generate", help="generate cases and record the reference's answers")
    g.add_argument("--seed", type=int, default=11)
    g.add_argument("--count", type=int, default=12000)
    g.add_argument("--out", required=True, help="output JSON lines file (in /tmp or target/, never in the repo)")
    g.add_argument("--progress", action="store_true", help="print progress to stderr every 1000 cases")
    c = sub.add_parser("check", help="compare `watchpost pattern eval` with the recorded answers")
    c.add_argument("--cases", required=True)
    c.add_argument("--binary", help="engine binary (default $WATCHPOST_BIN or target/debug/watchpost, "
                                    "relative to the repository root)")
    c.add_argument("--allow", help="JSON list of known disagreements: {\"id\" | \"pattern_regex\" | "
                                   "\"message_regex\", \"reason\"[, \"stix_version\", \"kind\"]}")
    c.add_argument("--max-report", type=int, default=20)
    c.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for one answer line")
    c.add_argument("--limit", type=int, default=0, help="check only the first N cases")
    c.add_argument("--max-failures", type=int, default=5,
                   help="abort after this many consecutive crashes/timeouts (default 5)")
    args = ap.parse_args(argv)
    if hasattr(signal, "SIGPIPE"):  # quiet exit when piped into head/less
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if args.mode == "generate":
        return cmd_generate(args)
    return cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
