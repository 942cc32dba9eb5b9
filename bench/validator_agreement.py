"""Agreement of ``contract validate`` verdicts with openapi-spec-validator on its own test specs.

Measurement only: nothing of openapi-spec-validator's test suite is copied into this repository.
Fetch its sdist yourself, unpack it, and point this script at it:

    pip download --no-deps --no-binary :all: openapi-spec-validator==0.9.0 -d /tmp/osv
    tar xzf /tmp/osv/openapi_spec_validator-0.9.0.tar.gz -C /tmp/osv
    python3 bench/validator_agreement.py /tmp/osv/openapi_spec_validator-0.9.0

How: its integration tests run under a small pytest plugin that records every document handed to
one of its spec validators (inline dicts and files alike) together with that validator's verdict
(any error or exception = invalid). Each recorded document is then validated by gitcoord (fast
backend, the same OpenAPI version forced) and the verdicts compared. Specs fetched from the
network are left out (``-m "not network"``), and so are documents whose verdict hangs on a format
checker a test registers in-process at run time (a Python callable, not part of the document: no
other validator can know it); both are counted and printed. File refs are bounded by the unpacked
sdist, which plays the project's repository. Target: 100 % agreement.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PLUGIN = r'''
import copy, os, pickle
import openapi_spec_validator.validation.validators as v

_records = []
_original = v.SpecValidator.__init__
import openapi_schema_validator as _osv_schema
_CHECKERS = ("oas30_format_checker", "oas31_format_checker", "oas32_format_checker")
_BUILTIN_FORMATS = {n: set(getattr(_osv_schema, n).checkers) for n in _CHECKERS if hasattr(_osv_schema, n)}

def _formats(node):
    if isinstance(node, dict):
        for k, val in node.items():
            if k == "format" and isinstance(val, str):
                yield val
            yield from _formats(val)
    elif isinstance(node, list):
        for val in node:
            yield from _formats(val)

def _runtime_formats(data):
    added = set()
    for n, builtin in _BUILTIN_FORMATS.items():
        added |= set(getattr(_osv_schema, n).checkers) - builtin
    return sorted(added & set(_formats(data)))
_KINDS = {"OpenAPIV2SpecValidator": "openapi-2.0", "OpenAPIV30SpecValidator": "openapi-3.0",
          "OpenAPIV31SpecValidator": "openapi-3.1", "OpenAPIV32SpecValidator": "openapi-3.2"}

def _init(self, schema, base_uri="", spec_url=None):
    _original(self, schema, base_uri, spec_url)
    kind = _KINDS.get(type(self).__name__)
    if kind is None:
        return
    try:
        data = copy.deepcopy(self.schema_path.read_value() if not isinstance(self.schema, dict) else self.schema)
        data = pickle.loads(pickle.dumps(dict(data)))
    except Exception:
        return
    try:
        first = next(iter(type(self).iter_errors(self)), None)
        verdict, why = first is None, "" if first is None else str(getattr(first, "message", first))
    except Exception as exc:
        verdict, why = False, f"{type(exc).__name__}: {exc}"
    _records.append({"kind": kind, "base_uri": self.base_uri, "data": data, "valid": verdict, "why": why[:200],
                     "runtime_formats": _runtime_formats(data)})

v.SpecValidator.__init__ = _init

def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["GITCOORD_HARVEST"], "wb") as fh:
        pickle.dump(_records, fh)
'''


def harvest(sdist: Path) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "osv_harvest.py").write_text(PLUGIN)
        out = Path(tmp) / "records.pickle"
        env = dict(os.environ, GITCOORD_HARVEST=str(out), PYTHONPATH=tmp)
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "osv_harvest", "-p", "no:cacheprovider",
             "-m", "not network", "-o", "addopts=", "tests/integration"],
            cwd=sdist, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
        return pickle.loads(out.read_bytes())


def unique(records: list[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for rec in records:
        key = rec["kind"] + repr(rec["data"]) + rec["base_uri"]
        seen.setdefault(key, rec)
    return list(seen.values())


def ours(rec: dict, root: Path, *, detect: bool = False) -> tuple[bool, list[str]]:
    from gitcoord.contracts.loader import Document
    from gitcoord.contracts.validate import validate_spec
    from gitcoord.errors import GitcoordError

    uri = rec["base_uri"]
    path = unquote(urlparse(uri).path) if uri.startswith("file:") else "inline.json"
    text = Path(path).read_bytes() if path != "inline.json" and Path(path).is_file() else b""
    doc = Document(data=rec["data"], path=path, text=text, is_yaml=bool(text))
    try:
        result = validate_spec(doc, kind=None if detect else rec["kind"], root=root)
    except GitcoordError as exc:
        return False, [str(exc)]
    return result.valid, [f"{e.pointer}: {e.message}" for e in result.errors]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    sdist = Path(sys.argv[1]).resolve()
    harvested = unique(harvest(sdist))
    records = [r for r in harvested if not r["runtime_formats"]]
    for rec in harvested:
        if rec["runtime_formats"]:
            print(f"  left out: {rec['kind']} inline spec using format(s) {rec['runtime_formats']} that a test "
                  "registers at run time")
    agree = 0
    for rec in records:
        valid, errors = ours(rec, sdist)
        if valid == rec["valid"]:
            agree += 1
            continue
        where = rec["base_uri"] or "inline"
        print(f"  DISAGREE {rec['kind']} {where}: theirs valid={rec['valid']} ours valid={valid}"
              + (f" ({rec['why']})" if rec["why"] else ""))
        if os.environ.get("VERBOSE"):
            print("      " + repr(rec["data"])[:400])
        for line in errors[:3]:
            print(f"      {line[:200]}")
    total = len(records)
    detected = sum(ours(rec, sdist, detect=True)[0] == rec["valid"] for rec in records)
    print(f"  with the version detected from the document (as `contract validate FILE` does): "
          f"{detected}/{total} agree")
    share = 100.0 * agree / total if total else 0.0
    ok = total > 0 and agree == total
    print(f"validator agreement with openapi-spec-validator: {agree}/{total} = {share:.1f} % "
          f"({len(harvested)} documents harvested, {len(harvested) - total} left out) "
          f"(target 100 %)  {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
