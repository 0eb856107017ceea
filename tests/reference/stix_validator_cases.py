#!/usr/bin/env python3
"""Generate STIX 2.1 validation reference cases with the OASIS validator.

Collects every STIX object from the test data, emits one case per original
object (mutation "none") and a deterministic set of mutated objects (single
faults such as a dropped required property, a malformed id or a bad
timestamp), validates each one with ``stix2validator.validate_instance`` and
writes one JSON line per case:

    {"case": "<source>#<index>/<mutation>", "source": ..., "mutation": ...,
     "object": {...}, "reference_valid": bool, "reference_errors": [...],
     "variant": ..., "detail": ..., "expected_valid": true|false|null}

``variant`` names the concrete change, ``detail`` describes it and
``expected_valid`` is what the STIX 2.1 specification says (our reading, null
for the unmutated originals); it is *not* the reference's answer, which is
``reference_valid``. When one object gets two variants of the same mutation
kind, the second case name ends in ``-2``.

Only objects whose original is valid for the reference (and whose JSON is at
most 32 KB) are mutated, so every mutated case carries exactly one fault (or
none, for the controls ``drop_optional``, ``open_vocab_custom_value``,
``valid_custom_property`` and ``valid_granular_marking``). Mutations are drawn
per (object type, mutation kind) bucket, round-robin over the variants, 4 to 10
cases per bucket, so that the 1,373 ATT&CK relationships do not dominate. The
ATT&CK sample is stratified too: up to 12 objects of every type, relationships
fill the rest. Everything derives from ``--seed``: same seed, same bytes.

Requires Python 3.11 and ``stix2validator`` (tested with 3.3.1); stdlib
otherwise.

stix2-validator 3.3.1 is published without its bundled JSON schemas (upstream
issue oasis-open/cti-stix-validator#248): every validation then fails with
"Cannot locate a schema ... (core.json)". When the bundled schemas are
missing, this script points the validator at ``--schemas`` (default
tests/data/stix-schemas, a verbatim copy of the OASIS cti-stix2-json-schemas
``schemas/`` folder). Bundled schemas, when present, always win.
"""

from __future__ import annotations

import argparse
import collections
import copy
import datetime as dt
import glob
import json
import os
import random
import re
import sys
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_DATA = os.path.join(REPO, "tests", "data", "stix")
DEFAULT_ATTACK = os.path.join(REPO, "tests", "data", "attack", "ics-attack.json")
DEFAULT_SCHEMAS = os.path.join(REPO, "tests", "data", "stix-schemas")

# ---------------------------------------------------------------------------
# STIX 2.1 object model (from the OASIS STIX 2.1 specification)
# ---------------------------------------------------------------------------

COMMON_SDO_REQUIRED = ["type", "spec_version", "id", "created", "modified"]
COMMON_SDO_OPTIONAL = [
    "created_by_ref", "revoked", "labels", "confidence", "lang",
    "external_references", "object_marking_refs", "granular_markings", "extensions",
]
SCO_REQUIRED = ["type", "id"]
SCO_COMMON_OPTIONAL = ["spec_version", "object_marking_refs", "granular_markings", "defanged", "extensions"]

# type -> (extra required properties, other spec-defined properties)
SDO_TYPES = {
    "attack-pattern": (["name"], ["description", "aliases", "kill_chain_phases"]),
    "campaign": (["name"], ["description", "aliases", "first_seen", "last_seen", "objective"]),
    "course-of-action": (["name"], ["description"]),
    "grouping": (["context", "object_refs"], ["name", "description"]),
    "identity": (["name"], ["description", "roles", "identity_class", "sectors", "contact_information"]),
    "incident": (["name"], ["description", "kill_chain_phases"]),
    "indicator": (["pattern", "pattern_type", "valid_from"],
                  ["name", "description", "indicator_types", "pattern_version", "valid_until", "kill_chain_phases"]),
    "infrastructure": (["name"], ["description", "infrastructure_types", "aliases", "kill_chain_phases",
                                  "first_seen", "last_seen"]),
    "intrusion-set": (["name"], ["description", "aliases", "first_seen", "last_seen", "goals", "resource_level",
                                 "primary_motivation", "secondary_motivations"]),
    "location": ([], ["name", "description", "latitude", "longitude", "precision", "region", "country",
                      "administrative_area", "city", "street_address", "postal_code"]),
    "malware": (["is_family"], ["name", "description", "malware_types", "aliases", "kill_chain_phases",
                                "first_seen", "last_seen", "operating_system_refs", "architecture_execution_envs",
                                "implementation_languages", "capabilities", "sample_refs"]),
    "malware-analysis": (["product"], ["version", "host_vm_ref", "operating_system_ref", "installed_software_refs",
                                       "configuration_version", "modules", "analysis_engine_version",
                                       "analysis_definition_version", "submitted", "analysis_started",
                                       "analysis_ended", "result_name", "result", "analysis_sco_refs", "sample_ref"]),
    "note": (["content", "object_refs"], ["abstract", "authors"]),
    "observed-data": (["first_observed", "last_observed", "number_observed"], ["objects", "object_refs"]),
    "opinion": (["opinion", "object_refs"], ["explanation", "authors"]),
    "report": (["name", "published", "object_refs"], ["description", "report_types"]),
    "threat-actor": (["name"], ["description", "threat_actor_types", "aliases", "first_seen", "last_seen", "roles",
                                "goals", "sophistication", "resource_level", "primary_motivation",
                                "secondary_motivations", "personal_motivations"]),
    "tool": (["name"], ["description", "tool_types", "aliases", "kill_chain_phases", "tool_version"]),
    "vulnerability": (["name"], ["description"]),
    "relationship": (["relationship_type", "source_ref", "target_ref"], ["description", "start_time", "stop_time"]),
    "sighting": (["sighting_of_ref"], ["description", "first_seen", "last_seen", "count", "observed_data_refs",
                                       "where_sighted_refs", "summary"]),
}

