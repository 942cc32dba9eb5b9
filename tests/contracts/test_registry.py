"""The contract registry on a real coordination branch: add/list/show, hostile input, approval gating,
events, readiness of consumers, diff from the approved snapshot, deprecation, semver rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import commit_cart_spec, git, run_cli

from gitcoord import gitutil
from gitcoord.contracts import registry, semver
from gitcoord.errors import UsageError
from gitcoord.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "cart-api.yaml"
BREAK_TOTAL = ("required: [items, total]", "required: [items]")  # GET /carts response: 'total' may vanish
ADD_PING = ("paths:\n", "paths:\n  /ping:\n    get:\n      responses:\n        \"204\":\n          description: pong\n")


def cli(repo: Path, *args: str):
    return run_cli("--agent", "alice", *args, cwd=repo)


@pytest.fixture
def project(repo: Path) -> Path:
    """A work tree with api/cart.yaml committed, gitcoord initialised, a provider and a consumer task."""
    commit_cart_spec(repo)
    assert cli(repo, "task", "add", "P", "--title", "carts backend", "--agent", "bob", "--provides", "cart").code == 0
    assert cli(repo, "task", "add", "C", "--title", "cart page", "--agent", "carol",
               "--depends-on", "P:contract", "--consumes", "cart").code == 0
    return repo


def edit(repo: Path, old: str, new: str) -> None:
    spec = repo / "api" / "cart.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new, 1))


def store(repo: Path) -> Store:
    return Store(gitutil.open_repo(repo), agent="alice")


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "gitcoord")


# --------------------------------------------------------------------------- add / list / show


def test_add_list_show_merges_task_consumers_and_providers(project: Path) -> None:
    res = cli(project, "--json", "contract", "add", "cart", "--spec", "./api//cart.yaml",
              "--consumer", "web=get /carts, POST /carts", "--consumer", "mobile")
    assert res.code == 0, res.err
    record = res.json
    assert record["spec"] == "api/cart.yaml"  # normalised
    assert record["kind"] == "openapi" and record["status"] == "draft"
    assert record["version"] == "1.2.0"  # from info.version
    assert record["consumers"] == [{"name": "web", "operations": ["GET /carts", "POST /carts"]},
                                   {"name": "mobile", "operations": []}]
    assert record["owner"] == "alice"

    listed = cli(project, "--json", "contract", "list").json["contracts"]
    assert [c["name"] for c in listed] == ["cart"]
    assert listed[0]["providers"] == ["P"]
    shown = cli(project, "--json", "contract", "show", "cart").json
    assert [c["name"] for c in shown["consumers"]] == ["web", "mobile", "C"]
    assert shown["consumers"][2] == {"name": "C", "operations": [], "source": "task", "agent": "carol"}
    text = cli(project, "contract", "show", "cart").out
    assert "web (GET /carts, POST /carts)" in text and "C [task]" in text and "providers: P" in text
    assert "cart" in cli(project, "contract", "list").out


def test_add_with_provider_task_takes_its_agent_as_owner_and_explicit_kind(project: Path) -> None:
    (project / "schema").mkdir()
    (project / "schema" / "order.json").write_text('{"type": "object", "required": ["id"]}')
    implicit = cli(project, "contract", "add", "order", "--spec", "schema/order.json")
    assert implicit.code == 2 and "--kind jsonschema" in implicit.err  # JSON Schema is never a silent default
    res = cli(project, "--json", "contract", "add", "order", "--spec", "schema/order.json", "--provided-by", "P",
              "--version", "v0.3.0", "--kind", "jsonschema")
    assert res.code == 0, res.err
    assert res.json["kind"] == "jsonschema"
    assert res.json["owner"] == "bob"
    assert res.json["version"] == "0.3.0"
    assert res.json["provided_by"] == "P"


@pytest.mark.parametrize("args, needle", [
    (["bad name", "--spec", "api/cart.yaml"], "contract name"),
    (["../up", "--spec", "api/cart.yaml"], "contract name"),
    (["cart.yaml", "--spec", "api/cart.yaml"], "contract name"),
    (["cart", "--spec", "/etc/passwd"], "absolute"),
    (["cart", "--spec", "../outside.yaml"], ".."),
    (["cart", "--spec", "api/missing.yaml"], "neither in the work tree nor in HEAD"),
    (["cart", "--spec", "api/cart.yaml", "--consumer", "web=FETCH /carts"], "METHOD"),
    (["cart", "--spec", "api/cart.yaml", "--consumer", "web="], "operations"),
    (["cart", "--spec", "api/cart.yaml", "--version", "1.2"], "semantic version"),
    (["cart", "--spec", "api/cart.yaml", "--provided-by", "NOPE"], "unknown task"),
    (["cart", "--spec", "README.md"], "mapping"),
])
def test_bad_names_paths_and_flags_exit_2_without_writing(project: Path, args: list[str], needle: str) -> None:
    before = tip(project)
    res = cli(project, "contract", "add", *args)
    assert res.code == 2, (res.out, res.err)
    assert needle in res.err
    assert "Traceback" not in res.err
    assert tip(project) == before


def test_kind_mismatch_and_duplicates(project: Path) -> None:
    (project / "s.json").write_text('{"type": "string"}')
    assert cli(project, "contract", "add", "s", "--spec", "s.json", "--kind", "openapi").code == 2
    assert cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml").code == 0
    again = cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml")
    assert again.code == 1 and "already exists" in again.err
    same_spec = cli(project, "contract", "add", "cart2", "--spec", "api/cart.yaml")
    assert same_spec.code == 1 and "already the spec of contract cart" in same_spec.err


def test_spec_only_in_head_is_accepted_and_unknown_contract_exits_2(project: Path) -> None:
    (project / "api" / "cart.yaml").unlink()
    assert cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml").code == 0
    res = cli(project, "contract", "show", "nope")
    assert res.code == 2 and "unknown contract 'nope'" in res.err


def test_add_before_init_says_run_init(repo: Path) -> None:
    shutil.copy(FIXTURE, repo / "cart.yaml")
    res = cli(repo, "contract", "add", "cart", "--spec", "cart.yaml")
    assert res.code == 2 and "gitcoord init" in res.err


# --------------------------------------------------------------------------- approval


def test_first_approval_makes_contract_dependents_ready_in_the_same_commit(project: Path) -> None:
    assert cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml").code == 0
    assert cli(project, "--json", "task", "show", "C").json["status"] == "planned"
    res = cli(project, "--json", "contract", "approve", "cart")
    assert res.code == 0, res.err
    assert res.json["version"] == "1.2.0" and res.json["ready"] == ["C"] and not res.json["breaking"]
    assert cli(project, "--json", "task", "show", "C").json["status"] == "ready"
    touched = git(project, "show", "--name-only", "--format=", "gitcoord").splitlines()
    assert "tasks/C.yaml" in touched and "contracts/cart.yaml" in touched
    assert "contracts/cart/1.2.0.yaml" in touched
    snapshot = git(project, "show", "gitcoord:contracts/cart/1.2.0.yaml")
    assert snapshot == FIXTURE.read_text().rstrip("\n")
    record = cli(project, "--json", "contract", "show", "cart").json
    assert record["status"] == "approved"
    assert record["approved"][0]["approved_by"] == "alice"
    assert record["approved"][0]["blob"] == git(project, "hash-object", "api/cart.yaml")
    events = cli(project, "--json", "log", "--type", "contract.approved").json["events"]
    assert len(events) == 1 and events[0]["data"]["contract"] == "cart"


def test_breaking_change_needs_a_major_bump(project: Path) -> None:
    assert cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml", "--consumer", "web=GET /carts").code == 0
    assert cli(project, "contract", "approve", "cart").code == 0
    edit(project, *BREAK_TOTAL)
    before = tip(project)

    refused = cli(project, "contract", "approve", "cart", "--version", "1.3.0")
    assert refused.code == 1
    assert "response-required-property-became-optional" in refused.err  # the changes are listed
    assert "--version 2.0.0" in refused.err
    assert tip(project) == before  # nothing written

    as_json = cli(project, "--json", "contract", "approve", "cart", "--version", "1.3.0")
    assert as_json.code == 1
    assert as_json.json["error"]["changes"][0]["id"] == "response-required-property-became-optional"

    ok = cli(project, "--json", "contract", "approve", "cart", "--version", "2.0.0")
    assert ok.code == 0, ok.err
    assert ok.json["breaking"] and ok.json["previous"] == "1.2.0"
    assert ok.json["consumers"] == ["C", "web"]
    breaking = cli(project, "--json", "log", "--type", "contract.breaking").json["events"]
    assert len(breaking) == 1
    assert breaking[0]["data"]["consumers"] == ["C", "web"]
    assert breaking[0]["data"]["changes"][0]["operation"] == "GET /carts"
    record = cli(project, "--json", "contract", "show", "cart").json
    assert [a["version"] for a in record["approved"]] == ["1.2.0", "2.0.0"]
    assert record["approved"][1]["breaking"] is True
    # the consumer hears about it in its inbox
    inbox = run_cli("--agent", "carol", "--json", "inbox", cwd=project).json
    assert any(m["type"] == "contract.breaking" and m["reason"] == "contract-change" for m in inbox["messages"])


def test_automatic_versions_major_minor_patch_and_idempotence(project: Path) -> None:
    assert cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml").code == 0
    assert cli(project, "contract", "approve", "cart").code == 0
    edit(project, *ADD_PING)
    res = cli(project, "--json", "contract", "approve", "cart")
    assert (res.json["version"], res.json["bump"]) == ("1.3.0", "minor")
    edit(project, "description: Service is up", "description: The service is up")
    res = cli(project, "--json", "contract", "approve", "cart")
    assert (res.json["version"], res.json["bump"]) == ("1.3.1", "patch")
    edit(project, *BREAK_TOTAL)
    # A breaking change is never approved by a bare `approve` (it used to bump to 2.0.0 silently):
    # exit 1 naming the changes and the consumers, nothing written.
    before = tip(project)
    bare = cli(project, "contract", "approve", "cart")
    assert bare.code == 1 and tip(project) == before
    assert "response-required-property-became-optional (GET /carts)" in bare.err
    assert "consumers affected: C" in bare.err and "--version 2.0.0" in bare.err
    as_json = cli(project, "--json", "contract", "approve", "cart").json["error"]
    assert as_json["consumers"] == ["C"] and as_json["suggested_version"] == "2.0.0"
    res = cli(project, "contract", "approve", "cart", "--allow-breaking")
    assert res.code == 0 and "2.0.0" in res.out and "major bump" in res.out and "BREAKING" in res.out
    before = tip(project)
    again = cli(project, "--json", "contract", "approve", "cart")
    assert again.code == 0 and again.json["changed"] is False and tip(project) == before
    assert cli(project, "contract", "approve", "cart", "--version", "2.0.0").code == 0  # same version, same spec
    lower = cli(project, "contract", "approve", "cart", "--version", "1.9.0")
    assert lower.code == 2 and "greater than" in lower.err and tip(project) == before


def test_version_must_grow_and_invalid_spec_is_refused(project: Path) -> None:
    assert cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml").code == 0
    assert cli(project, "contract", "approve", "cart").code == 0
    edit(project, *ADD_PING)
    lower = cli(project, "contract", "approve", "cart", "--version", "1.1.0")
    assert lower.code == 2 and "greater than the last approved version 1.2.0" in lower.err
    edit(project, "type: integer\n                    minimum: 0", "type: integr\n                    minimum: 0")
    before = tip(project)
    bad = cli(project, "contract", "approve", "cart")
    assert bad.code == 1 and "invalid" in bad.err and "api/cart.yaml:" in bad.err
    assert tip(project) == before


def test_breaking_change_nobody_uses_is_not_breaking_for_approval(project: Path) -> None:
    # only 'web' uses GET /carts; the consumer task C is cancelled, so nobody uses GET /health
    assert cli(project, "task", "cancel", "C").code == 0
    assert cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml", "--consumer", "web=GET /carts").code == 0
    assert cli(project, "contract", "approve", "cart").code == 0
    # (a response enum value added is only a warning since issue 13; a new required parameter breaks)
    edit(project, "      operationId: getHealth\n", "      operationId: getHealth\n      parameters:\n"
         "        - {name: probe, in: query, required: true, schema: {type: string}}\n")
    res = cli(project, "--json", "contract", "diff", "cart")
    assert res.code == 0
    change = res.json["changes"][0]
    assert change["level"] == "warning" and "no registered consumer" in change["message"]
    approved = cli(project, "--json", "contract", "approve", "cart")
    assert approved.json["version"] == "1.3.0" and approved.json["breaking"] is False


def test_approve_at_rev(project: Path) -> None:
    assert cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml").code == 0
    edit(project, *BREAK_TOTAL)  # work tree differs; the committed spec is approved
    res = cli(project, "--json", "contract", "approve", "cart", "--rev", "HEAD")
    assert res.code == 0
    record = cli(project, "--json", "contract", "show", "cart").json
    assert record["approved"][0]["rev"] == git(project, "rev-parse", "HEAD")
    assert record["approved"][0]["blob"] == git(project, "rev-parse", "HEAD:api/cart.yaml")
    assert cli(project, "contract", "approve", "cart", "--rev", "nope").code == 2


# --------------------------------------------------------------------------- diff by name


def test_diff_by_name_from_approved_snapshot(project: Path) -> None:
    assert cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml").code == 0
    no_approval = cli(project, "contract", "diff", "cart")
    assert no_approval.code == 2 and "no approved version" in no_approval.err
    assert cli(project, "contract", "approve", "cart").code == 0
    clean = cli(project, "--json", "contract", "diff", "cart")
    assert clean.code == 0 and clean.json == {**clean.json, "breaking": False, "changes": []}
    edit(project, *BREAK_TOTAL)
    res = cli(project, "--json", "contract", "diff", "cart")
    assert res.code == 1
    assert set(res.json) >= {"breaking", "changes"} and res.json["breaking"] is True
    assert {"id", "level", "path", "operation", "message"} <= set(res.json["changes"][0])
    text = cli(project, "contract", "diff", "cart")
    assert text.code == 1 and "error (1):" in text.out and "BREAKING" in text.out
    # --to REV: the committed spec is unchanged since the approval
    assert cli(project, "contract", "diff", "cart", "--to", "HEAD").code == 0
    assert cli(project, "--json", "contract", "approve", "cart", "--allow-breaking").json["version"] == "2.0.0"
    # from 1.2.0 the change is still breaking; from the latest (2.0.0) there is none
    assert cli(project, "contract", "diff", "cart", "--from", "1.2.0").code == 1
    assert cli(project, "contract", "diff", "cart").code == 0
    assert cli(project, "contract", "diff", "cart", "--from", "9.9.9").code == 2


def test_diff_two_files(project: Path, tmp_path: Path) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(FIXTURE.read_text().replace(*BREAK_TOTAL))
    res = cli(project, "--json", "contract", "diff", str(FIXTURE), str(new))
    assert res.code == 1 and res.json["breaking"]
    assert cli(project, "contract", "diff", str(FIXTURE), str(FIXTURE)).code == 0
    assert cli(project, "contract", "diff", str(FIXTURE), "missing.yaml").code == 2
    assert cli(project, "contract", "diff", str(FIXTURE), str(new), "--from", "1.0.0").code == 2


def test_deprecate_notifies_consumers(project: Path) -> None:
    assert cli(project, "contract", "add", "cart", "--spec", "api/cart.yaml").code == 0
    res = cli(project, "--json", "contract", "deprecate", "cart", "--sunset", "2030-01-01")
    assert res.code == 0 and res.json["sunset"] == "2030-01-01T00:00:00Z" and res.json["consumers"] == ["C"]
    assert cli(project, "--json", "contract", "show", "cart").json["status"] == "deprecated"
    events = cli(project, "--json", "log", "--type", "contract.deprecated").json["events"]
    assert events[0]["data"]["sunset"] == "2030-01-01T00:00:00Z"
    assert cli(project, "--json", "contract", "deprecate", "cart").json["changed"] is False
    assert cli(project, "contract", "deprecate", "cart", "--sunset", "soon").code == 2


# --------------------------------------------------------------------------- library pieces


def test_consumer_parsing() -> None:
    assert registry.parse_consumer("web") == {"name": "web", "operations": []}
    assert registry.parse_consumer("web=patch /a/{id}") == {"name": "web", "operations": ["PATCH /a/{id}"]}
    for bad in ("", "=GET /x", "web=GET x", "a\nb"):
        with pytest.raises(UsageError):
            registry.parse_consumer(bad)
    merged = registry.merge_consumers([{"name": "a", "operations": ["GET /x"]}],
                                      [{"name": "a", "operations": ["GET /y"]}, {"name": "b", "operations": []}])
    assert merged == [{"name": "a", "operations": ["GET /x", "GET /y"]}, {"name": "b", "operations": []}]
    assert registry.merge_consumers([{"name": "a", "operations": ["GET /x"]}], [{"name": "a"}])[0]["operations"] == []


def test_semver_rules() -> None:
    v = semver.parse
    assert str(v("v1.2.3")) == "1.2.3"
    assert v("1.0.0-rc.1") < v("1.0.0") < v("1.0.1") < v("1.10.0") < v("2.0.0")
    assert v("1.0.0-alpha.2") < v("1.0.0-alpha.10") < v("1.0.0-beta")
    assert str(semver.bump(v("1.2.3"), "major")) == "2.0.0"
    assert str(semver.bump(v("1.2.3"), "minor")) == "1.3.0"
    assert str(semver.bump(v("1.2.3-rc.1"), "patch")) == "1.2.3"
    assert semver.allows_breaking(v("1.2.3"), v("2.0.0"))
    assert not semver.allows_breaking(v("1.2.3"), v("1.9.0"))
    assert semver.allows_breaking(v("0.2.3"), v("0.3.0"))
    assert not semver.allows_breaking(v("0.2.3"), v("0.2.4"))
    for bad in ("1.2", "01.2.3", "1.2.3.4", "", "x"):
        with pytest.raises(UsageError):
            semver.parse(bad)


def test_library_approve_returns_ready_and_snapshot(project: Path) -> None:
    s = store(project)
    registry.add_contract(s, "cart", "api/cart.yaml", consumers=["web=GET /carts"])
    result = registry.approve_contract(s, "cart", version="1.0.0")
    assert result["snapshot"] == "contracts/cart/1.0.0.yaml" and result["ready"] == ["C"]
    snap = s.snapshot()
    entry, data = registry.approved_bytes(snap, registry.get_contract(snap, "cart"))
    assert entry["version"] == "1.0.0" and data == (project / "api" / "cart.yaml").read_bytes()
