"""Drives a Watchpost hub with the OASIS Python TAXII client (taxii2-client 2.3.0), the way
OpenCTI and analysts' scripts do: discovery, API root, collections, add objects and poll the
status, get with every filter, page with `next`, manifest, versions, delete.

    python taxii_interop.py DISCOVERY_URL USER PASSWORD COLLECTION_ID

Prints one line per step; exits non-zero (with the assertion) on the first disagreement.
"""
import json
import sys

from requests.exceptions import HTTPError
from taxii2client.v21 import Server, as_pages

url, user, password, collection_id = sys.argv[1:5]


def indicator(n, modified="2025-01-01T00:00:00.000Z", kind="domain-name"):
    value = f"host{n}.example.net" if kind == "domain-name" else f"198.51.100.{n}"
    return {
        "type": "indicator", "spec_version": "2.1",
        "id": f"indicator--{n:08x}-2222-4222-8222-222222222222",
        "created": "2025-01-01T00:00:00.000Z", "modified": modified,
        "pattern": f"[{kind}:value = '{value}']", "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z",
    }


def step(name, detail=""):
    print(f"ok  {name} {detail}".rstrip(), flush=True)


server = Server(url, user=user, password=password)
assert server.title == "Watchpost", server.title
assert len(server.api_roots) == 1 and server.default is not None
step("discovery", server.default.url)

root = server.default
assert "application/taxii+json;version=2.1" in root.versions, root.versions
assert root.max_content_length > 0
step("api root", f"max_content_length={root.max_content_length}")

matches = [c for c in root.collections if c.id == collection_id]
assert len(matches) == 1, [c.id for c in root.collections]
coll = matches[0]
assert coll.can_read and coll.can_write
assert "application/stix+json;version=2.1" in coll.media_types
step("collections", coll.title)

domains = [indicator(n) for n in range(20)]
addresses = [indicator(100 + n, kind="ipv4-addr") for n in range(10)]
newer = indicator(0, modified="2025-06-01T00:00:00.000Z")
bad = dict(indicator(999), pattern="[domain-name:value = ")
status = coll.add_objects(json.dumps({"objects": domains + addresses + [bad]}))
assert status.status == "complete", status.status
assert (status.total_count, status.success_count, status.failure_count) == (31, 30, 1), status._raw
assert status.failures[0]["id"] == bad["id"] and "pattern" in status.failures[0]["message"]
status.refresh()
assert status.success_count == 30
again = root.get_status(status.id)
assert again.id == status.id and again.failure_count == 1
step("add objects + status", f"{status.success_count} stored, 1 refused: {status.failures[0]['message'][:60]}")

second = coll.add_objects(json.dumps({"objects": [newer]}))
assert second.success_count == 1

def ids(envelope):
    return [o["id"] for o in envelope.get("objects", [])]

everything = coll.get_objects()
assert len(ids(everything)) == 30 and everything["more"] is False
first_id = domains[0]["id"]
latest = [o for o in everything["objects"] if o["id"] == first_id]
assert latest[0]["modified"] == "2025-06-01T00:00:00.000Z", latest
step("get objects", f"{len(ids(everything))} objects, latest versions")

assert ids(coll.get_objects(id=first_id)) == [first_id]
assert len(ids(coll.get_objects(id=[first_id, addresses[0]["id"]]))) == 2
assert len(ids(coll.get_objects(type="indicator"))) == 30
assert ids(coll.get_objects(type="malware")) == []
assert len(ids(coll.get_objects(spec_version="2.1"))) == 30
assert ids(coll.get_objects(spec_version="2.0")) == []
versions_all = coll.get_objects(id=first_id, version="all")
assert [o["modified"] for o in versions_all["objects"]] == ["2025-01-01T00:00:00.000Z", "2025-06-01T00:00:00.000Z"]
assert [o["modified"] for o in coll.get_objects(id=first_id, version="first")["objects"]] == ["2025-01-01T00:00:00.000Z"]
assert [o["modified"] for o in coll.get_objects(id=first_id, version="last")["objects"]] == ["2025-06-01T00:00:00.000Z"]
exact = coll.get_objects(id=first_id, version="2025-01-01T00:00:00.000Z")
assert [o["modified"] for o in exact["objects"]] == ["2025-01-01T00:00:00.000Z"]
manifest = coll.get_manifest()
cut = manifest["objects"][19]["date_added"]
after = coll.get_objects(added_after=cut)
assert ids(after) == [o["id"] for o in manifest["objects"][20:]], (ids(after), cut)
step("filters", "match[id], match[type], match[spec_version], match[version]=all|first|last|timestamp, added_after")

paged = []
pages = 0
for envelope in as_pages(coll.get_objects, per_request=7):
    pages += 1
    paged.extend(ids(envelope))
assert pages == 5 and sorted(paged) == sorted(ids(everything)) and len(set(paged)) == 30, (pages, len(paged))
manifest_paged = []
for envelope in as_pages(coll.get_manifest, per_request=8):
    manifest_paged.extend(ids(envelope))
assert manifest_paged == [o["id"] for o in manifest["objects"]]
step("paging with next", f"{pages} pages of 7 objects; manifest in pages of 8")

entry = [o for o in manifest["objects"] if o["id"] == first_id][0]
assert entry["version"] == "2025-06-01T00:00:00.000Z" and entry["media_type"] == "application/stix+json;version=2.1"
assert len(manifest["objects"]) == 30
step("manifest", f"{len(manifest['objects'])} entries")

versions = coll.object_versions(first_id)
assert versions["versions"] == ["2025-01-01T00:00:00.000Z", "2025-06-01T00:00:00.000Z"], versions
one = coll.get_object(first_id)
assert [o["modified"] for o in one["objects"]] == ["2025-06-01T00:00:00.000Z"]
step("versions + get object", ", ".join(versions["versions"]))

coll.delete_object(first_id, version="2025-06-01T00:00:00.000Z")
assert coll.object_versions(first_id)["versions"] == ["2025-01-01T00:00:00.000Z"]
coll.delete_object(first_id)
try:
    coll.get_object(first_id)
    raise AssertionError("a deleted object is still served")
except HTTPError as e:
    assert e.response.status_code == 404
    error = e.response.json()
    assert error["http_status"] == "404" and error["title"]
assert len(ids(coll.get_objects())) == 29
step("delete", "one version, then the object; 404 after")
print("taxii2-client interoperability: all steps passed")