MARKING_REQUIRED = ["type", "spec_version", "id", "created"]
MARKING_OPTIONAL = ["created_by_ref", "external_references", "object_marking_refs", "granular_markings",
                    "extensions", "name", "definition_type", "definition"]

SCO_TYPES = {
    "artifact": ([], ["mime_type", "payload_bin", "url", "hashes", "encryption_algorithm", "decryption_key"]),
    "autonomous-system": (["number"], ["name", "rir"]),
    "directory": (["path"], ["path_enc", "ctime", "mtime", "atime", "contains_refs"]),
    "domain-name": (["value"], ["resolves_to_refs"]),
    "email-addr": (["value"], ["display_name", "belongs_to_ref"]),
    "email-message": (["is_multipart"], ["date", "content_type", "from_ref", "sender_ref", "to_refs", "cc_refs",
                                         "bcc_refs", "message_id", "subject", "received_lines",
                                         "additional_header_fields", "body", "body_multipart", "raw_email_ref"]),
    "file": ([], ["hashes", "size", "name", "name_enc", "magic_number_hex", "mime_type", "ctime", "mtime", "atime",
                  "parent_directory_ref", "contains_refs", "content_ref"]),
    "ipv4-addr": (["value"], ["resolves_to_refs", "belongs_to_refs"]),
    "ipv6-addr": (["value"], ["resolves_to_refs", "belongs_to_refs"]),
    "mac-addr": (["value"], []),
    "mutex": (["name"], []),
    "network-traffic": (["protocols"], ["start", "end", "is_active", "src_ref", "dst_ref", "src_port", "dst_port",
                                        "src_byte_count", "dst_byte_count", "src_packets", "dst_packets", "ipfix",
                                        "src_payload_ref", "dst_payload_ref", "encapsulates_refs",
                                        "encapsulated_by_ref"]),
    "process": ([], ["is_hidden", "pid", "created_time", "cwd", "command_line", "environment_variables",
                     "opened_connection_refs", "creator_user_ref", "image_ref", "parent_ref", "child_refs"]),
    "software": (["name"], ["cpe", "swid", "languages", "vendor", "version"]),
    "url": (["value"], []),
    "user-account": ([], ["user_id", "credential", "account_login", "account_type", "display_name",
                          "is_service_account", "is_privileged", "can_escalate_privs", "is_disabled",
                          "account_created", "account_expires", "credential_last_changed", "account_first_login",
                          "account_last_login"]),
    "windows-registry-key": ([], ["key", "values", "modified_time", "creator_user_ref", "number_of_subkeys"]),
    "x509-certificate": ([], ["is_self_signed", "hashes", "version", "serial_number", "signature_algorithm",
                              "issuer", "validity_not_before", "validity_not_after", "subject",
                              "subject_public_key_algorithm", "subject_public_key_modulus",
                              "subject_public_key_exponent", "x509_v3_extensions"]),
}

TIMESTAMP_PROPS = {
    "created", "modified", "valid_from", "valid_until", "first_seen", "last_seen", "published",
    "first_observed", "last_observed", "start_time", "stop_time", "submitted", "analysis_started",
    "analysis_ended", "ctime", "mtime", "atime", "date", "start", "end", "created_time", "modified_time",
    "account_created", "account_expires", "credential_last_changed", "account_first_login",
    "account_last_login", "validity_not_before", "validity_not_after",
}
# (lower, upper) timestamp pairs where upper must not be earlier than lower.
TIMESTAMP_PAIRS = [("created", "modified"), ("valid_from", "valid_until"), ("first_seen", "last_seen"),
                   ("first_observed", "last_observed"), ("start_time", "stop_time"), ("start", "end"),
                   ("validity_not_before", "validity_not_after")]

# Open vocabularies: any value is allowed (a SHOULD, not a MUST).
OPEN_VOCAB_PROPS = {
    "indicator_types", "malware_types", "tool_types", "report_types", "threat_actor_types",
    "infrastructure_types", "identity_class", "sectors", "roles", "resource_level", "primary_motivation",
    "secondary_motivations", "sophistication", "relationship_type", "goals",
}
OPEN_VOCAB_LIST_PROPS = {"indicator_types", "malware_types", "tool_types", "report_types", "threat_actor_types",
                         "infrastructure_types", "sectors", "roles", "secondary_motivations", "goals"}

ALL_TYPES = sorted(list(SDO_TYPES) + list(SCO_TYPES) + ["marking-definition"])

TLP1 = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}

TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$")


def is_sco(obj):
    t = obj.get("type")
    if t in SCO_TYPES:
        return True
    if t in SDO_TYPES or t == "marking-definition":
        return False
    # Unknown (custom) type: SDO-like when it has created/modified.
    return "created" not in obj and "modified" not in obj


