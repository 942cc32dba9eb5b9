"""The contract registry on the coordination branch, and approval.

A contract is ``contracts/<name>.yaml`` (schema ``contracts/contract.schema.json``): where its
spec lives in the project tree, its kind, status, owner, consumers and every approved
version. Each approval stores the spec's exact bytes at ``contracts/<name>/<version>.<ext>``,
so "what was promised" can always be diffed against "what the spec says now", from any
checkout, without the project history.

Consumers come from two places, merged on read: the record's own list (``--consumer``) and
every task that ``consumes`` the contract. Providers are ``provided_by`` plus every task that
``provides`` it. Approval refreshes task readiness in the same transaction, so a consumer
waiting on a ``contract`` dependency becomes ready the moment the contract is approved.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Union

import pygit2

from gitcoord import gitutil
from gitcoord.contracts import semver
from gitcoord.errors import AlreadyExists, NotFound, UsageError, Violation
from gitcoord.store import Snapshot, Store, Txn

View = Union[Snapshot, Txn]

CONTRACT_DIR = "contracts"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")  # the schema's pattern
KINDS = ("openapi", "jsonschema")
HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")
_OPERATION_RE = re.compile(r"^([A-Za-z]+)\s+(/\S*)$")
FIRST_VERSION = "1.0.0"


# --------------------------------------------------------------------------- names and paths


def check_name(name: str, *, what: str = "contract name") -> str:
    if not isinstance(name, str) or not NAME_RE.match(name) or name.endswith((".yaml", ".json", ".yml")):
        raise UsageError(f"{what} {name!r}: use 1-128 letters, digits, '.', '_', '@', '+' or '-', starting with a "
                         "letter or digit (and no file extension)")
    return name


def contract_path(name: str) -> str:
    return f"{CONTRACT_DIR}/{check_name(name)}.yaml"


def spec_ext(spec: str) -> str:
    return "json" if spec.lower().endswith(".json") else "yaml"


def snapshot_path(name: str, version: str, spec: str) -> str:
    semver.parse(version)
    return f"{CONTRACT_DIR}/{check_name(name)}/{version}.{spec_ext(spec)}"


def registry_kind(detected: str) -> str:
    """``openapi-3.1`` → ``openapi``; ``jsonschema`` stays."""
    return "openapi" if detected.startswith("openapi") else "jsonschema"


def validation_kind(record: Mapping[str, Any]) -> str | None:
    """What to pass to ``validate_spec(kind=...)``: the declared kind (OpenAPI versions are detected,
    and a contract declared openapi whose spec has no version key fails); None for a bare file."""
    kind = record.get("kind")
    return kind if kind in KINDS else None


# --------------------------------------------------------------------------- reading the registry


def load_contracts(view: View) -> dict[str, dict[str, Any]]:
    """Every contract record by name, sorted."""
    out = {}
    for path, record in view.load_dir(CONTRACT_DIR, ".yaml").items():
        out[path[len(CONTRACT_DIR) + 1:-len(".yaml")]] = record
    return out


def get_contract(view: View, name: str) -> dict[str, Any]:
    record = view.load(contract_path(name))
    if record is None:
        raise NotFound(f"unknown contract {name!r} (see `gitcoord contract list`, or register it with "
                       f"`gitcoord contract add {name} --spec PATH`)")
    return record


def find_by_spec(contracts: Mapping[str, Mapping[str, Any]], path: str) -> dict[str, Any] | None:
    for record in contracts.values():
        if record.get("spec") == path:
            return dict(record)
    return None


def read_view_bytes(view: View, path: str) -> bytes | None:
    """Raw bytes of a file on the coordination branch (pending writes of a Txn included)."""
    if isinstance(view, Txn):
        if path in view.changes:
            return view.changes[path]
        return view.base.read_bytes(path)
    return view.read_bytes(path)


def latest_approval(record: Mapping[str, Any]) -> dict[str, Any] | None:
    approved = record.get("approved") or []
    return dict(approved[-1]) if approved else None


def find_approval(record: Mapping[str, Any], version: str | None) -> dict[str, Any]:
    """The approval entry for ``version`` (default: the latest); NotFound when there is none."""
    approved = record.get("approved") or []
    if not approved:
        raise NotFound(f"contract {record['name']} has no approved version yet",
                       hint=f"approve it first: gitcoord contract approve {record['name']}")
    if version is None:
        return dict(approved[-1])
    for entry in approved:
        if entry["version"] == version or entry["version"] == str(semver.parse(version, what="--from")):
            return dict(entry)
    known = ", ".join(e["version"] for e in approved)
    raise NotFound(f"contract {record['name']} has no approved version {version!r} (approved: {known})")


def approved_bytes(view: View, record: Mapping[str, Any], version: str | None = None) -> tuple[dict[str, Any], bytes]:
    entry = find_approval(record, version)
    data = read_view_bytes(view, entry["snapshot"])
    if data is None:
        raise NotFound(f"{entry['snapshot']}: the snapshot of {record['name']} {entry['version']} is missing "
                       "from the coordination branch")
    return entry, data


# --------------------------------------------------------------------------- consumers and providers


def parse_consumer(text: str) -> dict[str, Any]:
    """``X`` or ``X=GET /carts,POST /carts`` → ``{"name": X, "operations": [...]}``."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError("--consumer: give a name, or NAME=METHOD /path,METHOD /path")
    name, sep, ops_text = text.partition("=")
    name = name.strip()
    if not name or any(c in name for c in "\0\n\r") or len(name) > 200:
        raise UsageError(f"--consumer {text!r}: the consumer name (a task id or agent) is missing or invalid")
    operations: list[str] = []
    if sep:
        for raw in ops_text.split(","):
            if raw.strip():
                operations.append(normalize_operation(raw, what=f"--consumer {name}"))
        if not operations:
            raise UsageError(f"--consumer {text!r}: list operations after '=' (e.g. {name}=GET /carts,POST /carts)")
    return {"name": name, "operations": list(dict.fromkeys(operations))}


