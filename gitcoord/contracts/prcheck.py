"""Contract checks over a change: the PR check (``contract check``) and the hook plug-in.

For every changed spec (a registered contract's spec, or a file matching ``contracts.globs``
in gitcoord.yaml) the new version is validated, diffed against the base version (reported)
and against the last approved snapshot (enforced): a breaking change that was not approved
with a breaking version bump fails the check, naming the consumers to notify. A draft
contract, or a spec nobody registered, only has to be valid.

The hook path calls ``hook_findings`` through ``gitcoord.contracts.check_changed`` only when
a spec changed; the validators and the diff engine are imported here, lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import pygit2

from gitcoord.contracts import registry
from gitcoord.errors import UsageError

ERROR, WARNING, INFO = "error", "warning", "info"
MAX_LISTED = 5  # changes quoted in one hook message; the rest are counted


@dataclass
class SpecReport:
    """What the check found for one changed spec."""

    path: str
    contract: str | None
    change: str  # added | modified | deleted
    kind: str | None = None
    valid: bool | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    approved_version: str | None = None
    base_diff: dict[str, Any] | None = None
    approved_diff: dict[str, Any] | None = None
    consumers: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f["level"] == ERROR for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "contract": self.contract, "change": self.change, "kind": self.kind,
                "valid": self.valid, "ok": self.ok, "errors": self.errors, "approved_version": self.approved_version,
                "base_diff": self.base_diff, "approved_diff": self.approved_diff,
                "consumers_to_notify": self.consumers, "findings": self.findings}


@dataclass
class PrCheckResult:
    base: str
    head: str
    merge_base: str
    specs: list[SpecReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.specs)

    @property
    def findings(self) -> list[dict[str, Any]]:
        return [f for s in self.specs for f in s.findings]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "base": self.base, "head": self.head, "merge_base": self.merge_base,
                "specs": [s.to_dict() for s in self.specs],
                "consumers_to_notify": sorted({c for s in self.specs for c in s.consumers}),
                "errors": sum(1 for f in self.findings if f["level"] == ERROR),
                "warnings": sum(1 for f in self.findings if f["level"] == WARNING)}


# --------------------------------------------------------------------------- one spec


def _finding(path: str, rule: str, level: str, message: str, *, line: int | None = None, owner: str | None = None,
             hint: str | None = None) -> dict[str, Any]:
    return {"path": path, "line": line, "rule": rule, "level": level, "message": message, "owner": owner,
            "hint": hint}


def _diff_summary(diff: Any) -> dict[str, Any]:
    return {"breaking": diff.breaking, "counts": diff.counts(),
            "changes": [{**c.to_dict(), "consumers": list(c.consumers)} for c in diff.changes]}


def check_spec(repo: pygit2.Repository, path: str, record: Mapping[str, Any] | None, new: bytes | None,
               view: Any, tasks: Mapping[str, Mapping[str, Any]], *, old: bytes | None = None,
               per_change: bool = True) -> SpecReport:
    """Validate ``new`` and diff it against ``old`` (reported) and the approved snapshot (enforced).

    ``per_change`` gives one finding per breaking change (with its line, for annotations);
    otherwise one finding per spec lists the first few (what a hook prints).
    """
    from gitcoord.contracts.loader import load_document
    from gitcoord.contracts.validate import blob_id

    name = record["name"] if record else None
    owner = record.get("owner") if record else None
    last = registry.latest_approval(record) if record else None
    change = "deleted" if new is None else ("added" if old is None else "modified")
    report = SpecReport(path=path, contract=name, change=change, kind=record.get("kind") if record else None,
                        approved_version=last["version"] if last else None)
    label = f"contract {name}" if name else "spec"
    if new is None:
        if last is not None:
            report.findings.append(_finding(
                path, "contract-removed", ERROR,
                f"{path}: the spec of approved contract {name} ({last['version']}) is deleted", owner=owner,
                hint=f"restore it, or deprecate the contract first: gitcoord contract deprecate {name}"))
        elif record is not None:
            report.findings.append(_finding(path, "contract-removed", WARNING,
                                            f"{path}: the spec of draft contract {name} is deleted", owner=owner))
        return report

    try:
        # A file matched by contracts.globs (no record) may be a JSON Schema: the glob declares it a spec.
        result = registry.validate_bytes(repo, path, new, registry.validation_kind(record) if record else "detect")
    except UsageError as exc:  # unparsable, alias bomb, not a mapping...
        report.valid = False
        report.errors = [{"message": exc.message, "pointer": "", "line": exc.data.get("line")}]
        report.findings.append(_finding(path, "contract-invalid", ERROR, f"{label}: {exc.message}", owner=owner,
                                        line=exc.data.get("line"), hint=f"gitcoord contract validate {path}"))
        return report
    report.valid = result.valid
    report.kind = report.kind or registry.registry_kind(result.kind)
    report.errors = [e.to_dict() for e in result.errors]
    if not result.valid:
        if per_change:
            for err in result.errors:
                report.findings.append(_finding(path, "contract-invalid", ERROR,
                                                f"{label} is invalid at {err.pointer or '/'}: {err.message}",
                                                line=err.line, owner=owner))
        else:
            first = result.errors[0]
            where = f" (line {first.line})" if first.line else ""
            more = f"; {len(result.errors) - 1} more" if len(result.errors) > 1 else ""
            report.findings.append(_finding(
                path, "contract-invalid", ERROR,
                f"{label} is invalid: {first.pointer or '/'}{where}: {first.message}{more}", line=first.line,
                owner=owner, hint=f"see every error: gitcoord contract validate {path}"))
        return report

    consumers = registry.effective_consumers(record, tasks) if record else []
    doc = load_document(registry.spec_location(repo, path), text=new)
    notify: set[str] = set()
    if old is not None:
        try:
            base = registry.diff_bytes(path, old, path, new, record=record, consumers=consumers if record else None)
        except UsageError as exc:  # the base version does not parse: nothing to compare against
            report.base_diff = {"error": exc.message}
        else:
            report.base_diff = _diff_summary(base)
            if base.breaking and last is None:
                notify.update(u for c in base.changes if c.level == ERROR for u in c.consumers)
                report.findings.append(_finding(
                    path, "contract-breaking-vs-base", WARNING,
                    f"{label}: {base.counts()['error']} breaking change(s) against the base version "
                    f"({'draft, not enforced' if record else 'not a registered contract'})", owner=owner,
                    hint=f"register and approve it to protect consumers: gitcoord contract add NAME --spec {path}"
                    if record is None else f"approve it when ready: gitcoord contract approve {name}"))

    if last is not None and last.get("blob") != blob_id(new):
        entry, approved = registry.approved_bytes(view, record, last["version"])
        diff = registry.diff_bytes(entry["snapshot"], approved, path, new, record=record, consumers=consumers)
        report.approved_diff = _diff_summary(diff)
        errors = [c for c in diff.changes if c.level == ERROR]
        if errors:
            users = sorted({u for c in errors for u in c.consumers}) or [c["name"] for c in consumers]
            notify.update(users)
            need = registry.semver.bump(registry.semver.parse(last["version"]), "major")
            hint = (f"keep the old behaviour, or approve a breaking version and tell "
                    f"{', '.join(users) or 'the consumers'}: gitcoord contract approve {name} --version {need}")
            if per_change:
                for c in errors:
                    report.findings.append(_finding(
                        path, "contract-breaking", ERROR,
                        f"contract {name}: breaking change against approved {last['version']}: [{c.id}] {c.message}",
                        line=doc.line_of(c.path) if c.path else None, owner=owner, hint=hint))
            else:
                listed = "; ".join(f"[{c.id}] {c.message}" for c in errors[:MAX_LISTED])
                more = f"; and {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else ""
                report.findings.append(_finding(
                    path, "contract-breaking", ERROR,
                    f"contract {name}: {len(errors)} breaking change(s) against approved {last['version']} "
                    f"(consumers: {', '.join(users) or 'none registered'}): {listed}{more}",
                    line=doc.line_of(errors[0].path) if errors[0].path else None, owner=owner, hint=hint))
    report.consumers = sorted(notify)
    return report


# --------------------------------------------------------------------------- PR mode


def _glob_index(view: Any):
    globs = list((view.config.get("contracts") or {}).get("globs") or [])
    if not globs:
        return None
    from gitcoord.ownership import OwnershipIndex

    return OwnershipIndex([(g, "glob") for g in globs])


def is_spec_path(path: str, contracts: Mapping[str, Mapping[str, Any]], globs: Any) -> dict[str, Any] | None | bool:
    record = registry.find_by_spec(contracts, path)
    if record is not None:
        return record
    return globs is not None and globs.is_owned(path)


def changed_paths(repo: pygit2.Repository, old: pygit2.Commit, new: pygit2.Commit) -> list[str]:
    diff = repo.diff(old.tree, new.tree)
    out: list[str] = []
    for delta in diff.deltas:
        for p in (delta.old_file.path, delta.new_file.path):
            if p and p not in out:
                out.append(p)
    return out


def run_pr_check(repo: pygit2.Repository, view: Any, *, base: str | None = None, head: str | None = None) -> PrCheckResult:
    """Check every spec that ``head`` changed since it forked from ``base`` (default: the config's base)."""
    base = base or view.config.get("base") or "main"
    head = head or "HEAD"
    base_commit = registry.resolve_commit(repo, base, what="--base")
    head_commit = registry.resolve_commit(repo, head, what="--head")
    mb = repo.merge_base(base_commit.id, head_commit.id)
    fork = repo[mb].peel(pygit2.Commit) if mb is not None else base_commit
    contracts = registry.load_contracts(view)
    globs = _glob_index(view)
    result = PrCheckResult(base=str(base_commit.id), head=str(head_commit.id), merge_base=str(fork.id))
    candidates = [p for p in changed_paths(repo, fork, head_commit) if is_spec_path(p, contracts, globs)]
    if not candidates:
        return result
    tasks = registry._tasks(view)
    for path in candidates:
        record = registry.find_by_spec(contracts, path)
        new = registry.tree_blob(head_commit.tree, path)
        old = registry.tree_blob(fork.tree, path)
        result.specs.append(check_spec(repo, path, record, new, view, tasks, old=old))
    return result


# --------------------------------------------------------------------------- hook plug-in


def hook_findings(view: Any, paths: Iterable[str], ctx: Any = None,
                  read: Callable[[str], bytes | None] | None = None) -> list[dict[str, Any]]:
    """Findings for changed spec files on the hook path (``gitcoord.contracts.check_changed``).

    ``read(path)`` gives the new content (staged blob, pushed commit); None means deleted.
    Without ``read`` the work tree file is used.
    """
    repo = view.repo
    contracts = registry.load_contracts(view)
    globs = _glob_index(view)
    tasks: dict[str, Any] | None = None
    out: list[dict[str, Any]] = []
    for path in paths:
        if not is_spec_path(path, contracts, globs):
            continue
        record = registry.find_by_spec(contracts, path)
        if read is not None:
            new = read(path)
        else:
            root = registry.workdir(repo)
            file = root / path if root is not None else None
            new = file.read_bytes() if file is not None and file.is_file() else None
        if tasks is None:
            tasks = registry._tasks(view)
        report = check_spec(repo, path, record, new, view, tasks, per_change=False)
        for f in report.findings:
            if f["level"] in (ERROR, WARNING):
                out.append({k: f[k] for k in ("path", "rule", "level", "message", "owner", "hint")})
    return out


# --------------------------------------------------------------------------- output formats


def render_text(result: PrCheckResult) -> str:
    lines = [f"contract check: {result.merge_base[:10]}..{result.head[:10]} (base {result.base[:10]})"]
    if not result.specs:
        lines.append("no contract specs changed")
    for spec in result.specs:
        what = f"contract {spec.contract}" if spec.contract else "unregistered spec"
        if spec.approved_version:
            what += f", approved {spec.approved_version}"
        elif spec.contract:
            what += ", draft"
        state = "deleted" if spec.valid is None else ("valid" if spec.valid else "INVALID")
        lines.append(f"{spec.path} ({what}; {spec.change}): {state}")
        for label, diff in (("vs base", spec.base_diff), ("vs approved", spec.approved_diff)):
            if diff and "counts" in diff:
                c = diff["counts"]
                lines.append(f"  {label}: {c['error']} breaking, {c['warning']} warning(s), {c['info']} info")
        for f in spec.findings:
            where = f":{f['line']}" if f.get("line") else ""
            lines.append(f"  {f['level'].upper():7} {f['rule']}{where}: {f['message']}")
            if f.get("hint") and f["level"] == ERROR:
                lines.append(f"          hint: {f['hint']}")
        if spec.consumers:
            lines.append(f"  consumers to notify: {', '.join(spec.consumers)}")
    d = result.to_dict()
    lines.append(f"{'OK' if result.ok else 'FAIL'}: {len(result.specs)} spec(s), {d['errors']} error(s), "
                 f"{d['warnings']} warning(s)")
    return "\n".join(lines)


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(result: PrCheckResult) -> str:
    """GitHub Actions workflow commands: one annotation per finding, then a notice line."""
    lines = []
    for f in result.findings:
        kind = {"error": "error", "warning": "warning"}.get(f["level"], "notice")
        props = [f"file={_gh_prop(f['path'])}"]
        if f.get("line"):
            props.append(f"line={f['line']}")
        props.append(f"title={_gh_prop('gitcoord ' + f['rule'])}")
        message = f["message"] + (f" — {f['hint']}" if f.get("hint") else "")
        lines.append(f"::{kind} {','.join(props)}::{_gh_data(message)}")
    d = result.to_dict()
    summary = (f"contract check: {len(result.specs)} spec(s), {d['errors']} error(s), {d['warnings']} warning(s)"
               + (f"; consumers to notify: {', '.join(d['consumers_to_notify'])}" if d["consumers_to_notify"] else ""))
    lines.append(f"::notice title=gitcoord contract check::{_gh_data(summary)}")
    return "\n".join(lines)


def render_junit(result: PrCheckResult) -> str:
    """JUnit XML: one test case per changed spec; errors are failures, warnings go to system-out."""
    import xml.etree.ElementTree as ET

    failures = sum(1 for s in result.specs if not s.ok)
    suites = ET.Element("testsuites", name="gitcoord contract check", tests=str(len(result.specs)),
                        failures=str(failures))
    suite = ET.SubElement(suites, "testsuite", name="gitcoord.contracts", tests=str(len(result.specs)),
                          failures=str(failures), errors="0", skipped="0")
    for spec in result.specs:
        case = ET.SubElement(suite, "testcase", classname="gitcoord.contracts",
                             name=f"{spec.contract or 'spec'}: {spec.path}", file=spec.path)
        errors = [f for f in spec.findings if f["level"] == ERROR]
        if errors:
            failure = ET.SubElement(case, "failure", type=errors[0]["rule"],
                                    message=f"{len(errors)} error(s): {errors[0]['message']}"[:500])
            failure.text = "\n".join(f"{f['path']}{':' + str(f['line']) if f.get('line') else ''}: [{f['rule']}] "
                                     f"{f['message']}" for f in errors)
        others = [f for f in spec.findings if f["level"] != ERROR]
        out_lines = [f"[{f['level']}] {f['rule']}: {f['message']}" for f in others]
        if spec.consumers:
            out_lines.append(f"consumers to notify: {', '.join(spec.consumers)}")
        if out_lines:
            ET.SubElement(case, "system-out").text = "\n".join(out_lines)
    if not result.specs:
        ET.SubElement(suite, "testcase", classname="gitcoord.contracts", name="no contract specs changed")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
