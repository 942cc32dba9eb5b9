"""Contract benchmarks on real specs: cold validation, warm (cached) validation, Stripe diff.

Run: python3 bench/contracts.py   (specs from ../shared/data/specs or $GITCOORD_SPECS_DIR)
Targets (issue 5): cold validation <= 0.5x openapi-spec-validator's default validate() on the
same parsed document in the same run; cached re-validation <= 50 ms beyond a bare interpreter
start; Stripe 2023-03 -> 2023-09 diff <= 5 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gitcoord.contracts.loader import load_document  # noqa: E402

SPECS = Path(os.environ.get("GITCOORD_SPECS_DIR") or REPO.parent / "shared" / "data" / "specs")
COLD = ["kubernetes-swagger2.json", "stripe-2023-03.openapi3.yaml", "stripe-2023-09.openapi3.yaml"]
results: list[bool] = []


def verdict(ok: bool) -> str:
    results.append(ok)
    return "PASS" if ok else "FAIL"


def cold() -> None:
    from openapi_spec_validator import validate as reference_validate

    from gitcoord.contracts.validate import validate_spec

    print("cold validation (parse excluded; same parsed document for both)")
    for name in COLD:
        t = time.perf_counter()
        doc = load_document(SPECS / name)
        parse = time.perf_counter() - t
        t = time.perf_counter()
        reference_validate(doc.data)
        ref = time.perf_counter() - t
        t = time.perf_counter()
        result = validate_spec(doc)
        ours = time.perf_counter() - t
        ratio = ours / ref
        print(
            f"  {name:32} parse {parse:5.2f}s  openapi-spec-validator {ref:5.2f}s  gitcoord {ours:5.2f}s"
            f"  ratio {ratio:4.2f} (target <= 0.50)  valid={result.valid}  {verdict(ratio <= 0.5)}"
        )


def warm() -> None:
    from gitcoord.contracts.validate import validate_cached

    spec = SPECS / "stripe-2023-09.openapi3.yaml"
    with tempfile.TemporaryDirectory() as cache:
        validate_cached(spec, cache)  # fill
        code = f"from gitcoord.contracts.validate import validate_cached; validate_cached({str(spec)!r}, {cache!r})"

        def run(args: list[str]) -> float:
            t = time.perf_counter()
            subprocess.run([sys.executable, *args], cwd=REPO, check=True)
            return time.perf_counter() - t

        bare = statistics.median(run(["-c", "pass"]) for _ in range(7))
        hit = statistics.median(run(["-c", code]) for _ in range(7))
    extra = (hit - bare) * 1000
    print(f"warm cached validation of {spec.name}: {extra:5.1f} ms beyond process start (target <= 50 ms)  {verdict(extra <= 50)}")


def diff() -> None:
    from gitcoord.contracts.diff import diff_specs

    old = load_document(SPECS / "stripe-2023-03.openapi3.yaml").data
    new = load_document(SPECS / "stripe-2023-09.openapi3.yaml").data
    t = time.perf_counter()
    result = diff_specs(old, new)
    took = time.perf_counter() - t
    counts = result.counts()
    print(
        f"diff stripe 2023-03 -> 2023-09: {took:5.2f}s (target <= 5 s, parse excluded)  "
        f"error={counts['error']} warning={counts['warning']} info={counts['info']}  {verdict(took <= 5)}"
    )


if __name__ == "__main__":
    if not SPECS.is_dir():
        sys.exit(f"specs not found in {SPECS}; set GITCOORD_SPECS_DIR")
    cold()
    warm()
    diff()
    print("ALL PASS" if all(results) else "SOME FAIL")
    sys.exit(0 if all(results) else 1)