def normalize_operation(text: str, *, what: str = "operation") -> str:
    match = _OPERATION_RE.match(text.strip())
    if not match or match.group(1).upper() not in HTTP_METHODS:
        raise UsageError(f"{what}: operation {text.strip()!r} must be 'METHOD /path' with METHOD one of "
                         f"{', '.join(HTTP_METHODS)}")
    return f"{match.group(1).upper()} {match.group(2)}"


def merge_consumers(existing: Iterable[Mapping[str, Any]], added: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Union by name; a consumer listed without operations uses everything."""
    out: dict[str, dict[str, Any]] = {}
    for item in [*existing, *added]:
        name = item["name"]
        ops = list(item.get("operations") or [])
        if name not in out:
            out[name] = {"name": name, "operations": ops}
        else:
            prev = out[name]["operations"]
            out[name]["operations"] = [] if (not prev or not ops) else list(dict.fromkeys([*prev, *ops]))
    return list(out.values())


def effective_consumers(record: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The record's consumers plus every (not cancelled) task that consumes the contract."""
    listed = [{**c, "source": "registry"} for c in record.get("consumers") or []]
    names = {c["name"] for c in listed}
    for task_id, task in sorted(tasks.items()):
        if record["name"] in (task.get("consumes") or []) and task.get("status") != "cancelled" \
                and task_id not in names:
            listed.append({"name": task_id, "operations": [], "source": "task", "agent": task.get("agent")})
    return listed


def providers(record: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    out = [record["provided_by"]] if record.get("provided_by") else []
    for task_id, task in sorted(tasks.items()):
        if record["name"] in (task.get("provides") or []) and task_id not in out:
            out.append(task_id)
    return out


def consumer_map(consumers: Iterable[Mapping[str, Any]]) -> dict[str, list[str]] | None:
    """What ``diff_specs(consumers=...)`` takes; None (every change counts) when nobody is registered."""
    out = {c["name"]: list(c.get("operations") or []) for c in consumers}
    return out or None


def _tasks(view: View) -> dict[str, dict[str, Any]]:
    from gitcoord.tasks import load_tasks

    return load_tasks(view)


# --------------------------------------------------------------------------- the project tree


def workdir(repo: pygit2.Repository) -> Path | None:
    return Path(repo.workdir) if repo.workdir else None


def read_spec(repo: pygit2.Repository, path: str, rev: str | None = None) -> bytes:
    """The spec at ``rev`` (a commit-ish), else the work tree file, else HEAD's version."""
    if rev is not None:
        return read_at_rev(repo, path, rev)
    root = workdir(repo)
    if root is not None:
        file = root / path
        if file.is_file():
            from gitcoord.contracts.loader import read_spec_file

            return read_spec_file(file)
    try:
        return read_at_rev(repo, path, "HEAD")
    except NotFound:
        raise NotFound(f"spec {path!r} exists neither in the work tree nor in HEAD") from None


def resolve_commit(repo: pygit2.Repository, rev: str, *, what: str = "--rev") -> pygit2.Commit:
    try:
        return repo.revparse_single(rev).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise NotFound(f"{what} {rev!r}: no such commit") from None


def read_at_rev(repo: pygit2.Repository, path: str, rev: str) -> bytes:
    commit = resolve_commit(repo, rev)
    blob = tree_blob(commit.tree, path)
    if blob is None:
        raise NotFound(f"spec {path!r} does not exist at {rev}")
    return blob


def tree_blob(tree: pygit2.Tree, path: str) -> bytes | None:
    try:
        entry = tree[path]
    except KeyError:
        return None
    return entry.data if entry.type == pygit2.GIT_OBJECT_BLOB else None


def spec_location(repo: pygit2.Repository, path: str) -> str:
    """Where relative file ``$ref``s of the spec resolve: the work tree copy when there is one."""
    root = workdir(repo)
    return str(root / path) if root is not None else path


def parse_spec(path: str, data: bytes) -> dict[str, Any]:
    from gitcoord.contracts.loader import load_document

    return load_document(path, text=data).data


def validate_bytes(repo: pygit2.Repository, path: str, data: bytes, kind: str | None = None):
    """``validate_cached`` on a spec's bytes (cache under ``.git/gitcoord/contracts``)."""
    from gitcoord.contracts.validate import validate_cached

    return validate_cached(spec_location(repo, path), gitutil.cache_dir(repo) / "contracts", kind=kind, text=data)


def diff_bytes(old_path: str, old: bytes, new_path: str, new: bytes, *, record: Mapping[str, Any] | None = None,
               consumers: Iterable[Mapping[str, Any]] | None = None):
    """Classified changes between two versions of a spec given as bytes."""
    from gitcoord.contracts.diff import diff_specs

    kind = "jsonschema" if record is not None and record.get("kind") == "jsonschema" else None
    return diff_specs(parse_spec(old_path, old), parse_spec(new_path, new),
                      consumers=consumer_map(consumers) if consumers is not None else None, kind=kind)


def suggest_bump(diff: Any) -> str:
    """major when breaking, minor when something was added or widened, patch otherwise."""
    if diff.breaking:
        return "major"
    if any(("added" in c.id or "widened" in c.id or "became-optional" in c.id) and c.level != "error"
           for c in diff.changes):
        return "minor"
    return "patch"


# --------------------------------------------------------------------------- operations


def _require_init(txn: Txn) -> None:
    if not txn.base.exists and not txn.changes:
        raise UsageError("no coordination branch yet: run `gitcoord init` first")


def add_contract(store: Store, name: str, spec: str, *, kind: str | None = None, owner: str | None = None,
                 consumers: Iterable[str] = (), provided_by: str | None = None,
                 version: str | None = None) -> dict[str, Any]:
    """Register a contract (create-if-absent). The spec must exist in the work tree or HEAD."""
    from gitcoord.contracts.validate import detect_kind
    from gitcoord.paths import normalize_repo_path

    check_name(name)
    spec = normalize_repo_path(spec, what="--spec")
    data = read_spec(store.repo, spec)
    detected = registry_kind(detect_kind(parse_spec(spec, data)))
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind {kind!r}: use openapi or jsonschema")
    if kind == "openapi" and detected != "openapi":
        raise UsageError(f"--kind openapi: {spec} has no 'openapi' or 'swagger' key; is it a JSON Schema?")
    if kind is None and detected != "openapi":
        # Silently registering a spec whose version key is missing or misspelt as a JSON Schema
        # would make every later validation pass; a JSON Schema contract is declared as one.
        raise UsageError(f"{spec} has no 'openapi' or 'swagger' key: if it is a JSON Schema, register it with "
                         f"--kind jsonschema (gitcoord contract add {name} --spec {spec} --kind jsonschema)")
    kind = kind or detected
    if version is None:
        doc_version = (parse_spec(spec, data).get("info") or {}).get("version") if kind == "openapi" else None
        version = str(semver.parse(doc_version)) if semver.is_semver(doc_version) else None
    else:
        version = str(semver.parse(version, what="--version"))
    parsed_consumers = merge_consumers([], [parse_consumer(c) for c in consumers])
    if provided_by is not None:
        from gitcoord.tasks import check_id

        check_id(provided_by, what="--provided-by")

    def op(txn: Txn) -> dict[str, Any]:
        _require_init(txn)
        path = contract_path(name)
        if txn.has(path):
            raise AlreadyExists(f"contract {name} already exists (see `gitcoord contract show {name}`)")
        other = find_by_spec(load_contracts(txn), spec)
        if other is not None:
            raise AlreadyExists(f"{spec} is already the spec of contract {other['name']}")
        task_owner = None
        if provided_by is not None:
            from gitcoord.tasks import get_task

            task_owner = get_task(txn, provided_by).get("agent")
        record: dict[str, Any] = {
            "name": name, "kind": kind, "spec": spec, "version": version, "status": "draft",
            "owner": owner or task_owner or txn.agent, "provided_by": provided_by,
            "consumers": parsed_consumers, "approved": [], "created_at": txn.now, "updated_at": txn.now,
        }
        txn.put(path, record)
        txn.add_event("contract.added", task=provided_by, summary=f"contract {name} registered ({kind}, {spec})",
                      data={"contract": name, "spec": spec, "kind": kind})
        txn.describe("contract.add", f"add contract {name} ({spec})", task=provided_by)
        return record

    return store.transact(op).value


def approve_contract(store: Store, name: str, *, version: str | None = None, rev: str | None = None,
                     allow_breaking: bool = False) -> dict[str, Any]:
    """Approve the spec (work tree, or ``rev``) as a new version of contract ``name``.

    The spec must be valid. Against the last approved version a breaking change needs a
    breaking version bump (major; minor below 1.0.0), else Violation with the changes in
    ``data["changes"]``. A breaking change is never approved implicitly: it needs that
    ``version`` or ``allow_breaking`` (then the next major is taken), else Violation naming the
    breaking changes and their consumers. Without ``version`` a compatible change gets minor if
    something was added, patch otherwise. Returns what happened (``changed`` False when the
    spec is already approved as is).
    """
    check_name(name)
    record0 = get_contract(store.require(store.snapshot()), name)
    spec = record0["spec"]
    data = read_spec(store.repo, spec, rev)
    result = validate_bytes(store.repo, spec, data, validation_kind(record0))
    if not result.valid:
        first = result.errors[0]
        where = f"{spec}:{first.line}" if first.line else spec
        raise Violation(f"{where}: spec of {name} is invalid ({len(result.errors)} error(s); first at "
                        f"{first.pointer or '/'}: {first.message}); fix it before approving",
                        hint=f"see `gitcoord contract validate {name}`",
                        data={"errors": [e.to_dict() for e in result.errors]})
    from gitcoord.contracts.validate import blob_id

    new_blob = blob_id(data)
    wanted = str(semver.parse(version, what="--version")) if version is not None else None
    memo: dict[tuple, Any] = {}

    def op(txn: Txn) -> dict[str, Any]:
        from gitcoord.tasks import refresh_readiness

        record = get_contract(txn, name)
        if record["spec"] != spec:
            raise UsageError(f"contract {name}: its spec moved to {record['spec']} meanwhile; run approve again")
        tasks = _tasks(txn)
        consumers = effective_consumers(record, tasks)
        last = latest_approval(record)
        diff = None
        if last is not None:
            if last.get("blob") == new_blob and wanted in (None, last["version"]):
                return {"changed": False, "contract": name, "version": last["version"], "previous": last["version"],
                        "breaking": False, "changes": [], "bump": None, "consumers": [], "ready": [],
                        "message": f"{name} {last['version']} is already approved with this exact spec"}
            key = (last["snapshot"], new_blob, repr(consumer_map(consumers)))
            if key not in memo:
                _, old = approved_bytes(txn, record, last["version"])
                memo[key] = diff_bytes(last["snapshot"], old, spec, data, record=record, consumers=consumers)
            diff = memo[key]
        breaking = bool(diff is not None and diff.breaking)
        bump = suggest_bump(diff) if diff is not None else None
        if last is None:
            chosen = wanted or record.get("version") or FIRST_VERSION
        else:
            previous = semver.parse(last["version"])
            if wanted is None and breaking and not allow_breaking:
                errors = [c for c in diff.changes if c.level == "error"]
                affected = sorted({u for c in errors for u in c.consumers}) or [c["name"] for c in consumers]
                need = semver.bump(previous, "major")
                listed = "; ".join(f"{c.id}{' (' + c.operation + ')' if c.operation else ''}" for c in errors[:5])
                more = f" and {len(errors) - 5} more" if len(errors) > 5 else ""
                raise Violation(
                    f"contract {name}: {len(errors)} breaking change(s) since {last['version']}: {listed}{more}; "
                    f"consumers affected: {', '.join(affected) or 'none registered'}. A breaking version is "
                    f"approved only on purpose: --version {need} (or --allow-breaking)",
                    hint=f"gitcoord contract approve {name} --version {need}",
                    data={"breaking": True, "suggested_version": str(need), "consumers": affected,
                          "changes": [c.to_dict() for c in diff.changes]})
            if wanted is None:
                chosen = str(semver.bump(previous, bump or "patch"))
            else:
                chosen = wanted
                if not previous < semver.parse(chosen):
                    raise UsageError(f"--version {chosen}: must be greater than the last approved version "
                                     f"{last['version']}")
                if breaking and not semver.allows_breaking(previous, semver.parse(chosen)):
                    errors = [c for c in diff.changes if c.level == "error"]
                    need = semver.bump(previous, "major")
                    raise Violation(
                        f"contract {name}: {len(errors)} breaking change(s) since {last['version']} need a major "
                        f"version bump (e.g. --version {need}), not {chosen}",
                        hint=f"see `gitcoord contract diff {name}`",
                        data={"breaking": True, "changes": [c.to_dict() for c in diff.changes]})
        if any(e["version"] == chosen for e in record.get("approved") or []):
            raise AlreadyExists(f"contract {name} {chosen} is already approved; pick another --version")
        snap_path = snapshot_path(name, chosen, spec)
        txn.put_bytes(snap_path, data)
        notify = sorted({u for c in (diff.changes if diff else []) if c.level == "error" for u in c.consumers}) \
            if breaking else []
        if breaking and not notify:
            notify = [c["name"] for c in consumers]
        entry = {"version": chosen, "snapshot": snap_path, "blob": new_blob, "approved_by": txn.agent,
                 "approved_at": txn.now, "breaking": breaking}
        if rev is not None:
            entry["rev"] = str(resolve_commit(txn.repo, rev).id)
        record.setdefault("approved", []).append(entry)
        record["version"] = chosen
        record["status"] = "approved"
        record["updated_at"] = txn.now
        txn.put(contract_path(name), record)
        changes = [c.to_dict() for c in diff.changes] if diff is not None else []
        counts = diff.counts() if diff is not None else {"error": 0, "warning": 0, "info": 0}
        previous_version = last["version"] if last else None
        txn.add_event("contract.approved", task=record.get("provided_by"),
                      summary=f"contract {name} {chosen} approved" + (" (breaking)" if breaking else ""),
                      data={"contract": name, "version": chosen, "previous": previous_version, "breaking": breaking,
                            "counts": counts, "consumers": [c["name"] for c in consumers]})
        if breaking:
            txn.add_event("contract.breaking", task=record.get("provided_by"),
                          to=notify[0] if len(notify) == 1 else None,
                          summary=f"contract {name} {chosen}: {counts['error']} breaking change(s) since "
                                  f"{previous_version}; consumers to update: {', '.join(notify) or 'none'}",
                          data={"contract": name, "version": chosen, "previous": previous_version,
                                "consumers": notify,
                                "changes": [c for c in changes if c["level"] == "error"]})
        ready = refresh_readiness(txn)
        txn.describe("contract.approve", f"approve contract {name} {chosen}" + (" (breaking)" if breaking else ""),
                     task=record.get("provided_by"))
        return {"changed": True, "contract": name, "version": chosen, "previous": previous_version,
                "breaking": breaking, "bump": bump if wanted is None and last is not None else None,
                "auto_version": wanted is None, "changes": changes, "consumers": notify, "ready": ready,
                "snapshot": snap_path}

    return store.transact(op).value


def deprecate_contract(store: Store, name: str, *, sunset: str | None = None) -> dict[str, Any]:
    """Mark a contract deprecated (consumers hear about it through a ``contract.deprecated`` event)."""
    from gitcoord import timeutil

    check_name(name)
    sunset_iso = timeutil.iso(timeutil.parse_time(sunset, what="--sunset")) if sunset else None

    def op(txn: Txn) -> dict[str, Any]:
        record = get_contract(txn, name)
        if record["status"] == "deprecated":
            return {"changed": False, "contract": name, "status": "deprecated", "sunset": sunset_iso}
        record["status"] = "deprecated"
        record["updated_at"] = txn.now
        record["deprecated_at"] = txn.now
        if sunset_iso:
            record["sunset"] = sunset_iso
        txn.put(contract_path(name), record)
        consumers = [c["name"] for c in effective_consumers(record, _tasks(txn))]
        txn.add_event("contract.deprecated", task=record.get("provided_by"),
                      summary=f"contract {name} deprecated" + (f", sunset {sunset_iso}" if sunset_iso else ""),
                      data={"contract": name, "version": record.get("version"), "sunset": sunset_iso,
                            "consumers": consumers})
        txn.describe("contract.deprecate", f"deprecate contract {name}", task=record.get("provided_by"))
        return {"changed": True, "contract": name, "status": "deprecated", "sunset": sunset_iso,
                "consumers": consumers}

    return store.transact(op).value


def describe_contract(view: View, name: str) -> dict[str, Any]:
    """The record plus what is derived on read: providers and the merged consumer list."""
    record = get_contract(view, name)
    tasks = _tasks(view)
    return {**record, "providers": providers(record, tasks), "consumers": effective_consumers(record, tasks)}


# --------------------------------------------------------------------------- consumers of a changed contract


def _started(task: Mapping[str, Any]) -> Any:
    from gitcoord import timeutil

    when = task.get("started_at") or task.get("created_at")
    try:
        return timeutil.parse_time(when) if when else None
    except UsageError:
        return None


def _acked_version(record: Mapping[str, Any], task_id: str) -> semver.Version | None:
    best = None
    for ack in record.get("acknowledged") or []:
        if ack.get("task") == task_id and semver.is_semver(ack.get("version")):
            version = semver.parse(ack["version"])
            best = version if best is None or best < version else best
    return best


def unacknowledged_consumers(view: View, tasks: Mapping[str, Mapping[str, Any]] | None = None,
                             ) -> dict[str, list[dict[str, Any]]]:
    """Open consumer tasks that started against a contract version a breaking approval has
    since replaced, and have not acknowledged it: ``{task_id: [{contract, version, started_against}]}``.

    A task "started against" the version approved last before its ``started_at`` (else its
    ``created_at``); it is clear again once it acknowledges the newest breaking version
    (``contract ack``, or a passing ``contract test`` against it). Merges leave these tasks
    out (reason ``contract-changed``) so a consumer built for the old version cannot land
    silently after the provider broke it.
    """
    from gitcoord import timeutil

    tasks = _tasks(view) if tasks is None else tasks
    out: dict[str, list[dict[str, Any]]] = {}
    for name, record in load_contracts(view).items():
        approvals = [a for a in record.get("approved") or [] if a.get("approved_at")]
        if not any(a.get("breaking") for a in approvals):
            continue
        for task_id, task in sorted(tasks.items()):
            if name not in (task.get("consumes") or []) or task.get("status") in ("merged", "cancelled"):
                continue
            start = _started(task)
            if start is None:
                continue
            after = [a for a in approvals if timeutil.parse_time(a["approved_at"]) > start]
            newest_breaking = next((a for a in reversed(after) if a.get("breaking")), None)
            if newest_breaking is None:
                continue
            acked = _acked_version(record, task_id)
            if acked is not None and not acked < semver.parse(newest_breaking["version"]):
                continue
            before = [a for a in approvals if a not in after]
            out.setdefault(task_id, []).append({
                "contract": name, "version": newest_breaking["version"],
                "started_against": before[-1]["version"] if before else None})
    return out


def acknowledge(store: Store, name: str, *, task: str | None = None, via: str = "ack",
                version: str | None = None) -> dict[str, Any]:
    """Record that consumer task(s) of ``name`` were brought up to its latest approved version.

    ``task`` defaults to the caller's own open tasks that consume the contract and still wait
    on a breaking version. Only a task's holder acknowledges it (another agent's task is refused).
    ``via`` says how: ``ack`` (by hand) or ``test`` (a passing ``contract test``); ``version``
    (default: the latest approved) is what was acknowledged.
    """
    check_name(name)
    if task is not None:
        from gitcoord.tasks import check_id

        check_id(task, what="--task")

    def op(txn: Txn) -> dict[str, Any]:
        from gitcoord.tasks import get_task

        record = get_contract(txn, name)
        last = latest_approval(record)
        if last is None:
            raise UsageError(f"contract {name} has no approved version to acknowledge")
        acked = version or last["version"]
        pending = unacknowledged_consumers(txn)
        if task is not None:
            held = get_task(txn, task)
            if name not in (held.get("consumes") or []):
                raise UsageError(f"task {task} does not consume contract {name} (its consumes: "
                                 f"{', '.join(held.get('consumes') or []) or 'none'})")
            if held.get("agent") not in (None, txn.agent):
                raise Violation(f"task {task} is held by {held['agent']}: only its holder acknowledges "
                                f"contract changes for it (ask them: gitcoord msg request --to {held['agent']} ...)")
            chosen = [task]
        else:
            chosen = [t for t, stale in pending.items()
                      if any(s["contract"] == name for s in stale)
                      and (_tasks(txn).get(t) or {}).get("agent") == txn.agent]
            if not chosen:
                raise UsageError(f"none of your tasks waits on a change of contract {name}; name one with --task ID")
        entries = record.setdefault("acknowledged", [])
        for task_id in chosen:
            entries[:] = [e for e in entries if e.get("task") != task_id]
            entries.append({"task": task_id, "version": acked, "by": txn.agent, "at": txn.now, "via": via})
        record["updated_at"] = txn.now
        txn.put(contract_path(name), record)
        for task_id in chosen:
            txn.add_event("contract.acknowledged", task=task_id,
                          summary=f"{task_id} acknowledged contract {name} {acked}"
                                  + (" (contract test passed)" if via == "test" else ""),
                          data={"contract": name, "version": acked, "via": via})
        txn.describe("contract.ack", f"acknowledge contract {name} {acked} for {', '.join(chosen)}",
                     task=chosen[0] if len(chosen) == 1 else None)
        return {"contract": name, "version": acked, "tasks": chosen, "via": via}

    return store.transact(op).value
