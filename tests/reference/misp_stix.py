"""MISP events through the reference converter misp-stix (MISP -> STIX 2.1).

Usage: misp_stix.py --out FILE EVENT.json...
Writes one JSON line per input file: {"file": name, "objects": [...]} with every STIX object
misp-stix produced for the file's events (a `{"response": [...]}` list is split into events)
and "errors", what misp-stix raised for the events it could not convert.
"""
import argparse
import json
import os

from misp_stix_converter import MISPtoSTIX21Parser


def events(document):
    if isinstance(document, dict) and "response" in document:
        return document["response"]
    if isinstance(document, list):
        return document
    return [document]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    with open(args.out, "w") as out:
        for path in args.files:
            with open(path) as f:
                document = json.load(f)
            objects, errors = [], []
            for event in events(document):
                parser = MISPtoSTIX21Parser()
                try:
                    parser.parse_misp_event(event)
                    objects.extend(json.loads(parser.bundle.serialize())["objects"])
                except Exception as e:  # the reference fails on some real events
                    errors.append(f"{type(e).__name__}: {e}"[:300])
            line = {"file": os.path.basename(path), "objects": objects, "errors": errors}
            out.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
