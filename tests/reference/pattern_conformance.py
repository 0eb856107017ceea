#!/usr/bin/env python3
"""Run the OASIS STIX patterning reference test suites against Watchpost.

Drives ``$WATCHPOST_BIN pattern eval`` (default ``target/debug/watchpost``
relative to the repository root) through two suites:

* **matcher**: every test module of ``stix2matcher/test/{v20,v21}`` from the
  stix2-matcher 3.0.0 sdist, run unchanged with pytest in this process, with
  ``stix2matcher.matcher.match`` replaced (before the test modules are
  imported) by a shim that sends the case to one long-lived
  ``pattern eval`` process and turns its answer back into what the reference
  returns or raises:

  - ``{"matched": true, "sdos": [...]}`` -> the list of SDOs the reference
    returns: STIX 2.0, the input observed-data dicts named in ``sdos``, in that
    order; STIX 2.1, per id a split bundle ``{"type": "bundle", ...,
    "objects": [<observed-data>, <the SCOs its object_refs name>]}`` like the
    reference's;
  - ``{"matched": false}`` -> ``[]``;
  - ``{"error": {"kind": ...}}`` -> raises ``ParseException`` for ``syntax``,
    ``MatcherException`` for ``input``, and for ``semantic`` an exception that
    is both (the reference raises some semantic errors from its Pattern
    constructor as ParseException, others while matching as
    MatcherException; the interface contract allows either for ``semantic``).

  Tests that never call ``match()`` (they test reference internals such as
  ``_overlap`` or ``_timestamp_intervals_within``) run unchanged and are
  reported separately as "reference-internal".

  The 2.0 tests mostly pass observed-data without an ``id``. The interface
  names the matching observed-data by id, so the shim gives each id-less
  observed-data a deterministic synthetic id (``observed-data--00000000-
  0000-4000-8000-<index>``) in the request and maps the answer back to the
  original dicts (the test sees its own objects, unchanged).

* **validator**: the case lists of ``stix2patterns/test/{v20,v21}`` from the
  stix2-patterns 2.1.2 sdist (collected with pytest, so every parametrize list
  is found: SPEC_CASES, PASS_CASES, FAIL_CASES, TIMESTAMP_PASS_CASES,
  TIMESTAMP_FAIL_CASES, ...), each checked through ``pattern eval`` with
  ``"observations": []`` and ``"mode": "validate"`` (the validator's rules, which
  add hash-literal and duplicate-qualifier checks to the matcher's): a valid pattern must answer ``{"matched": false}``;
  an invalid one must answer an error of kind ``syntax`` or ``semantic``, and
  when the reference message names a position ``line 1:N`` (ANTLR, 0-based)
  the error's ``column`` must be ``N + 1``. The patterns of test_inspector.py
  are all valid and are checked as validity cases; what those tests assert
  (the reference's inspection API) and stix2patterns/test/test_helpers.py
  (a reference helper) are reported as not applicable.

The sdists are fetched with ``python -m pip download --no-deps --no-binary
:all:`` into ``--cache-dir`` (default ``target/reference-sdists``), checked
against pinned SHA-256 digests, unpacked there, and reused on later runs.
Their packages are imported from the unpacked sdists (pytest needs the test
packages to live beside the code they test), so this interpreter needs the
runtime dependencies of stix2-matcher 3.0.0 and stix2-patterns 2.1.2, plus
pytest; installing those two packages brings all of them.

Exit status: 0 when every applicable case passes (failures listed in the
allow file are reported but do not count), 1 when some fail, 2 when the run
could not be set up (sdists, engine missing or not speaking the protocol,
bad allow file, nothing collected).

Usage:
    .venv/bin/python tests/reference/pattern_conformance.py \
        [--bin PATH] [--allow FILE] [--json-out FILE] [--cache-dir DIR] \
        [--suite all|matcher|validator] [-k EXPR] [--timeout SECONDS] \
        [--show-observations]

Requires Python 3.11, pytest, and the dependencies named above.
"""

from __future__ import annotations

import argparse
import collections
import glob
import hashlib
import inspect
import json
import os
import re
import select
import subprocess
import sys
import tarfile
import threading
import time

try:
    import pytest
except ImportError:  # pragma: no cover
    sys.exit("pattern_conformance.py needs pytest (and stix2-matcher==3.0.0, "
             "stix2-patterns==2.1.2 for their dependencies) in this interpreter")

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_BIN = os.path.join("target", "debug", "watchpost")
DEFAULT_CACHE = os.path.join(REPO, "target", "reference-sdists")
DEFAULT_ALLOW = os.path.join(REPO, "tests", "reference", "pattern_conformance_allow.json")

# name, version, sha256 of the sdist as published, top-level package inside.
SDISTS = {
    "stix2-matcher": ("3.0.0", "191e7fad2b733889ff0842c06d8f488d469de234aa8c0175b198eb69f597ccee",
                      "stix2matcher"),
    "stix2-patterns": ("2.1.2", "b2059d36c1fd87740f3facc22a4147cde1e2b0acb8d5e4c08fbf04b1dc553185",
                       "stix2patterns"),
}