def spec_props(obj):
    """(required, optional) spec-defined properties for the object's type."""
    t = obj.get("type")
    if t == "marking-definition":
        return list(MARKING_REQUIRED), list(MARKING_OPTIONAL)
    if t in SDO_TYPES:
        req, opt = SDO_TYPES[t]
        return COMMON_SDO_REQUIRED + req, COMMON_SDO_OPTIONAL + opt
    if t in SCO_TYPES:
        req, opt = SCO_TYPES[t]
        return SCO_REQUIRED + req, SCO_COMMON_OPTIONAL + opt
    if is_sco(obj):
        return list(SCO_REQUIRED), list(SCO_COMMON_OPTIONAL)
    return list(COMMON_SDO_REQUIRED), list(COMMON_SDO_OPTIONAL)


def conditionally_required(obj):
    """Properties that are optional in general but required in this object."""
    t = obj.get("type")
    out = set()
    if t == "malware" and obj.get("is_family") is True:
        out.add("name")
    if t == "marking-definition":
        if "extensions" not in obj:
            out.update({"definition_type", "definition"})
        if "definition_type" not in obj:
            out.add("extensions")

    def one_of(props):
        present = [p for p in props if p in obj]
        if len(present) == 1:
            out.add(present[0])

    if t == "observed-data":
        one_of(["objects", "object_refs"])
    if t == "file":
        one_of(["hashes", "name"])
    if t == "network-traffic":
        one_of(["src_ref", "dst_ref"])
    if t == "artifact":
        one_of(["payload_bin", "url"])
        if "url" in obj:
            out.add("hashes")
    if t == "malware-analysis":
        one_of(["result", "analysis_sco_refs"])
    if t == "location":
        if "latitude" in obj:
            out.add("longitude")
        if "longitude" in obj:
            out.add("latitude")
        anchors = [p for p in ("region", "country") if p in obj]
        if not anchors:
            out.update({"latitude", "longitude"} & set(obj))
        elif len(anchors) == 1 and "latitude" not in obj:
            out.add(anchors[0])
    if t == "x509-certificate":
        props = [p for p in obj if p not in ("type", "id", "spec_version")]
        if len(props) == 1:
            out.add(props[0])
    # SCOs whose ID contributing properties are all optional: an id that is not
    # a UUIDv4 (i.e. was derived from them) needs at least one of them.
    contributing = ID_CONTRIBUTING_OPTIONAL.get(t)
    if contributing and not _is_uuid4(obj.get("id", "")):
        one_of(contributing)
    # The TLP 1.0 marking definitions are fixed objects: every property is part of them.
    if is_tlp_marking(obj):
        out.update(obj)
    # A granular marking selector must point at an existing property.
    for gm in obj.get("granular_markings", []) or []:
        for sel in gm.get("selectors", []) or []:
            out.add(sel.split(".")[0])
    return out


ID_CONTRIBUTING_OPTIONAL = {
    "artifact": ["hashes", "payload_bin"],
    "email-message": ["from_ref", "subject", "body"],
    "user-account": ["account_type", "user_id", "account_login"],
    "windows-registry-key": ["key", "values"],
    "x509-certificate": ["hashes", "serial_number"],
}


def _is_uuid4(identifier):
    try:
        return uuid.UUID(identifier.partition("--")[2]).version == 4
    except ValueError:
        return False


def is_tlp_marking(obj):
    return obj.get("type") == "marking-definition" and obj.get("definition_type") == "tlp"


