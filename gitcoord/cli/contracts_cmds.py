"""`contract`: register, validate, diff, approve, list/show, mock, test and PR-check API contracts."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from gitcoord.cli.app import App, emit_report, json_option, pass_app

LEVEL_ORDER = ("error", "warning", "info")


@click.group()
def contract() -> None:
    """API contracts: what lets consumers start before their provider is done.

    \b
    Examples:
      gitcoord contract add cart --spec api/cart.yaml --consumer web=GET /carts
      gitcoord contract validate
      gitcoord contract diff cart                # approved snapshot vs work tree
      gitcoord contract approve cart
      gitcoord contract mock cart --port 8080
      gitcoord contract check --base origin/main --format github
    """


# --------------------------------------------------------------------------- helpers


def _cwd(app: App) -> Path:
    return Path(app.directory) if app.directory else Path(os.getcwd())


def _target(app: App, arg: str, *, rev: str | None = None,
            approved: str | None = None) -> tuple[str | None, str, bytes, dict[str, Any] | None]:
    """A registered contract name or a spec file → (name, path shown, bytes, record).

    A consumer's clone usually lacks the provider's spec file: a registered contract then
    falls back to its latest approved snapshot (``approved="latest"`` or a version asks for
    a snapshot explicitly)."""
    from gitcoord.contracts import registry
    from gitcoord.errors import NotFound, UsageError

    snap = app.snapshot(required=False)
    if snap.exists and registry.NAME_RE.match(arg) and snap.has(f"{registry.CONTRACT_DIR}/{arg}.yaml"):
        record = registry.get_contract(snap, arg)
        if approved is not None:
            entry, data = registry.approved_bytes(snap, record, None if approved == "latest" else approved)
            return arg, entry["snapshot"], data, record
        try:
            return arg, record["spec"], registry.read_spec(app.repo, record["spec"], rev), record
        except NotFound:
            if rev is not None or not record.get("approved"):
                raise
            entry, data = registry.approved_bytes(snap, record)
            app.info(f"{record['spec']} is not in this checkout: using the approved snapshot {entry['version']}")
            return arg, entry["snapshot"], data, record
    if approved is not None:
        raise UsageError(f"--approved: {arg!r} is not a registered contract (see `gitcoord contract list`)")
    if rev is not None:
        from gitcoord.paths import normalize_repo_path

        path = normalize_repo_path(arg, what="spec")
        return None, path, registry.read_at_rev(app.repo, path, rev), None
    file = _cwd(app) / arg
    if not file.is_file():
        raise UsageError(f"{arg!r} is neither a registered contract nor a file (see `gitcoord contract list`)")
    from gitcoord.contracts.loader import read_spec_file

    return None, str(file), read_spec_file(file), None


def _change_table(changes: list[dict[str, Any]]) -> str:
    """Changes grouped by level, one aligned row each."""
    if not changes:
        return "no changes"
    lines = []
    for level in LEVEL_ORDER:
        rows = [c for c in changes if c["level"] == level]
        if not rows:
            continue
        lines.append(f"{level} ({len(rows)}):")
        w_id = max(len(c["id"]) for c in rows)
        w_op = max(len(c.get("operation") or "-") for c in rows)
        for c in rows:
            lines.append(f"  {c['id']:<{w_id}}  {c.get('operation') or '-':<{w_op}}  {c['message']}  [{c['path'] or '/'}]")
    return "\n".join(lines)


def _exit(code: int) -> None:
    if code:
        raise click.exceptions.Exit(code)


# --------------------------------------------------------------------------- registry


@contract.command("add")
@click.argument("name")
@click.option("--spec", required=True, metavar="PATH", help="Spec path in the project tree (work tree or HEAD).")
@click.option("--kind", type=click.Choice(["openapi", "jsonschema"]), default=None,
              help="Default: openapi when the spec has an 'openapi'/'swagger' key; a JSON Schema needs "
                   "--kind jsonschema.")
@click.option("--owner", metavar="AGENT", help="Who answers for the contract (default: the providing task's agent, "
                                               "else you).")
@click.option("--consumer", "consumers", multiple=True, metavar="X[=METHOD /path,…]",
              help="A consumer (task id or agent), optionally with the operations it uses. Repeatable.")
@click.option("--provided-by", metavar="TASK", help="The task that implements the contract.")
@click.option("--version", "version", metavar="V", help="Proposed version (default: the spec's info.version).")
@json_option
@pass_app
def add(app: App, name: str, spec: str, kind: str | None, owner: str | None, consumers: tuple[str, ...],
        provided_by: str | None, version: str | None) -> None:
    """Register contract NAME whose spec lives at PATH (status draft).

    Tasks that `provides: [NAME]` are its providers and tasks that `consumes: [NAME]` its
    consumers automatically; --consumer adds others (e.g. web=GET /carts,POST /carts).
    """
    from gitcoord.contracts.registry import add_contract

    record = add_contract(app.store, name, spec, kind=kind, owner=owner, consumers=consumers,
                          provided_by=provided_by, version=version)
    app.emit(record, lambda: f"added contract {name} ({record['kind']}, {record['spec']}, "
                             f"version {record.get('version') or '-'}, draft)\n"
                             f"next: gitcoord contract validate {name} && gitcoord contract approve {name}")


@contract.command("list")
@json_option
@pass_app
def list_cmd(app: App) -> None:
    """Every registered contract."""
    from gitcoord.contracts import registry

    snap = app.snapshot()
    tasks = registry._tasks(snap)
    rows = []
    for name, record in registry.load_contracts(snap).items():
        rows.append({**record, "providers": registry.providers(record, tasks),
                     "consumers": registry.effective_consumers(record, tasks)})

    def text() -> str:
        if not rows:
            return "no contracts (register one: gitcoord contract add NAME --spec PATH)"
        table = [("NAME", "KIND", "VERSION", "STATUS", "SPEC", "OWNER", "CONSUMERS")]
        for r in rows:
            table.append((r["name"], r["kind"], r.get("version") or "-", r["status"], r["spec"], r.get("owner") or "-",
                          ", ".join(c["name"] for c in r["consumers"]) or "-"))
        widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
        return "\n".join("  ".join(f"{str(v):<{widths[i]}}" for i, v in enumerate(row)).rstrip() for row in table)

    app.emit({"contracts": rows}, text)


@contract.command("show")
@click.argument("name")
@json_option
@pass_app
def show(app: App, name: str) -> None:
    """One contract: record, providers, consumers (registered and from tasks), approvals."""
    from gitcoord.contracts.registry import describe_contract

    data = describe_contract(app.snapshot(), name)

    def text() -> str:
        lines = [f"contract {data['name']} ({data['kind']}): {data['status']}, version {data.get('version') or '-'}",
                 f"  spec:      {data['spec']}",
                 f"  owner:     {data.get('owner') or '-'}",
                 f"  providers: {', '.join(data['providers']) or '-'}"]
        lines.append("  consumers: " + (", ".join(
            c["name"] + (f" ({', '.join(c['operations'])})" if c.get("operations") else "")
            + (" [task]" if c.get("source") == "task" else "") for c in data["consumers"]) or "-"))
        for entry in data.get("approved") or []:
            lines.append(f"  approved {entry['version']} by {entry.get('approved_by') or '-'} at "
                         f"{entry.get('approved_at')}{' (breaking)' if entry.get('breaking') else ''}")
        return "\n".join(lines)

    app.emit(data, text)


# --------------------------------------------------------------------------- validate / diff


@contract.command("validate")
@click.argument("targets", nargs=-1, metavar="[NAME_OR_FILE]...")
@click.option("--kind", type=click.Choice(["openapi", "jsonschema"]), default=None,
              help="For files: what they must be (default: OpenAPI, version detected; a JSON Schema "
                   "needs --kind jsonschema). A registered contract uses its declared kind.")
@json_option
@pass_app
def validate(app: App, targets: tuple[str, ...], kind: str | None) -> None:
    """Validate specs (default: every registered contract); exit 1 if any is invalid.

    Every error names its JSON pointer and, for YAML, its line. Files can be validated outside
    a git repository; inside one, results are cached by blob id under .git/gitcoord/contracts,
    so unchanged specs cost nothing.
    """
    from gitcoord import gitutil
    from gitcoord.contracts import registry
    from gitcoord.contracts.loader import load_document
    from gitcoord.contracts.validate import validate_cached, validate_spec
    from gitcoord.errors import UsageError

    repo = _repo_or_none(app)
    snap = app.snapshot(required=False) if repo is not None else None
    if repo is None:
        if not targets:
            raise UsageError(f"{_cwd(app)}: not inside a git repository, so no registered contracts: "
                             "name the spec files to validate (gitcoord contract validate FILE...)")
        items = [(None, *_file(app, t), None) for t in targets]
    elif not targets:
        items = [(name, r["spec"], registry.read_spec(app.repo, r["spec"]), r)
                 for name, r in (registry.load_contracts(snap).items() if snap.exists else [])]
    else:
        items = [_target(app, t) for t in targets]
    remote_refs = bool(snap is not None and snap.exists
                       and (snap.config.get("contracts") or {}).get("allow_remote_refs"))
    cache = gitutil.cache_dir(repo) / "contracts" if repo is not None else None
    results = []
    for name, path, data, record in items:
        location = registry.spec_location(repo, path) if record else path
        wanted = registry.validation_kind(record) if record else kind
        try:
            res = validate_cached(location, cache, kind=wanted, text=data, allow_remote_refs=remote_refs) \
                if cache is not None else validate_spec(load_document(location, text=data), kind=wanted)
            entry = {"name": name, "spec": path, "valid": res.valid, "kind": res.kind,
                     "errors": [e.to_dict() for e in res.errors]}
        except UsageError as exc:  # unparsable: the parser's line (and column) when it gives one
            error = {"message": exc.message, "pointer": "", "line": exc.data.get("line")}
            if exc.data.get("column"):
                error["column"] = exc.data["column"]
            entry = {"name": name, "spec": path, "valid": False, "kind": None, "errors": [error]}
        results.append(entry)
    valid = all(r["valid"] for r in results)

    def text() -> str:
        if not results:
            return "no contracts registered (nothing to validate)"
        lines = []
        for r in results:
            label = f"{r['name']} ({r['spec']}" if r["name"] else f"{r['spec']} ("
            label += f"{', ' if r['name'] else ''}{r['kind'] or 'unreadable'})"
            lines.append(f"{'ok  ' if r['valid'] else 'FAIL'}  {label}"
                         + ("" if r["valid"] else f": {len(r['errors'])} error(s)"))
            for e in r["errors"]:
                where = f"{r['spec']}:{e['line']}" if e.get("line") else r["spec"]
                lines.append(f"      {where} {e['pointer'] or '/'}: {e['message']}")
        return "\n".join(lines)

    app.emit({"valid": valid, "results": results}, text)
    _exit(0 if valid else 1)


def _repo_or_none(app: App) -> Any:
    """The repository, or None when the command runs outside one (file-only commands still work)."""
    from gitcoord.errors import NotInRepository

    try:
        return app.repo
    except NotInRepository:
        return None


@contract.command("diff")
@click.argument("args", nargs=-1, required=True, metavar="OLD NEW | NAME")
@click.option("--from", "from_version", metavar="VERSION", help="With NAME: the approved version to start from "
                                                                 "(default: the latest).")
@click.option("--to", "to_rev", metavar="REV", help="With NAME: the spec at this commit (default: the work tree).")
@json_option
@pass_app
def diff(app: App, args: tuple[str, ...], from_version: str | None, to_rev: str | None) -> None:
    """Classified changes between two spec files, or from a contract's approved snapshot to its
    spec now; exit 1 if any change is breaking. With NAME the diff is consumer-aware."""
    from gitcoord.contracts import registry
    from gitcoord.errors import UsageError

    if len(args) == 2:
        if from_version or to_rev:
            raise UsageError("--from/--to go with `contract diff NAME`, not with two files")
        old_path, old = _file(app, args[0])
        new_path, new = _file(app, args[1])
        result = registry.diff_bytes(old_path, old, new_path, new)
        source, target = args[0], args[1]
    elif len(args) == 1:
        name = registry.check_name(args[0])
        snap = app.snapshot()
        record = registry.get_contract(snap, name)
        try:
            entry, old = registry.approved_bytes(snap, record, from_version)
        except Exception as exc:
            from gitcoord.errors import NotFound

            if isinstance(exc, NotFound) and not record.get("approved"):
                raise UsageError(f"contract {name} has no approved version to diff from",
                                 hint=f"diff two files (gitcoord contract diff OLD NEW) or approve it first") from None
            raise
        new = registry.read_spec(app.repo, record["spec"], to_rev)
        consumers = registry.effective_consumers(record, registry._tasks(snap))
        result = registry.diff_bytes(entry["snapshot"], old, record["spec"], new, record=record, consumers=consumers)
        source, target = f"{name} {entry['version']} (approved)", f"{record['spec']} at {to_rev or 'work tree'}"
    else:
        raise UsageError("contract diff takes OLD NEW (two files) or NAME")
    data = {"breaking": result.breaking,
            "changes": [{**c.to_dict(), "consumers": list(c.consumers)} for c in result.changes],
            "counts": result.counts(), "from": source, "to": target}
    app.emit(data, lambda: f"{source} → {target}\n{_change_table(data['changes'])}\n"
                           f"{'BREAKING' if result.breaking else 'not breaking'}: {data['counts']['error']} error(s), "
                           f"{data['counts']['warning']} warning(s), {data['counts']['info']} info")
    _exit(1 if result.breaking else 0)


def _file(app: App, arg: str) -> tuple[str, bytes]:
    from gitcoord.errors import UsageError

    file = _cwd(app) / arg
    if not file.is_file():
        raise UsageError(f"{arg}: no such file")
    return str(file), file.read_bytes()


# --------------------------------------------------------------------------- approve / deprecate


@contract.command("approve")
@click.argument("name")
@click.option("--version", "version", metavar="V", help="The version to approve (default: minor if additions, patch "
                                                         "otherwise; a breaking change needs this or --allow-breaking).")
@click.option("--allow-breaking", is_flag=True, help="Approve a breaking change as the next major version.")
@click.option("--rev", metavar="REV", help="Approve the spec as committed at REV (default: the work tree).")
@json_option
@pass_app
def approve(app: App, name: str, version: str | None, allow_breaking: bool, rev: str | None) -> None:
    """Approve the spec as a new version: it must be valid, and a breaking change against the
    last approved version is approved only on purpose, with a major --version or
    --allow-breaking (else exit 1 naming the changes and their consumers). Dependent tasks
    waiting on the contract become ready; consumers are notified of breaking changes, and
    consumer tasks started against the old version stay out of merges until they
    acknowledge it (`contract ack`) or their contract test passes."""
    from gitcoord.contracts.registry import approve_contract
    from gitcoord.errors import Violation

    try:
        result = approve_contract(app.store, name, version=version, rev=rev, allow_breaking=allow_breaking)
    except Violation as exc:
        if not app.as_json:
            if exc.data.get("changes"):
                app.info(_change_table([c for c in exc.data["changes"]]))
            for err in exc.data.get("errors") or []:
                app.info(f"  {err.get('line') or '-'} {err['pointer'] or '/'}: {err['message']}")
        raise

    def text() -> str:
        if not result["changed"]:
            return result["message"]
        how = ""
        if result.get("auto_version") and result.get("bump"):
            how = f" (version chosen automatically: {result['bump']} bump from {result['previous']}" + \
                  (", breaking changes allowed by --allow-breaking)" if result["breaking"] else ")")
        elif result.get("auto_version") and result["previous"] is None:
            how = " (first approval; version from the record, the spec's info.version, or 1.0.0)"
        lines = [f"approved contract {name} {result['version']}{how}"]
        if result["breaking"]:
            lines.append(f"BREAKING since {result['previous']}; consumers notified: "
                         f"{', '.join(result['consumers']) or 'none registered'}")
            lines.append(_change_table([c for c in result["changes"] if c["level"] == "error"]))
        if result["ready"]:
            lines.append(f"now ready: {', '.join(result['ready'])}")
        return "\n".join(lines)

    app.emit(result, text)


@contract.command("deprecate")
@click.argument("name")
@click.option("--sunset", metavar="DATE", help="When it goes away (ISO 8601), announced to consumers.")
@json_option
@pass_app
def deprecate(app: App, name: str, sunset: str | None) -> None:
    """Mark a contract deprecated and tell its consumers."""
    from gitcoord.contracts.registry import deprecate_contract

    result = deprecate_contract(app.store, name, sunset=sunset)
    app.emit(result, lambda: f"contract {name} deprecated" + (f", sunset {result['sunset']}" if result["sunset"] else "")
             + ("" if result["changed"] else " (already)"))


@contract.command("ack")
@click.argument("name")
@click.option("--task", "task", metavar="ID", help="The consumer task (default: your tasks that wait on a change "
                                                    "of NAME).")
@json_option
@pass_app
def ack(app: App, name: str, task: str | None) -> None:
    """Acknowledge the latest approved version of contract NAME for a consumer task that started
    against an older one: after a breaking approval `merge plan/run` leave such a task out
    (reason contract-changed) until its holder runs this, or `contract test` passes against
    the new version."""
    from gitcoord.contracts.registry import acknowledge

    result = acknowledge(app.store, name, task=task)
    app.emit(result, lambda: f"acknowledged contract {name} {result['version']} for {', '.join(result['tasks'])}")


# --------------------------------------------------------------------------- mock / test


def _spec_dict(app: App, arg: str, rev: str | None, approved: str | None = None) -> tuple[str, dict[str, Any]]:
    from gitcoord.contracts.loader import load_document

    name, path, data, _ = _target(app, arg, rev=rev, approved=approved)
    return _openapi_only(name or path, load_document(path, text=data).data)


def _openapi_only(label: str, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from gitcoord.contracts.validate import detect_kind
    from gitcoord.errors import UsageError

    if detect_kind(spec) == "jsonschema":
        raise UsageError(f"{label}: a JSON Schema contract has no operations to mock or test; "
                         "only OpenAPI contracts can")
    return label, spec


@contract.command("mock")
@click.argument("name", metavar="NAME_OR_FILE")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, type=click.IntRange(0, 65535), show_default=True, help="0 picks a free port.")
@click.option("--rev", metavar="REV", help="Serve the spec as committed at REV (default: the work tree).")
@click.option("--approved", "approved", metavar="VERSION", default=None, is_flag=False, flag_value="latest",
              help="Use an approved snapshot from the coordination branch (bare flag: the latest).")
@json_option
@pass_app
def mock(app: App, name: str, host: str, port: int, rev: str | None, approved: str | None) -> None:
    """Serve an HTTP mock of the contract until Ctrl-C. The first stdout line is its URL.

    Answers from examples (Prefer: code=404 / example=NAME pick one), else from the schema;
    requests that break the contract get a 400 VALIDATION_ERROR.
    """
    from gitcoord.contracts.mock import serve_forever

    label, spec = _spec_dict(app, name, rev, approved)

    def ready(url: str) -> None:
        if app.as_json:
            import json

            click.echo(json.dumps({"url": url, "contract": label}))
        else:
            click.echo(url)
        sys.stdout.flush()
        app.info(f"mock of {label} listening on {url} (Ctrl-C to stop)")

    serve_forever(spec, host, port, on_ready=ready)


@contract.command("test")
@click.argument("name", metavar="NAME_OR_FILE")
@click.option("--base-url", required=True, metavar="URL", help="The provider (or mock) to call.")
@click.option("--header", "headers", multiple=True, metavar="NAME:VALUE", help="Sent with every request. Repeatable.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per request.")
@click.option("--rev", metavar="REV", help="The spec as committed at REV (default: the work tree).")
@click.option("--approved", "approved", metavar="VERSION", default=None, is_flag=False, flag_value="latest",
              help="Use an approved snapshot from the coordination branch (bare flag: the latest).")
@click.option("--task", "task", metavar="ID", help="A consumer task this run vouches for: when it passes against "
                                                    "the latest approved version, the task acknowledges it.")
@json_option
@pass_app
def test(app: App, name: str, base_url: str, headers: tuple[str, ...], timeout: float, rev: str | None,
         approved: str | None, task: str | None) -> None:
    """Call every operation — inputs from the examples, else generated from the schemas — and
    check each answer (status, content type, body) against the contract; every operation with
    a JSON body also gets an invalid body, which must be refused with a 4xx. Exit 1 on any
    mismatch, and when nothing could be tested.

    A passing run against the latest approved version of a registered contract acknowledges
    it for --task (default: your tasks that wait on a breaking change of it), which lets
    them back into merges.
    """
    from gitcoord.contracts.conformance import run_contract_tests
    from gitcoord.contracts.loader import load_document
    from gitcoord.errors import UsageError

    extra = {}
    for h in headers:
        key, sep, value = h.partition(":")
        if not sep or not key.strip():
            raise UsageError(f"--header {h!r}: use NAME:VALUE")
        extra[key.strip()] = value.strip()
    if _repo_or_none(app) is None:
        if approved is not None or rev is not None or task is not None:
            raise UsageError("--approved, --rev and --task need a git repository with gitcoord")
        contract_name, path, raw, record = None, *_file(app, name), None
    else:
        contract_name, path, raw, record = _target(app, name, rev=rev, approved=approved)
    label, spec = _openapi_only(contract_name or path, load_document(path, text=raw).data)
    report = run_contract_tests(spec, base_url, timeout=timeout, headers=extra)
    data = {"contract": label, **report.to_dict(), "acknowledged": []}
    if report.ok and record is not None:
        data["acknowledged"] = _ack_by_test(app, record, raw, task)

    def text() -> str:
        lines = []
        for r in report.results:
            how = {"generated": " (generated inputs)", "negative": f" ({r.example}; must be refused)"}.get(r.source, "")
            lines.append(f"{'PASS' if r.ok else 'FAIL'}  {r.method} {r.url} → {r.status}"
                         + (f" (example {r.example})" if r.example and r.source != "negative" else how))
            for m in r.mismatches:
                lines.append(f"      {m.path}: {m.message}")
        for s in report.skipped:
            lines.append(f"skip  {s.method} {s.path}: {s.reason}")
        ops = data["operations"]
        verdict = "OK" if report.ok else ("FAIL (nothing was tested)" if not report.results else "FAIL")
        lines.append(f"{verdict}: {data['passed']} passed, {data['failed']} failed, {len(report.skipped)} skipped; "
                     f"operations covered {ops['covered']}/{ops['total']} against {base_url}")
        for ack in data["acknowledged"]:
            lines.append(f"acknowledged {ack['contract']} {ack['version']} for {', '.join(ack['tasks'])}")
        return "\n".join(lines)

    app.emit(data, text)
    _exit(0 if report.ok else 1)


def _ack_by_test(app: App, record: dict[str, Any], raw: bytes, task: str | None) -> list[dict[str, Any]]:
    """After a passing run: acknowledge the tested version for the consumer task(s), if it is the latest."""
    from gitcoord.contracts import registry
    from gitcoord.contracts.validate import blob_id
    from gitcoord.errors import GitcoordError

    last = registry.latest_approval(record)
    if last is None or last.get("blob") != blob_id(raw):
        if task is not None:
            app.info(f"--task {task}: not acknowledged, the spec tested is not the latest approved version of "
                     f"{record['name']} (test it with --approved)")
        return []
    if task is None:
        snap = app.snapshot()
        tasks = registry._tasks(snap)
        mine = [t for t, stale in registry.unacknowledged_consumers(snap, tasks).items()
                if any(s["contract"] == record["name"] for s in stale)
                and (tasks.get(t) or {}).get("agent") == app.store.agent]
        if not mine:
            return []
    try:
        return [registry.acknowledge(app.store, record["name"], task=task, via="test", version=last["version"])]
    except GitcoordError as exc:  # e.g. another agent's task: the run still passed
        app.info(f"not acknowledged: {exc.message}")
        return []


# --------------------------------------------------------------------------- PR check


@contract.command("check")
@click.option("--base", metavar="REV", help="What the change is compared with (default: the config's base branch).")
@click.option("--head", metavar="REV", help="The change (default: HEAD).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "junit"]), default=None,
              help="Output format (default text; --json means json).")
@json_option
@pass_app
def check(app: App, base: str | None, head: str | None, fmt: str | None) -> None:
    """PR mode: every spec changed since HEAD forked from --base is validated, diffed against
    the base and against its approved version, and its consumers are named. Exit 1 on an
    invalid spec or a breaking change that was not approved with a major bump.

    \b
    Examples:
      gitcoord contract check --base origin/main
      gitcoord contract check --base origin/main --format github
      gitcoord contract check --base main --format junit > contracts.xml
    """
    from gitcoord.contracts import prcheck

    result = prcheck.run_pr_check(app.repo, app.snapshot(), base=base, head=head)
    emit_report(app, result, fmt, text=prcheck.render_text, github=prcheck.render_github, junit=prcheck.render_junit)
    _exit(0 if result.ok else 1)