MATCHER_TEST_DIRS = ["stix2matcher/test/v20", "stix2matcher/test/v21"]
VALIDATOR_TEST_PATHS = ["stix2patterns/test"]

# stix2patterns test functions, by what their cases mean.
VALIDATOR_VALID_FUNCS = {"test_spec_patterns": "test_input", "test_pass_patterns": "test_input",
                         "test_timestamp_pass_patterns": "test_input"}
VALIDATOR_FAIL_FUNCS = {"test_fail_patterns": ("test_input", "test_output"),
                        "test_timestamp_fail_patterns": ("test_input", "test_output")}
INSPECTOR_FUNCS = {"test_qualifiers": "pattern", "test_observation_ops": "pattern",
                   "test_comparisons": "pattern"}
HELPER_FUNCS = {"test_brackets_check", "test_brackets_check_fail"}

INSPECTOR_NA_REASON = ("asserts the result of the reference's Python inspection API "
                       "(Pattern.inspect(): qualifiers, observation operators, comparisons), "
                       "which pattern eval does not expose; its pattern is checked as a "
                       "validity case instead")
HELPER_NA_REASON = ("tests the reference's Python helper stix2patterns.helpers.brackets_check, "
                    "not a pattern")

ANTLR_POS = re.compile(r"line (\d+):(\d+)")


class SetupError(Exception):
    """The run cannot be set up; exit status 2."""


# ---------------------------------------------------------------------------
# Reference sdists


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _find_archive(cache_dir, name, version):
    stem = re.sub(r"[-_.]+", "[-_.]", name)
    pat = re.compile(rf"^{stem}-{re.escape(version)}\.tar\.gz$", re.I)
    found = [p for p in glob.glob(os.path.join(cache_dir, "*.tar.gz"))
             if pat.match(os.path.basename(p))]
    return found[0] if found else None


def fetch_sdists(cache_dir):
    """Returns {name: unpacked sdist root}, downloading what is missing."""
    os.makedirs(cache_dir, exist_ok=True)
    roots = {}
    for name, (version, sha, pkg) in SDISTS.items():
        archive = _find_archive(cache_dir, name, version)
        if archive and _sha256(archive) != sha:
            print(f"[setup] {os.path.basename(archive)}: digest mismatch, downloading again")
            os.remove(archive)
            archive = None
        if not archive:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   "--disable-pip-version-check", "-q", "-d", cache_dir, f"{name}=={version}"]
            print("[setup] " + " ".join(cmd[2:]))
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if proc.returncode != 0:
                raise SetupError(f"pip download of {name}=={version} failed:\n{proc.stdout}")
            archive = _find_archive(cache_dir, name, version)
            if not archive:
                raise SetupError(f"pip download of {name}=={version} left no sdist in {cache_dir}")
            digest = _sha256(archive)
            if digest != sha:
                raise SetupError(f"{archive}: sha256 {digest}, expected {sha}")
        unpack_dir = os.path.join(cache_dir, "unpacked", f"{name}-{version}")
        marker = os.path.join(unpack_dir, ".unpacked-" + sha)
        if not os.path.exists(marker):
            if os.path.isdir(unpack_dir):
                import shutil
                shutil.rmtree(unpack_dir)
            os.makedirs(unpack_dir)
            with tarfile.open(archive) as tar:
                try:
                    tar.extractall(unpack_dir, filter="data")
                except TypeError:  # Python without extraction filters
                    tar.extractall(unpack_dir)
            open(marker, "w").close()
        tops = [d for d in os.listdir(unpack_dir)
                if os.path.isdir(os.path.join(unpack_dir, d, pkg))]
        if len(tops) != 1:
            raise SetupError(f"{unpack_dir}: cannot find the {pkg} package in the sdist")
        roots[name] = os.path.join(unpack_dir, tops[0])
    return roots


# ---------------------------------------------------------------------------
# The engine process


class EngineFailure(RuntimeError):
    """The engine crashed, timed out, or broke the protocol."""