def obj_kind(obj):
    if obj.get("type") == "marking-definition":
        return "marking"
    return "sco" if is_sco(obj) else "sdo"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def rand_uuid4(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def rand_id(rng, type_):
    return f"{type_}--{rand_uuid4(rng)}"


def parse_ts(ts):
    m = TS_RE.match(ts) if isinstance(ts, str) else None
    if not m:
        return None
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        value = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    except ValueError:
        return None
    return value, frac or ""


def fmt_ts(value, frac):
    # Keep the original number of fractional digits (with zero fraction).
    digits = len(frac) - 1 if frac else 0
    return value.strftime("%Y-%m-%dT%H:%M:%S") + ("." + "0" * digits if digits else "") + "Z"


def shift_ts(ts, days):
    parsed = parse_ts(ts)
    if parsed is None:
        return None
    value, frac = parsed
    # Drop the sub-second part so that the shift is exact; keep its width.
    return fmt_ts(value + dt.timedelta(days=days), frac)


def timestamp_props(obj):
    return [p for p in obj if p in TIMESTAMP_PROPS and isinstance(obj[p], str) and parse_ts(obj[p])]


# ---------------------------------------------------------------------------
# mutation kinds: each returns a list of (variant, detail, object, expected_valid)
# ---------------------------------------------------------------------------

def m_drop_required(obj, rng):
    req, _ = spec_props(obj)
    cond = conditionally_required(obj) - {"spec_version"}
    out = []
    for p in req:
        if p == "spec_version" or p not in obj:
            continue
        o = copy.deepcopy(obj)
        del o[p]
        out.append((p, f"dropped required property '{p}'", o, False))
    for p in sorted(cond):
        if p in obj and p not in req:
            o = copy.deepcopy(obj)
            del o[p]
            out.append((p, f"dropped conditionally required property '{p}'", o, False))
    return out


def m_drop_optional(obj, rng):
    req, _ = spec_props(obj)
    cond = conditionally_required(obj)
    out = []
    for p in obj:
        if p in req or p in cond or p == "spec_version":
            continue
        o = copy.deepcopy(obj)
        del o[p]
        out.append((p, f"dropped optional property '{p}'", o, True))
    return out


def m_wrong_id_prefix(obj, rng):
    t, _, u = obj["id"].partition("--")
    others = [x for x in ALL_TYPES if x != obj["type"]]
    new = rng.choice(others)
    o = copy.deepcopy(obj)
    o["id"] = f"{new}--{u}"
    return [(new, f"id prefix '{t}--' replaced with '{new}--'", o, False)]


def m_malformed_id(obj, rng):
    t, _, u = obj["id"].partition("--")
    if len(u) != 36:
        return []
    variants = {
        "not_uuid": f"{t}--not-a-uuid",
        "uuid_version_0": f"{t}--{u[:14]}0{u[15:]}",
        "uuid_version_6": f"{t}--{u[:14]}6{u[15:]}",
        "bad_variant": f"{t}--{u[:19]}{rng.choice('07cf')}{u[20:]}",
        "single_dash": f"{t}-{u}",
        "truncated_uuid": f"{t}--{u[:-1]}",
        "no_hyphens": f"{t}--{u.replace('-', '')}",
    }
    out = []
    for name, new in variants.items():
        o = copy.deepcopy(obj)
        o["id"] = new
        out.append((name, f"id set to '{new}'", o, False))
    return out


def _upper_props(obj):
    """Timestamp props that may be moved later without breaking an ordering."""
    lowers = {lo for lo, hi in TIMESTAMP_PAIRS if hi in obj}
    return [p for p in timestamp_props(obj) if p not in lowers]


def m_bad_timestamp(obj, rng):
    props = timestamp_props(obj)
    if not props:
        return []
    out = []

    def add(name, prop, new, detail):
        o = copy.deepcopy(obj)
        o[prop] = new
        out.append((name, f"{detail}: '{prop}' = '{new}'", o, False))

    def pick(candidates):
        return rng.choice(sorted(candidates)) if candidates else None

    p = pick(props)
    v = obj[p]
    add("month_13", p, v[:5] + "13" + v[7:], "month 13")
    p = pick(props)
    v = obj[p]
    add("day_32", p, v[:8] + "32" + v[10:], "day 32")
    p = pick(props)
    v = obj[p]
    add("feb_29_non_leap_year", p, "2015-02-29" + v[10:], "29 February of a non-leap year")
    p = pick(props)
    add("missing_z", p, obj[p][:-1], "no 'Z' time zone designator")
    p = pick(props)
    add("offset_plus_0700", p, obj[p][:-1] + "+07:00", "numeric offset instead of 'Z'")
    p = pick(props)
    v = obj[p]
    add("space_separator", p, v[:10] + " " + v[11:], "space instead of 'T'")
    up = _upper_props(obj)
    p = pick(up)
    if p:
        v = obj[p]
        # 23:59:60 on a day that had no leap second.
        add("leap_second_60", p, v[:11] + "23:59:60" + v[19:], "second 60 (no leap second that day)")
    if obj.get("type") != "marking-definition":
        # Prefer 'created': truncating it cannot put it after 'modified'.
        cm = [q for q in ("created", "modified") if q in obj and "." in obj[q]]
        p = cm[0] if cm else None
        if p:
            v = obj[p]
            add("no_millis", p, v[:19] + "Z", f"'{p}' without millisecond precision")
    return out


def m_modified_before_created(obj, rng):
    if "created" not in obj or "modified" not in obj:
        return []
    parsed = parse_ts(obj["created"])
    if parsed is None:
        return []
    value, frac = parsed
    new = fmt_ts(value - dt.timedelta(days=1), frac if frac else ".000")
    o = copy.deepcopy(obj)
    o["modified"] = new
    return [("minus_1_day", f"modified = created - 1 day = '{new}'", o, False)]


def m_valid_until_not_after_valid_from(obj, rng):
    if obj.get("type") != "indicator" or "valid_from" not in obj or parse_ts(obj["valid_from"]) is None:
        return []
    out = []
    o = copy.deepcopy(obj)
    o["valid_until"] = obj["valid_from"]
    out.append(("equal", "valid_until = valid_from", o, False))
    o = copy.deepcopy(obj)
    o["valid_until"] = shift_ts(obj["valid_from"], -1)
    out.append(("earlier", f"valid_until = valid_from - 1 day = '{o['valid_until']}'", o, False))
    return out


SEEN_TYPES = {"campaign", "intrusion-set", "threat-actor", "infrastructure", "malware", "sighting"}


def m_last_seen_before_first_seen(obj, rng):
    if obj.get("type") not in SEEN_TYPES:
        return []
    o = copy.deepcopy(obj)
    if "first_seen" in obj and parse_ts(obj["first_seen"]):
        o["last_seen"] = shift_ts(obj["first_seen"], -1)
        variant = "last_seen_set"
    elif "last_seen" in obj and parse_ts(obj["last_seen"]):
        o["first_seen"] = shift_ts(obj["last_seen"], 1)
        variant = "first_seen_set"
    elif "created" in obj and parse_ts(obj["created"]):
        o["first_seen"] = obj["created"]
        o["last_seen"] = shift_ts(obj["created"], -1)
        variant = "both_added"
    else:
        return []
    return [(variant, f"first_seen '{o['first_seen']}' > last_seen '{o['last_seen']}'", o, False)]


def m_last_observed_before_first_observed(obj, rng):
    if obj.get("type") != "observed-data" or parse_ts(obj.get("first_observed")) is None:
        return []
    o = copy.deepcopy(obj)
    o["last_observed"] = shift_ts(obj["first_observed"], -1)
    return [("minus_1_day", f"last_observed = first_observed - 1 day = '{o['last_observed']}'", o, False)]


def m_stop_time_not_after_start_time(obj, rng):
    if obj.get("type") != "relationship" or parse_ts(obj.get("created")) is None:
        return []
    out = []
    o = copy.deepcopy(obj)
    o["start_time"] = obj["created"]
    o["stop_time"] = obj["created"]
    out.append(("equal", "start_time = stop_time", o, False))
    o = copy.deepcopy(obj)
    o["start_time"] = obj["created"]
    o["stop_time"] = shift_ts(obj["created"], -1)
    out.append(("earlier", "stop_time = start_time - 1 day", o, False))
    return out


def m_bad_ref_type(obj, rng):
    t = obj.get("type")
    out = []

    def set_ref(prop, target_type, variant=None, index=None):
        if prop not in obj:
            return
        o = copy.deepcopy(obj)
        new = rand_id(rng, target_type)
        if isinstance(o[prop], list):
            i = index if index is not None else rng.randrange(len(o[prop]))
            o[prop][i] = new
        else:
            o[prop] = new
        out.append((variant or f"{prop}->{target_type}", f"'{prop}' points at a {target_type}: '{new}'", o, False))

    set_ref("object_marking_refs", "identity")
    if obj.get("granular_markings"):
        o = copy.deepcopy(obj)
        new = rand_id(rng, "identity")
        o["granular_markings"][0]["marking_ref"] = new
        out.append(("granular_markings.marking_ref->identity",
                    f"granular_markings[0].marking_ref points at an identity: '{new}'", o, False))
    if t != "marking-definition" or "created_by_ref" in obj:
        set_ref("created_by_ref", "malware")
    if t == "relationship":
        set_ref("source_ref", "relationship")
        set_ref("target_ref", rng.choice(["sighting", "marking-definition", "bundle"]), variant="target_ref->sro/meta")
    if t == "sighting":
        set_ref("sighting_of_ref", "sighting")
        set_ref("where_sighted_refs", "malware")
        set_ref("observed_data_refs", "indicator")
    if t == "observed-data":
        set_ref("object_refs", "indicator")
        set_ref("object_refs", "marking-definition", variant="object_refs->marking-definition")
    if t == "directory":
        set_ref("contains_refs", "indicator")
    if t == "file":
        set_ref("parent_directory_ref", "file")
    if t in ("domain-name", "ipv4-addr", "ipv6-addr"):
        set_ref("resolves_to_refs", "malware")
    return out


def _wrong_value(v):
    if isinstance(v, bool):
        return "true" if v else "false", "boolean -> string"
    if isinstance(v, int):
        return str(v), "integer -> string"
    if isinstance(v, float):
        return str(v), "number -> string"
    if isinstance(v, str):
        return 42, "string -> number"
    if isinstance(v, list):
        first = v[0] if v and isinstance(v[0], str) else "x"
        return first, "list -> string"
    if isinstance(v, dict):
        return [v], "object -> list"
    return None, None


def m_wrong_json_type(obj, rng):
    req, opt = spec_props(obj)
    known = set(req) | set(opt)
    out = []
    for p in obj:
        if p not in known or p in ("type", "id", "spec_version", "pattern"):
            continue
        new, what = _wrong_value(obj[p])
        if what is None:
            continue
        o = copy.deepcopy(obj)
        o[p] = new
        out.append((p, f"'{p}' {what}: {json.dumps(new)[:60]}", o, False))
    return out


def m_confidence_out_of_range(obj, rng):
    if obj_kind(obj) != "sdo":
        return []
    out = []
    for value in (101, -1):
        o = copy.deepcopy(obj)
        o["confidence"] = value
        out.append((str(value), f"confidence = {value}", o, False))
    return out


def m_empty_list(obj, rng):
    out = []
    for p, v in obj.items():
        if isinstance(v, list) and v:
            o = copy.deepcopy(obj)
            o[p] = []
            out.append((p, f"'{p}' = []", o, False))
    return out


def m_bad_vocab_value(obj, rng):
    t = obj.get("type")
    out = []
    if t == "marking-definition":
        tlp_id = obj["id"]
        level = "green"
        if tlp_id in TLP1.values():
            level = next(k for k, v in TLP1.items() if v != tlp_id)
        o = {"type": "marking-definition", "spec_version": "2.1", "id": tlp_id,
             "created": "2017-01-20T00:00:00.000Z", "name": f"TLP:{level.upper()}",
             "definition_type": "tlp", "definition": {"tlp": level}}
        out.append(("tlp_wrong_id", f"TLP:{level.upper()} marking with a non-TLP:{level.upper()} id '{tlp_id}'",
                    o, False))
        o = {"type": "marking-definition", "spec_version": "2.1", "id": TLP1["green"],
             "created": "2017-01-20T00:00:00.000Z", "name": "TLP:GREEN",
             "definition_type": "tlp", "definition": {"tlp": "purple"}}
        out.append(("tlp_unknown_level", "TLP marking with definition.tlp = 'purple'", o, False))
    exts = obj.get("extensions")
    if isinstance(exts, dict):
        for key, ext in exts.items():
            if isinstance(ext, dict) and "extension_type" in ext:
                o = copy.deepcopy(obj)
                o["extensions"][key]["extension_type"] = "property-extension-v2"
                out.append(("extension_type", f"extensions['{key}'].extension_type = 'property-extension-v2'",
                            o, False))
                break
    if t == "windows-registry-key":
        o = copy.deepcopy(obj)
        o["values"] = [{"name": "Start", "data": "2", "data_type": "REG_FOO"}]
        out.append(("registry_data_type", "values[0].data_type = 'REG_FOO' (windows-registry-datatype-enum)",
                    o, False))
    return out


def m_open_vocab_custom_value(obj, rng):
    out = []
    if is_tlp_marking(obj):
        return out  # fixed objects: any change makes them invalid
    for p, v in obj.items():
        if p not in OPEN_VOCAB_PROPS:
            continue
        o = copy.deepcopy(obj)
        if p in OPEN_VOCAB_LIST_PROPS and isinstance(v, list):
            o[p] = list(v) + ["acme-custom-value"]
        elif isinstance(v, str):
            o[p] = "acme-custom-value"
        else:
            continue
        out.append((p, f"'{p}' uses the non-vocabulary value 'acme-custom-value' (open vocabulary)", o, True))
    return out


def _ext_ref_hash_variant(obj, rng, algo, value, name):
    refs = obj.get("external_references")
    if not isinstance(refs, list) or not refs:
        return None
    o = copy.deepcopy(obj)
    i = rng.randrange(len(refs))
    o["external_references"][i]["hashes"] = {algo: value}
    return (name, f"external_references[{i}].hashes = {{'{algo}': '{value}'}}", o, False)


def m_bad_hash(obj, rng):
    md5_31 = "".join(rng.choice("0123456789abcdef") for _ in range(31))
    sha256_bad = "".join(rng.choice("0123456789abcdef") for _ in range(62)) + "zz"
    out = []
    if isinstance(obj.get("hashes"), dict):
        for algo, value, name in (("MD5", md5_31, "md5_31_chars"), ("SHA-256", sha256_bad, "sha256_non_hex")):
            o = copy.deepcopy(obj)
            o["hashes"][algo] = value
            out.append((name, f"hashes['{algo}'] = '{value}'", o, False))
    for algo, value, name in (("MD5", md5_31, "ext_ref_md5_31_chars"),
                              ("SHA-256", sha256_bad, "ext_ref_sha256_non_hex")):
        v = _ext_ref_hash_variant(obj, rng, algo, value, name)
        if v:
            out.append(v)
    return out


BAD_CUSTOM_NAMES = ["x_", "ab", "x-custom", "X_CUSTOM", "x.custom", "X-Acme-Prop"]


def m_bad_custom_property_name(obj, rng):
    out = []
    for name in BAD_CUSTOM_NAMES:
        o = copy.deepcopy(obj)
        o[name] = "test"
        out.append((name, f"custom property named '{name}'", o, False))
    return out


def m_valid_custom_property(obj, rng):
    out = []
    if is_tlp_marking(obj):
        return out  # fixed objects: any change makes them invalid
    for name, value in (("x_acme_note", "test"), ("x_acme_score", 5), ("x_acme_tags", ["a", "b"]),
                        ("x_acme_meta", {"source": "unit-test"})):
        o = copy.deepcopy(obj)
        o[name] = value
        out.append((name, f"custom property '{name}' = {json.dumps(value)}", o, True))
    return out


def m_reserved_property(obj, rng):
    o = copy.deepcopy(obj)
    o["severity"] = "high"
    return [("severity", "reserved property 'severity' = 'high'", o, False)]


def _selectable(obj):
    return [p for p in obj if re.fullmatch(r"[a-z0-9_]{3,249}", p) and p != "granular_markings"]


def m_bad_granular_selector(obj, rng):
    out = []

    def with_selector(sel, name, detail):
        o = copy.deepcopy(obj)
        if o.get("granular_markings"):
            o["granular_markings"][0]["selectors"][0] = sel
        else:
            o["granular_markings"] = [{"marking_ref": TLP1["green"], "selectors": [sel]}]
        out.append((name, detail, o, False))

    with_selector("nonexistent_property", "missing_property", "granular marking selector 'nonexistent_property'")
    lists = [p for p in _selectable(obj) if isinstance(obj[p], list) and obj[p]]
    if lists:
        p = rng.choice(sorted(lists))
        sel = f"{p}.[{len(obj[p]) + 5}]"
        with_selector(sel, "index_out_of_range", f"granular marking selector '{sel}' (index out of range)")
    return out


def m_valid_granular_marking(obj, rng):
    props = [p for p in _selectable(obj) if p not in ("type", "id", "spec_version")]
    if not props or obj.get("type") == "marking-definition":
        return []
    p = rng.choice(sorted(props))
    sel = p
    if isinstance(obj[p], list) and obj[p]:
        sel = f"{p}.[{rng.randrange(len(obj[p]))}]"
    o = copy.deepcopy(obj)
    gm = {"marking_ref": TLP1["green"], "selectors": [sel]}
    o.setdefault("granular_markings", [])
    o["granular_markings"] = list(o["granular_markings"]) + [gm]
    return [("existing_selector", f"added a TLP:GREEN granular marking with selector '{sel}'", o, True)]


def m_reserved_type(obj, rng):
    out = []
    o = copy.deepcopy(obj)
    o["type"] = "action"
    out.append(("type_only", "type = 'action' (reserved), id unchanged", o, False))
    o = copy.deepcopy(obj)
    o["type"] = "action"
    o["id"] = "action--" + obj["id"].partition("--")[2]
    out.append(("type_and_id", "type = 'action' (reserved), id prefix 'action--'", o, False))
    return out


def m_bad_spec_version(obj, rng):
    o = copy.deepcopy(obj)
    o["spec_version"] = "2.2"
    return [("2.2", "spec_version = '2.2'", o, False)]


MUTATIONS = [
    ("drop_required", m_drop_required),
    ("drop_optional", m_drop_optional),
    ("wrong_id_prefix", m_wrong_id_prefix),
    ("malformed_id", m_malformed_id),
    ("bad_timestamp", m_bad_timestamp),
    ("modified_before_created", m_modified_before_created),
    ("valid_until_not_after_valid_from", m_valid_until_not_after_valid_from),
    ("last_seen_before_first_seen", m_last_seen_before_first_seen),
    ("last_observed_before_first_observed", m_last_observed_before_first_observed),
    ("stop_time_not_after_start_time", m_stop_time_not_after_start_time),
    ("bad_ref_type", m_bad_ref_type),
    ("wrong_json_type", m_wrong_json_type),
    ("confidence_out_of_range", m_confidence_out_of_range),
    ("empty_list", m_empty_list),
    ("bad_vocab_value", m_bad_vocab_value),
    ("open_vocab_custom_value", m_open_vocab_custom_value),
    ("bad_hash", m_bad_hash),
    ("bad_custom_property_name", m_bad_custom_property_name),
    ("valid_custom_property", m_valid_custom_property),
    ("reserved_property", m_reserved_property),
    ("bad_granular_selector", m_bad_granular_selector),
    ("valid_granular_marking", m_valid_granular_marking),
    ("reserved_type", m_reserved_type),
    ("bad_spec_version", m_bad_spec_version),
]

# Objects larger than this (serialized) are only used unmutated (keeps the output small:
# the ATT&CK x-mitre-collection object alone is ~200 KB).
MAX_MUTATED_OBJECT_BYTES = 32 * 1024

# Per (object type, mutation kind) bucket: how many cases to keep.
BUCKET_MIN = 4
BUCKET_MAX = 10

# ---------------------------------------------------------------------------
# input collection
# ---------------------------------------------------------------------------


def objects_of(doc):
    if isinstance(doc, dict) and isinstance(doc.get("objects"), list):
        return doc["objects"]
    if isinstance(doc, dict) and "type" in doc:
        return [doc]
    return []


def collect(data_dir, attack_file, attack_sample, seed, root):
    items = []  # (source, index, object)
    for path in sorted(glob.glob(os.path.join(data_dir, "**", "*.json"), recursive=True)):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        src = os.path.relpath(path, root).replace(os.sep, "/")
        for i, obj in enumerate(objects_of(doc)):
            if isinstance(obj, dict):
                items.append((src, i, obj))
    if attack_file and attack_sample > 0 and os.path.exists(attack_file):
        with open(attack_file, encoding="utf-8") as f:
            doc = json.load(f)
        src = os.path.relpath(attack_file, root).replace(os.sep, "/")
        objs = objects_of(doc)
        by_type = collections.defaultdict(list)
        for i, obj in enumerate(objs):
            by_type[obj.get("type")].append(i)
        rng = random.Random(f"{seed}:attack-sample")
        # Stratified sample: up to `cap` objects of every type, relationships fill the rest.
        cap = 12
        chosen = []
        for t in sorted(by_type, key=str):
            if t == "relationship":
                continue
            idx = by_type[t]
            chosen += idx if len(idx) <= cap else rng.sample(idx, cap)
        rest = max(0, attack_sample - len(chosen))
        rels = by_type.get("relationship", [])
        chosen += rng.sample(rels, min(rest, len(rels)))
        for i in sorted(chosen):
            items.append((src, i, objs[i]))
    return items


# ---------------------------------------------------------------------------
# reference validator
# ---------------------------------------------------------------------------


def load_reference(schemas_dir):
    import stix2validator
    import stix2validator.validator as v

    builtin = os.path.abspath(os.path.join(os.path.dirname(v.__file__), "schemas-2.1", "schemas"))
    note = f"stix2validator {stix2validator.__version__}: bundled schemas"
    if not os.path.isdir(builtin):
        if not os.path.isfile(os.path.join(schemas_dir, "common", "core.json")):
            sys.exit(f"stix2validator has no bundled schemas and {schemas_dir} has none either")
        original_find_schema = v.find_schema
        ours = os.path.abspath(schemas_dir)

        def find_schema(schema_dir, name):
            if schema_dir is not None and os.path.abspath(schema_dir) == builtin:
                schema_dir = ours
            return original_find_schema(schema_dir, name)

        v.find_schema = find_schema
        note = f"stix2validator {stix2validator.__version__}: bundled schemas missing, using {schemas_dir}"
    options = stix2validator.ValidationOptions(version="2.1", silent=True)

    def validate(obj):
        try:
            res = stix2validator.validate_instance(copy.deepcopy(obj), options)
        except Exception as e:  # noqa: BLE001 - record anything the reference raises
            return False, [f"exception: {type(e).__name__}: {e}"]
        return bool(res.is_valid), [str(e) for e in res.errors]

    return validate, note


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="directory of STIX JSON files (default: tests/data/stix)")
    ap.add_argument("--out", default="-", help="output JSON-lines file (default: stdout)")
    ap.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    ap.add_argument("--attack", default=DEFAULT_ATTACK,
                    help="ATT&CK bundle to sample (default: tests/data/attack/ics-attack.json; '' to skip)")
    ap.add_argument("--attack-sample", type=int, default=150, help="ATT&CK objects to sample (default: 150)")
    ap.add_argument("--schemas", default=DEFAULT_SCHEMAS,
                    help="STIX 2.1 JSON schemas used when stix2validator ships none (default: tests/data/stix-schemas)")
    ap.add_argument("--verbose", action="store_true",
                    help="also list on stderr every case where the reference disagrees with expected_valid")
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    validate, note = load_reference(args.schemas)
    data_dir = os.path.abspath(args.data)
    root = os.path.dirname(data_dir)
    items = collect(data_dir, os.path.abspath(args.attack) if args.attack else "", args.attack_sample, args.seed,
                    root)

    cases = []
    valid_originals = []
    for src, idx, obj in items:
        ok, errs = validate(obj)
        cases.append({"case": f"{src}#{idx}/none", "source": src, "mutation": "none", "object": obj,
                      "reference_valid": ok, "reference_errors": errs, "variant": "none",
                      "detail": "original object", "expected_valid": None})
        if ok and len(json.dumps(obj)) <= MAX_MUTATED_OBJECT_BYTES:
            valid_originals.append((src, idx, obj))

    # Candidate mutations grouped by (object type, mutation kind).
    buckets = collections.defaultdict(list)
    for src, idx, obj in valid_originals:
        for kind, fn in MUTATIONS:
            rng = random.Random(f"{args.seed}:{src}:{idx}:{kind}")
            for variant, detail, mutated, expected in fn(obj, rng):
                buckets[(obj["type"], kind)].append((src, idx, variant, detail, mutated, expected))

    selected = []
    for (otype, kind) in sorted(buckets):
        cands = buckets[(otype, kind)]
        rng = random.Random(f"{args.seed}:select:{otype}:{kind}")
        by_variant = collections.defaultdict(list)
        for c in cands:
            by_variant[c[2]].append(c)
        for lst in by_variant.values():
            rng.shuffle(lst)
        variants = sorted(by_variant)
        rng.shuffle(variants)
        cap = min(BUCKET_MAX, max(BUCKET_MIN, len(variants)))
        # Round-robin over variants, preferring objects not used yet in this bucket.
        used_objs = set()
        picked = []
        pending = [list(by_variant[v]) for v in variants]
        while len(picked) < cap and any(pending):
            for lst in pending:
                if not lst or len(picked) >= cap:
                    continue
                pos = next((k for k, c in enumerate(lst) if (c[0], c[1]) not in used_objs), 0)
                c = lst.pop(pos)
                used_objs.add((c[0], c[1]))
                picked.append(c)
        selected += [(kind,) + c for c in picked]

    selected.sort(key=lambda c: (c[1], c[2], [k for k, _ in MUTATIONS].index(c[0]), c[3]))
    seen_names = collections.Counter()
    for kind, src, idx, variant, detail, mutated, expected in selected:
        base = f"{src}#{idx}/{kind}"
        seen_names[base] += 1
        name = base if seen_names[base] == 1 else f"{base}-{seen_names[base]}"
        ok, errs = validate(mutated)
        cases.append({"case": name, "source": src, "mutation": kind, "object": mutated,
                      "reference_valid": ok, "reference_errors": errs, "variant": variant,
                      "detail": detail, "expected_valid": expected})

    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    try:
        for c in cases:
            out.write(json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()

    # Summary on stderr.
    stats = collections.OrderedDict()
    for kind in ["none"] + [k for k, _ in MUTATIONS]:
        stats[kind] = collections.Counter()
    for c in cases:
        s = stats[c["mutation"]]
        s["cases"] += 1
        s["valid" if c["reference_valid"] else "invalid"] += 1
        if any(e.startswith("exception:") for e in c["reference_errors"]):
            s["exception"] += 1
        if c["expected_valid"] is not None and c["expected_valid"] != c["reference_valid"]:
            s["disagree"] += 1
    err = sys.stderr
    print(note, file=err)
    n_valid = sum(1 for c in cases[:len(items)] if c["reference_valid"])
    print(f"{len(items)} original objects ({n_valid} valid for the reference, {len(valid_originals)} mutated), "
          f"{len(cases) - len(items)} mutated cases, seed {args.seed}", file=err)
    print(f"{'mutation':38} {'cases':>6} {'valid':>6} {'invalid':>8} {'exception':>10} {'!=expected':>11}", file=err)
    for kind, s in stats.items():
        if s["cases"]:
            print(f"{kind:38} {s['cases']:6} {s['valid']:6} {s['invalid']:8} {s['exception']:10} "
                  f"{s['disagree']:11}", file=err)
    total = collections.Counter()
    for s in stats.values():
        total.update(s)
    print(f"{'total':38} {total['cases']:6} {total['valid']:6} {total['invalid']:8} {total['exception']:10} "
          f"{total['disagree']:11}", file=err)
    if args.verbose:
        for c in cases:
            if c["expected_valid"] is not None and c["expected_valid"] != c["reference_valid"]:
                print(f"  {c['case']} [{c['variant']}] {c['detail']}: expected_valid={c['expected_valid']} "
                      f"reference_valid={c['reference_valid']}", file=err)
        for c in cases:
            if c["mutation"] == "none" and not c["reference_valid"]:
                print(f"  original invalid: {c['case']}: {c['reference_errors'][:2]}", file=err)
    print(f"done in {time.monotonic() - t0:.1f}s", file=err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