class Engine:
    """One long-lived `pattern eval` process, restarted after a failure."""

    def __init__(self, argv, timeout):
        self.argv = argv
        self.timeout = timeout
        self.proc = None
        self.buf = b""
        self.stderr_tail = collections.deque(maxlen=40)
        self.starts = 0
        self.requests = 0

    def _start(self):
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, bufsize=0)
        except OSError as e:
            raise EngineFailure(f"cannot start {self.argv}: {e}") from e
        self.starts += 1
        self.buf = b""
        proc = self.proc

        def drain():
            for line in iter(proc.stderr.readline, b""):
                self.stderr_tail.append(line.decode("utf-8", "replace").rstrip("\n"))

        threading.Thread(target=drain, daemon=True).start()

    def _kill(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _fail(self, what):
        rc = self.proc.poll() if self.proc else None
        self._kill()
        tail = "\n".join(list(self.stderr_tail)[-15:])
        msg = what + (f" (exit status {rc})" if rc is not None else "")
        if tail:
            msg += "\n  engine stderr (last lines):\n    " + tail.replace("\n", "\n    ")
        raise EngineFailure(msg)

    def ask(self, request):
        """Sends one request; returns (raw answer line, parsed JSON)."""
        try:
            line = json.dumps(request, ensure_ascii=False, allow_nan=False)
            data = (line + "\n").encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: let JSON escape them
            data = (json.dumps(request, ensure_ascii=True, allow_nan=False) + "\n").encode()
        if self.proc is None or self.proc.poll() is not None:
            self._kill()
            self._start()
        self.requests += 1
        self.stderr_tail.clear()
        fd = self.proc.stdout.fileno()
        if select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 1 << 16)
            if chunk:
                self._fail("engine wrote output nobody asked for (after the previous answer): "
                           f"{(self.buf + chunk).decode('utf-8', 'replace')!r}")
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except OSError as e:
            self._fail(f"engine stopped reading its input: {e}")
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self._fail(f"no answer within {self.timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self._fail("engine closed its output before answering")
            self.buf += chunk
        raw, _, self.buf = self.buf.partition(b"\n")
        raw = raw.decode("utf-8", "replace")
        if self.buf.strip():
            extra = self.buf.decode("utf-8", "replace")
            self._fail(f"engine wrote more than one line for one request: {raw!r} then {extra!r}")
        try:
            parsed = json.loads(raw)
        except ValueError:
            self._fail(f"answer is not JSON: {raw!r}")
        return raw, parsed

    def close(self):
        self._kill()


class Answer:
    """A checked answer: kind is 'match', 'nomatch' or 'error'."""

    def __init__(self, raw, kind, sdos=None, error=None):
        self.raw, self.kind, self.sdos, self.error = raw, kind, sdos, error


def check_answer(raw, obj):
    """Validates the answer's shape; raises EngineFailure on a protocol violation."""
    def bad(why):
        raise EngineFailure(f"protocol violation ({why}): {raw}")

    if not isinstance(obj, dict):
        bad("answer is not a JSON object")
    if "error" in obj:
        if "matched" in obj:
            bad("both 'error' and 'matched'")
        err = obj["error"]
        if not isinstance(err, dict):
            bad("'error' is not an object")
        if err.get("kind") not in ("syntax", "semantic", "input"):
            bad("error kind is not syntax, semantic or input")
        if not isinstance(err.get("message"), str):
            bad("error message is not a string")
        col = err.get("column")
        if col is not None and (not isinstance(col, int) or isinstance(col, bool) or col < 1):
            bad("error column is not a positive integer")
        return Answer(raw, "error", error=err)
    matched = obj.get("matched")
    if matched is False:
        return Answer(raw, "nomatch")
    if matched is True:
        sdos = obj.get("sdos")
        if not isinstance(sdos, list) or not sdos or not all(isinstance(s, str) for s in sdos):
            bad("'matched': true needs 'sdos', a non-empty list of id strings")
        return Answer(raw, "match", sdos=sdos)
    bad("'matched' is neither true nor false")


# ---------------------------------------------------------------------------
# The match() shim

SYNTHETIC_ID = "observed-data--00000000-0000-4000-8000-{:012x}"


class CallRecord:
    def __init__(self, pattern, version, observations, request_obs, injected):
        self.pattern = pattern
        self.version = version
        self.observations = observations
        self.request_obs = request_obs
        self.injected = injected
        self.answer = None      # raw answer line
        self.outcome = None     # what the shim returned / raised


def summarize_observations(rec, full=False):
    obs = rec.request_obs
    parts = []
    if isinstance(obs, list):
        if rec.version == "2.1":
            n_od = n_other = 0
            for b in obs:
                for o in (b.get("objects") if isinstance(b, dict) else None) or []:
                    if isinstance(o, dict) and o.get("type") == "observed-data":
                        n_od += 1
                    else:
                        n_other += 1
            parts.append(f"{len(obs)} bundle(s), {n_od} observed-data, {n_other} other object(s)")
        else:
            parts.append(f"{len(obs)} observed-data")
    if rec.injected:
        parts.append(f"{rec.injected} synthetic id(s) added")
    text = json.dumps(obs, ensure_ascii=False, sort_keys=False)
    if not full and len(text) > 700:
        text = text[:700] + f"... ({len(text)} chars; --show-observations for all)"
    return "; ".join(parts) + "\n      " + text


class Shim:
    def __init__(self, engine, exc_syntax, exc_semantic, exc_input):
        self.engine = engine
        self.exc_syntax = exc_syntax
        self.exc_semantic = exc_semantic
        self.exc_input = exc_input
        self.records = None     # list for the running test, or None
        self.injected_total = 0
        self.duplicate_id_calls = 0
        self.calls = 0

    def _prepare(self, observed_data_sdos, version):
        """Returns (observations to send, id -> [original observed-data], sco map,
        bundle top-level keys, number of synthetic ids)."""
        taken = set()
        ods = []  # (container list, index, dict) of every observed-data

        if version == "2.1":
            send = []
            top = {}
            scos = {}
            for b in observed_data_sdos if isinstance(observed_data_sdos, list) else []:
                if isinstance(b, dict):
                    top.update({k: v for k, v in b.items() if k != "objects"})
                    objs = b.get("objects")
                    if isinstance(objs, list):
                        for o in objs:
                            if not isinstance(o, dict):
                                continue
                            if o.get("type") == "observed-data":
                                ods.append(o)
                            elif isinstance(o.get("id"), str):
                                scos[o["id"]] = o
            top.pop("objects", None)
        else:
            top, scos = {}, {}
            for o in observed_data_sdos if isinstance(observed_data_sdos, list) else []:
                if isinstance(o, dict):
                    ods.append(o)

        for o in ods:
            if isinstance(o.get("id"), str):
                taken.add(o["id"])
        synthetic = {}  # id(original dict) -> synthetic id
        n = 0
        for o in ods:
            if not isinstance(o.get("id"), str):
                while True:
                    n += 1
                    sid = SYNTHETIC_ID.format(n)
                    if sid not in taken:
                        break
                taken.add(sid)
                synthetic[id(o)] = sid

        def with_id(o):
            sid = synthetic.get(id(o))
            if sid is None:
                return o
            o2 = dict(o)
            o2["id"] = sid
            return o2

        if not synthetic:
            send = observed_data_sdos
        elif version == "2.1":
            send = []
            for b in observed_data_sdos:
                if isinstance(b, dict) and isinstance(b.get("objects"), list):
                    b = dict(b)
                    b["objects"] = [with_id(o) if isinstance(o, dict) else o for o in b["objects"]]
                send.append(b)
        else:
            send = [with_id(o) if isinstance(o, dict) else o for o in observed_data_sdos]

        by_id = {}
        for o in ods:
            by_id.setdefault(synthetic.get(id(o), o.get("id")), []).append(o)
        return send, by_id, scos, top, len(synthetic)

    def match(self, pattern, observed_data_sdos, verbose=False, stix_version="2.0"):
        version = "2.1" if stix_version == "2.1" else "2.0"  # as the reference decides
        send, by_id, scos, top, injected = self._prepare(observed_data_sdos, version)
        self.calls += 1
        self.injected_total += injected
        if any(len(v) > 1 for v in by_id.values()):
            self.duplicate_id_calls += 1
        rec = CallRecord(pattern, version, observed_data_sdos, send, injected)
        if self.records is not None:
            self.records.append(rec)
        request = {"pattern": pattern, "observations": send, "stix_version": version}
        try:
            raw, obj = self.engine.ask(request)
            rec.answer = raw
            ans = check_answer(raw, obj)
        except EngineFailure as e:
            rec.outcome = f"engine failure: {e}"
            raise
        if ans.kind == "nomatch":
            rec.outcome = "returned [] (no match)"
            return []
        if ans.kind == "error":
            err = ans.error
            cls = {"syntax": self.exc_syntax, "semantic": self.exc_semantic,
                   "input": self.exc_input}[err["kind"]]
            col = err.get("column")
            msg = f"[{err['kind']}] {err['message']}" + (f" (column {col})" if col else "")
            rec.outcome = f"raised {cls.__name__}: {msg}"
            raise cls(msg)
        result, used = [], set()
        for sid in ans.sdos:
            cands = by_id.get(sid)
            if not cands:
                rec.outcome = f"engine failure: unknown observed-data id {sid!r}"
                raise EngineFailure(f"answer names observed-data {sid!r}, which is not in the "
                                    f"observations: {raw}")
            od = next((c for c in cands if id(c) not in used), None)
            if od is None:
                rec.outcome = f"engine failure: observed-data id {sid!r} named too often"
                raise EngineFailure(f"answer names observed-data {sid!r} more often than the "
                                    f"observations hold it: {raw}")
            used.add(id(od))
            if version == "2.1":
                refs = od.get("object_refs")
                objs = [od] + [scos[r] for r in (refs if isinstance(refs, list) else [])
                               if isinstance(r, str) and r in scos]
                bundle = {"type": "bundle"}
                bundle.update(top)
                bundle["objects"] = objs
                result.append(bundle)
            else:
                result.append(od)
        rec.outcome = f"returned {len(result)} SDO(s): {ans.sdos}"
        return result


# ---------------------------------------------------------------------------
# Results


class Result:
    def __init__(self, suite, case_id, passed, detail="", group=""):
        self.suite = suite
        self.id = case_id
        self.passed = passed
        self.detail = detail
        self.group = group
        self.allowed = None  # reason, when listed in the allow file

    def as_json(self):
        d = {"suite": self.suite, "test": self.id, "group": self.group, "detail": self.detail}
        if self.allowed is not None:
            d["allowed_reason"] = self.allowed
        return d


def _expectation_of(func):
    """What a stix2matcher test function expects, read from its source."""
    try:
        src = inspect.getsource(func)
    except (OSError, TypeError):
        return "see the assertion"
    src = src[src.find("def "):]  # the body, not the parametrize lists
    m = re.search(r"pytest\.raises\((\w+)\)", src)
    if m:
        return f"raises {m.group(1)}"
    if re.search(r"assert not (match|res)\b", src):
        return "no match (empty list)"
    if re.search(r"assert (match|res)\b", src) and "==" not in src:
        return "a match (non-empty list)"
    return "see the assertion"


class MatcherPlugin:
    """Runs the stix2matcher tests with the shim; records one result per test."""

    def __init__(self, shim, show_obs):
        self.shim = shim
        self.show_obs = show_obs
        self.results = []
        self.reports = {}
        self.collect_errors = []
        self.expect_cache = {}
        self.collected = 0

    def pytest_collection_finish(self, session):
        self.collected = len(session.items)

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append((report.nodeid, str(report.longrepr)))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self.shim.records = []
        self.reports[item.nodeid] = []
        try:
            return (yield)
        finally:
            records, self.shim.records = self.shim.records, None
            self.finish_item(item, records)

    def pytest_runtest_logreport(self, report):
        if report.nodeid in self.reports:
            self.reports[report.nodeid].append(report)

    def finish_item(self, item, records):
        reports = self.reports.pop(item.nodeid, [])
        records = records or []
        failed = [r for r in reports if r.failed]
        skipped = [r for r in reports if r.skipped]
        group = "match" if records else "reference-internal"
        if not failed and skipped:
            res = Result("matcher", item.nodeid, False, "skipped (unexpected)", group)
            self.results.append(res)
            return
        if not failed:
            self.results.append(Result("matcher", item.nodeid, True, "", group))
            return
        rep = failed[0]
        crash = getattr(getattr(rep, "longrepr", None), "reprcrash", None)
        crash_msg = crash.message if crash is not None else str(rep.longrepr)
        func = getattr(item, "function", None)
        if func not in self.expect_cache:
            self.expect_cache[func] = _expectation_of(func)
        lines = []
        params = getattr(getattr(item, "callspec", None), "params", None)
        if params:
            lines.append("params: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
        lines.append(f"expected: {self.expect_cache[func]}")
        for rec in records:
            lines.append(f"pattern: {rec.pattern!r} (stix_version {rec.version})")
            lines.append("observations: " + summarize_observations(rec, self.show_obs))
            answered = rec.answer if rec.answer is not None else "(nothing)"
            lines.append(f"engine answered: {answered}")
            lines.append(f"shim: {rec.outcome}")
        if rep.when != "call":
            lines.append(f"failed in {rep.when}")
        lines.append("assertion: " + crash_msg.strip().replace("\n", "\n      "))
        self.results.append(Result("matcher", item.nodeid, False, "\n".join(lines), group))


def _pytest_args(root, cache_dir, extra):
    ini = os.path.join(cache_dir, "pytest-empty.ini")
    if not os.path.exists(ini):
        with open(ini, "w") as f:
            f.write("[pytest]\n")
    return ["-c", ini, "--rootdir", root, "-p", "no:cacheprovider"] + extra


def use_sdist_paths(roots):
    """Puts the unpacked sdists first on sys.path, so that the packages and their
    test packages come from the same place (pytest needs that)."""
    for mod in ("stix2matcher", "stix2patterns"):
        if mod in sys.modules:
            raise SetupError(f"{mod} was imported before the sdist paths were set up")
    for name in ("stix2-patterns", "stix2-matcher"):
        if roots[name] not in sys.path:
            sys.path.insert(0, roots[name])


def import_reference(roots):
    """Imports stix2patterns and stix2matcher from the unpacked sdists."""
    import stix2matcher.matcher
    import stix2patterns.exceptions
    for mod, name in ((stix2matcher, "stix2-matcher"), (stix2patterns, "stix2-patterns")):
        if roots.get(name) and not os.path.abspath(mod.__file__).startswith(roots[name] + os.sep):
            raise SetupError(f"{mod.__name__} imported from {mod.__file__}, "
                             f"not from the sdist at {roots[name]}")
    return stix2matcher.matcher, stix2patterns.exceptions


def run_matcher_suite(engine, roots, cache_dir, kexpr, show_obs):
    matcher_mod, exc_mod = import_reference(roots)
    ParseException = exc_mod.ParseException
    MatcherException = matcher_mod.MatcherException

    class EngineSyntaxError(ParseException):
        """pattern eval answered kind "syntax"."""

    class EngineSemanticError(ParseException, MatcherException):
        """pattern eval answered kind "semantic"."""

    class EngineInputError(MatcherException):
        """pattern eval answered kind "input"."""

    for cls in (EngineSyntaxError, EngineSemanticError, EngineInputError):
        cls.__qualname__ = cls.__name__
        cls.__module__ = __name__
    shim = Shim(engine, EngineSyntaxError, EngineSemanticError, EngineInputError)
    original = matcher_mod.match
    matcher_mod.match = shim.match  # before any test module is imported
    plugin = MatcherPlugin(shim, show_obs)
    root = roots["stix2-matcher"]
    args = _pytest_args(root, cache_dir, ["-q", "-rN", "--tb=no", "-p", "no:warnings"])
    if kexpr:
        args += ["-k", kexpr]
    args += [os.path.join(root, d) for d in MATCHER_TEST_DIRS]
    print(f"\n=== matcher suite: stix2-matcher {SDISTS['stix2-matcher'][0]} "
          f"({', '.join(MATCHER_TEST_DIRS)}) ===", flush=True)
    try:
        rc = pytest.main(args, plugins=[plugin])
    finally:
        matcher_mod.match = original
    sys.stdout.flush()
    if plugin.collect_errors:
        for nodeid, text in plugin.collect_errors:
            plugin.results.append(Result("matcher", nodeid or "(collection)", False,
                                         "collection error:\n" + text, "collection"))
    if not plugin.results and not kexpr:
        raise SetupError(f"matcher suite: pytest collected nothing (exit status {int(rc)})")
    return plugin.results, shim


def collect_validator_cases(roots, cache_dir, kexpr):
    class Collector:
        def __init__(self):
            self.items = []
            self.errors = []

        def pytest_collection_finish(self, session):
            self.items = list(session.items)

        def pytest_collectreport(self, report):
            if report.failed:
                self.errors.append((report.nodeid, str(report.longrepr)))

    root = roots["stix2-patterns"]
    col = Collector()
    args = _pytest_args(root, cache_dir, ["--collect-only", "-p", "no:terminal"])
    if kexpr:
        args += ["-k", kexpr]
    args += [os.path.join(root, p) for p in VALIDATOR_TEST_PATHS]
    pytest.main(args, plugins=[col])
    if col.errors:
        raise SetupError("collecting the stix2patterns tests failed:\n" +
                         "\n".join(f"{n}: {t}" for n, t in col.errors))
    return col.items


def run_validator_suite(engine, roots, cache_dir, kexpr):
    print(f"\n=== validator suite: stix2-patterns {SDISTS['stix2-patterns'][0]} "
          f"({', '.join(VALIDATOR_TEST_PATHS)}) ===", flush=True)
    items = collect_validator_cases(roots, cache_dir, kexpr)
    results = []
    na = collections.Counter()
    na_reasons = {}
    for item in items:
        func = item.originalname or item.name
        params = getattr(getattr(item, "callspec", None), "params", {})
        rel = os.path.relpath(str(item.path), roots["stix2-patterns"])
        version = "2.1" if "/v21/" in f"/{rel}" else "2.0" if "/v20/" in f"/{rel}" else None
        if func in HELPER_FUNCS:
            na["helper"] += 1
            na_reasons["helper"] = HELPER_NA_REASON
            continue
        if version is None:
            results.append(Result("validator", item.nodeid, False,
                                  f"unknown test {func} outside v20/v21: the driver needs updating",
                                  "unclassified"))
            continue
        if func in VALIDATOR_VALID_FUNCS:
            pattern, expect, group = params[VALIDATOR_VALID_FUNCS[func]], None, "valid"
        elif func in VALIDATOR_FAIL_FUNCS:
            pk, ek = VALIDATOR_FAIL_FUNCS[func]
            pattern, expect, group = params[pk], params[ek], "invalid"
        elif func in INSPECTOR_FUNCS:
            pattern, expect, group = params[INSPECTOR_FUNCS[func]], None, "inspector-validity"
            na["inspector"] += 1
            na_reasons["inspector"] = INSPECTOR_NA_REASON
        else:
            results.append(Result("validator", item.nodeid, False,
                                  f"unknown test function {func}: the driver needs updating",
                                  "unclassified"))
            continue
        results.append(check_validator_case(engine, item.nodeid, pattern, version, expect, group))
    passed = sum(r.passed for r in results)
    print(f"{len(results)} validator cases checked: {passed} passed, "
          f"{len(results) - passed} failed", flush=True)
    return results, na, na_reasons


def check_validator_case(engine, case_id, pattern, version, expect, group):
    head = f"pattern: {pattern!r} (stix_version {version})\n"
    if expect is None:
        head += "expected: valid, i.e. {\"matched\": false}\n"
    else:
        head += f"expected: an error (syntax or semantic); reference: {expect!r}\n"
    try:
        request = {"pattern": pattern, "observations": [], "stix_version": version}
        # The inspector tests only parse their patterns (stix2patterns' Pattern class, which
        # is what the matcher uses); the validator tests run the validator's extra rules.
        if group != "inspector-validity":
            request["mode"] = "validate"
        raw, obj = engine.ask(request)
        ans = check_answer(raw, obj)
    except EngineFailure as e:
        return Result("validator", case_id, False, head + f"engine failure: {e}", group)
    head += f"engine answered: {ans.raw}"
    if expect is None:
        ok = ans.kind == "nomatch"
        if ans.kind == "match":
            head += "\n(a match with no observations is a protocol violation)"
        return Result("validator", case_id, ok, "" if ok else head, group)
    if ans.kind != "error":
        return Result("validator", case_id, False, head, group)
    if ans.error["kind"] not in ("syntax", "semantic"):
        return Result("validator", case_id, False,
                      head + "\n(an invalid pattern must be a syntax or semantic error)", group)
    m = ANTLR_POS.search(expect)
    if m:
        want = int(m.group(2)) + 1
        if ans.error.get("column") != want:
            return Result("validator", case_id, False,
                          head + f"\n(column must be {want}: reference position line "
                                 f"{m.group(1)}:{m.group(2)} is 0-based)", group)
    return Result("validator", case_id, True, "", group)


# ---------------------------------------------------------------------------
# Main


def load_allow(path):
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        if os.path.abspath(path) == DEFAULT_ALLOW:
            return {}
        raise SetupError(f"allow file {path} not found")
    except ValueError as e:
        raise SetupError(f"allow file {path}: not JSON: {e}")
    if not isinstance(data, list):
        raise SetupError(f"allow file {path}: must be a JSON list")
    allow = {}
    for i, entry in enumerate(data):
        if (not isinstance(entry, dict) or not isinstance(entry.get("test"), str)
                or not isinstance(entry.get("reason"), str) or not entry["reason"].strip()):
            raise SetupError(f"allow file {path}: entry {i} needs a string 'test' and a "
                             f"non-empty string 'reason'")
        allow[entry["test"]] = entry["reason"]
    return allow


def resolve_bin(arg):
    given = arg or os.environ.get("WATCHPOST_BIN")
    path = given or DEFAULT_BIN
    if not os.path.isabs(path):
        # A given relative path is taken from the current directory when it exists
        # there, else (like the default) from the repository root.
        path = os.path.abspath(path) if given and os.path.exists(path) else os.path.join(REPO, path)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise SetupError(f"engine binary {path} not found or not executable "
                         f"(set WATCHPOST_BIN or --bin; build it with cargo build)")
    return path


def main(argv=None):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace", line_buffering=True)
        except AttributeError:
            pass
    ap = argparse.ArgumentParser(
        description="Run the OASIS stix2-matcher / stix2-patterns test suites against "
                    "`watchpost pattern eval`.")
    ap.add_argument("--bin", help="engine executable, run as `BIN pattern eval` "
                                  "(default: $WATCHPOST_BIN, else target/debug/watchpost)")
    ap.add_argument("--allow", default=DEFAULT_ALLOW,
                    help="JSON list of {\"test\": id, \"reason\": ...}: deliberate differences, "
                         "reported but not failing the run (default: "
                         "tests/reference/pattern_conformance_allow.json; '' for none)")
    ap.add_argument("--json-out", help="write a machine-readable summary here")
    ap.add_argument("--cache-dir", default=DEFAULT_CACHE,
                    help="where the reference sdists are downloaded and unpacked "
                         "(default: target/reference-sdists)")
    ap.add_argument("--suite", choices=("all", "matcher", "validator"), default="all")
    ap.add_argument("-k", dest="kexpr", help="pytest -k expression selecting tests/cases")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds to wait for one answer (default 60)")
    ap.add_argument("--show-observations", action="store_true",
                    help="print the full observations of failing cases")
    args = ap.parse_args(argv)

    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.environ.pop("PYTEST_ADDOPTS", None)
    os.environ.pop("PYTEST_PLUGINS", None)

    engine = None
    try:
        allow = load_allow(args.allow)
        binary = resolve_bin(args.bin)
        roots = fetch_sdists(os.path.abspath(args.cache_dir))
        use_sdist_paths(roots)
        engine = Engine([binary, "pattern", "eval"], args.timeout)
        print(f"engine: {binary} pattern eval")
        try:
            raw, obj = engine.ask({"pattern": "[file:name = 'a']", "observations": [],
                                   "stix_version": "2.1"})
            check_answer(raw, obj)
        except EngineFailure as e:
            raise SetupError(f"the engine does not speak the pattern eval protocol: {e}")
        results = []
        shim = None
        na, na_reasons = collections.Counter(), {}
        if args.suite in ("all", "matcher"):
            r, shim = run_matcher_suite(engine, roots, os.path.abspath(args.cache_dir),
                                        args.kexpr, args.show_observations)
            results += r
        if args.suite in ("all", "validator"):
            r, na, na_reasons = run_validator_suite(engine, roots,
                                                    os.path.abspath(args.cache_dir), args.kexpr)
            results += r
    except SetupError as e:
        print(f"\nsetup error: {e}", file=sys.stderr)
        if args.json_out:
            with open(args.json_out, "w", encoding="utf-8") as f:
                json.dump({"setup_error": str(e)}, f, indent=2)
        return 2
    finally:
        if engine is not None:
            engine.close()

    seen = set()
    for r in results:
        if r.id in allow:
            seen.add(r.id)
            if not r.passed:
                r.allowed = allow[r.id]
    unused = sorted(set(allow) - seen)
    failures = [r for r in results if not r.passed and r.allowed is None]
    allowed_fail = [r for r in results if not r.passed and r.allowed is not None]
    allowed_pass = [r for r in results if r.passed and r.id in allow]

    if failures:
        print(f"\n=== FAILURES ({len(failures)}) ===")
        for r in failures:
            print(f"\nFAIL [{r.suite}/{r.group}] {r.id}")
            print("    " + r.detail.replace("\n", "\n    "))
    if allowed_fail:
        print(f"\n=== allowed differences ({len(allowed_fail)}) ===")
        for r in allowed_fail:
            print(f"\nALLOWED [{r.suite}/{r.group}] {r.id}\n    reason: {r.allowed}")
            print("    " + r.detail.replace("\n", "\n    "))
    if allowed_pass:
        print(f"\nnote: {len(allowed_pass)} allow-listed test(s) now pass; the entries can go:")
        for r in allowed_pass:
            print(f"    {r.id}")
    if unused:
        print(f"\nnote: {len(unused)} allow-list entr(y/ies) match no test that ran:")
        for t in unused:
            print(f"    {t}")

    def counts(rs):
        return {"total": len(rs), "passed": sum(r.passed for r in rs),
                "failed": sum(not r.passed and r.allowed is None for r in rs),
                "allowed": sum(not r.passed and r.allowed is not None for r in rs)}

    summary = {"engine": engine.argv, "engine_starts": engine.starts,
               "engine_requests": engine.requests,
               "reference": {n: v[0] for n, v in SDISTS.items()}, "suites": {}}
    print("\n=== summary ===")
    print(f"engine: {' '.join(engine.argv)} ({engine.requests} requests, "
          f"{engine.starts} process start(s))")
    if args.suite in ("all", "matcher"):
        m = [r for r in results if r.suite == "matcher"]
        mm = [r for r in m if r.group != "reference-internal"]
        mi = [r for r in m if r.group == "reference-internal"]
        summary["suites"]["matcher"] = {
            "tests": len(m), "match": counts(mm), "reference_internal": counts(mi),
            "synthetic_ids_added": shim.injected_total if shim else 0,
            "calls_with_repeated_observed_data_ids": shim.duplicate_id_calls if shim else 0,
        }
        c, ci = counts(mm), counts(mi)
        print(f"matcher suite (stix2-matcher {SDISTS['stix2-matcher'][0]}): {len(m)} tests")
        print(f"    through match(): {c['total']}: {c['passed']} passed, {c['failed']} failed, "
              f"{c['allowed']} allowed")
        print(f"    reference-internal (never call match(); run unchanged): {ci['total']}: "
              f"{ci['passed']} passed, {ci['failed']} failed")
        if shim and shim.injected_total:
            print(f"    synthetic ids given to id-less observed-data: {shim.injected_total}")
        if shim and shim.duplicate_id_calls:
            print(f"    match() calls whose observations repeat an observed-data id: "
                  f"{shim.duplicate_id_calls}")
    if args.suite in ("all", "validator"):
        v = [r for r in results if r.suite == "validator"]
        groups = {g: counts([r for r in v if r.group == g])
                  for g in sorted({r.group for r in v})}
        summary["suites"]["validator"] = {
            "cases": counts(v), "groups": groups,
            "not_applicable": {k: {"count": na[k], "reason": na_reasons[k]} for k in na},
        }
        c = counts(v)
        print(f"validator suite (stix2-patterns {SDISTS['stix2-patterns'][0]}): "
              f"{c['total']} applicable cases: {c['passed']} passed, {c['failed']} failed, "
              f"{c['allowed']} allowed")
        for g, gc in groups.items():
            print(f"    {g}: {gc['total']}: {gc['passed']} passed, {gc['failed']} failed, "
                  f"{gc['allowed']} allowed")
        for k in sorted(na):
            print(f"    not applicable ({k}): {na[k]} test(s): {na_reasons[k]}")
    summary["failures"] = [r.as_json() for r in failures]
    summary["allowed"] = [r.as_json() for r in allowed_fail]
    summary["allowed_but_passing"] = [r.id for r in allowed_pass]
    summary["unused_allow_entries"] = unused
    total_pass = sum(r.passed for r in results)
    summary["passed"] = total_pass
    summary["failed"] = len(failures)
    summary["ok"] = not failures
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"summary written to {args.json_out}")
    print(f"conformance: {total_pass} passed, {len(failures)} failed")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
