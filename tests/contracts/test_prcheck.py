"""`contract check` (PR mode) on a real two-commit history, in every output format; the hook plug-in
(`gitcoord.contracts.check_changed`) on a staged breaking change, directly and through `gitcoord check`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pygit2
import pytest
from conftest import commit_cart_spec, git, run_cli

from gitcoord import gitutil
from gitcoord.contracts import check_changed
from gitcoord.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "cart-api.yaml"
BREAK_TOTAL = ("required: [items, total]", "required: [items]")


def cli(repo: Path, *args: str):
    return run_cli("--agent", "alice", *args, cwd=repo)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def project(repo: Path) -> Path:
    """main: the cart spec, registered and approved (1.2.0) with consumer web=GET /carts; HEAD on branch feature."""
    commit_cart_spec(repo)
    assert cli(repo, "contract", "add", "cart", "--spec", "api/cart.yaml", "--consumer", "web=GET /carts").code == 0
    assert cli(repo, "contract", "approve", "cart").code == 0
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def commit_breaking(repo: Path) -> int:
    """Commit the breaking change on the feature branch; return the line of the changed key."""
    spec = repo / "api" / "cart.yaml"
    edit(spec, *BREAK_TOTAL)
    git(repo, "commit", "-q", "-am", "total is optional now")
    return next(i for i, line in enumerate(spec.read_text().splitlines(), 1) if line.strip() == "required: [items]")


def test_pr_check_text_fails_on_unapproved_breaking_change(project: Path) -> None:
    commit_breaking(project)
    res = cli(project, "contract", "check", "--base", "main")
    assert res.code == 1
    assert "api/cart.yaml (contract cart, approved 1.2.0; modified): valid" in res.out
    assert "ERROR   contract-breaking" in res.out and "response-required-property-became-optional" in res.out
    assert "consumers to notify: web" in res.out
    assert "gitcoord contract approve cart --version 2.0.0" in res.out
    assert res.out.rstrip().splitlines()[-1].startswith("FAIL: 1 spec(s), 1 error(s)")


def test_pr_check_json(project: Path) -> None:
    commit_breaking(project)
    res = cli(project, "--json", "contract", "check", "--base", "main", "--head", "feature")
    assert res.code == 1
    data = res.json
    assert data["ok"] is False and data["head"] == git(project, "rev-parse", "feature")
    assert data["merge_base"] == git(project, "rev-parse", "main")
    assert data["consumers_to_notify"] == ["web"]
    (spec,) = data["specs"]
    assert spec["contract"] == "cart" and spec["valid"] is True and spec["approved_version"] == "1.2.0"
    assert spec["base_diff"]["breaking"] and spec["approved_diff"]["breaking"]
    assert spec["approved_diff"]["changes"][0]["consumers"] == ["web"]
    assert [f["rule"] for f in spec["findings"]] == ["contract-breaking"]
    assert cli(project, "contract", "check", "--base", "main", "--format", "json").json == data


def test_pr_check_github_annotations_point_at_the_line(project: Path) -> None:
    line = commit_breaking(project)
    res = cli(project, "contract", "check", "--base", "main", "--format", "github")
    assert res.code == 1
    lines = res.out.strip().splitlines()
    assert lines[0].startswith(f"::error file=api/cart.yaml,line={line},title=gitcoord contract-breaking::")
    assert len(lines) == 2  # one annotation per finding, then the summary notice
    assert lines[-1].startswith("::notice title=gitcoord contract check::")
    assert "consumers to notify: web" in lines[-1]


def test_pr_check_junit_is_well_formed(project: Path) -> None:
    commit_breaking(project)
    res = cli(project, "contract", "check", "--base", "main", "--format", "junit")
    assert res.code == 1
    root = ET.fromstring(res.out)
    assert root.tag == "testsuites" and root.get("failures") == "1"
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == "cart: api/cart.yaml"
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "contract-breaking"
    assert "response-required-property-became-optional" in failure.text


def test_pr_check_passes_once_the_major_bump_is_approved(project: Path) -> None:
    commit_breaking(project)
    assert cli(project, "contract", "approve", "cart", "--version", "2.0.0").code == 0
    res = cli(project, "--json", "contract", "check", "--base", "main")
    assert res.code == 0, res.out
    (spec,) = res.json["specs"]
    assert spec["approved_version"] == "2.0.0" and spec["approved_diff"] is None  # head is the approved spec
    assert spec["base_diff"]["breaking"] is True  # still reported against the base
    junit = ET.fromstring(cli(project, "contract", "check", "--base", "main", "--format", "junit").out)
    assert junit.get("failures") == "0"


def test_pr_check_invalid_spec_with_line(project: Path) -> None:
    spec = project / "api" / "cart.yaml"
    edit(spec, "    get:\n      operationId: getHealth\n      responses:", "    get:\n      operationId: getHealth\n"
                                                                          "      responses: 7\n      x-old:")
    git(project, "commit", "-q", "-am", "broken")
    res = cli(project, "--json", "contract", "check", "--base", "main")
    assert res.code == 1
    (item,) = res.json["specs"]
    assert item["valid"] is False and item["findings"][0]["rule"] == "contract-invalid"
    assert item["findings"][0]["line"] == 15
    github = cli(project, "contract", "check", "--base", "main", "--format", "github").out
    assert "::error file=api/cart.yaml,line=15,title=gitcoord contract-invalid::" in github


def test_pr_check_nothing_changed_and_non_spec_changes(project: Path) -> None:
    (project / "README.md").write_text("changed\n")
    git(project, "commit", "-q", "-am", "docs")
    res = cli(project, "contract", "check", "--base", "main")
    assert res.code == 0 and "no contract specs changed" in res.out
    assert ET.fromstring(cli(project, "contract", "check", "--base", "main", "--format", "junit").out) is not None
    assert cli(project, "contract", "check", "--base", "nope").code == 2


def test_draft_contracts_and_glob_specs_only_need_to_be_valid(project: Path) -> None:
    s = Store(gitutil.open_repo(project), agent="alice")

    def set_globs(txn):
        config = txn.load("gitcoord.yaml")
        config["contracts"] = {"globs": ["schemas/*.json"], "allow_remote_refs": False}
        txn.put("gitcoord.yaml", config)
    s.transact(set_globs)
    git(project, "checkout", "-q", "main")
    (project / "schemas").mkdir()
    (project / "schemas" / "order.json").write_text('{"type": "object", "properties": {"id": {"type": "string"}}}')
    (project / "api" / "draft.yaml").write_text(FIXTURE.read_text())
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "more specs")
    assert cli(project, "contract", "add", "draft", "--spec", "api/draft.yaml").code == 0
    git(project, "checkout", "-q", "-b", "feature2")
    edit(project / "api" / "draft.yaml", *BREAK_TOTAL)
    (project / "schemas" / "order.json").write_text('{"type": "object", "required": ["id"]}')
    git(project, "commit", "-q", "-am", "breaking drafts")
    res = cli(project, "--json", "contract", "check", "--base", "main")
    assert res.code == 0, res.out
    by_path = {spec["path"]: spec for spec in res.json["specs"]}
    assert set(by_path) == {"api/draft.yaml", "schemas/order.json"}
    assert by_path["api/draft.yaml"]["findings"][0]["rule"] == "contract-breaking-vs-base"
    assert by_path["api/draft.yaml"]["findings"][0]["level"] == "warning"
    assert by_path["schemas/order.json"]["contract"] is None
    assert by_path["schemas/order.json"]["base_diff"]["breaking"] is True
    (project / "schemas" / "order.json").write_text('{"type": 12}')
    git(project, "commit", "-q", "-am", "invalid schema")
    assert cli(project, "contract", "check", "--base", "main").code == 1


def test_deleting_an_approved_spec_fails(project: Path) -> None:
    git(project, "rm", "-q", "api/cart.yaml")
    git(project, "commit", "-q", "-m", "gone")
    res = cli(project, "--json", "contract", "check", "--base", "main")
    assert res.code == 1 and res.json["specs"][0]["findings"][0]["rule"] == "contract-removed"


# --------------------------------------------------------------------------- hook plug-in


def _staged_reader(repo: pygit2.Repository):
    index = repo.index
    index.read()

    def read(path: str) -> bytes | None:
        try:
            entry = index[path]
        except KeyError:
            return None
        return repo[entry.id].data
    return read


def test_check_changed_on_a_staged_breaking_change(project: Path) -> None:
    spec = project / "api" / "cart.yaml"
    edit(spec, *BREAK_TOTAL)
    git(project, "add", "api/cart.yaml")
    shutil.copy(FIXTURE, spec)  # the work tree is back to the approved text; only the index breaks
    repo = gitutil.open_repo(project)
    snap = Store(repo, agent="alice").snapshot()
    findings = check_changed(snap, ["api/cart.yaml"], None, _staged_reader(repo))
    assert len(findings) == 1
    finding = findings[0]
    assert set(finding) == {"path", "rule", "level", "message", "owner", "hint"}
    assert (finding["rule"], finding["level"], finding["path"]) == ("contract-breaking", "error", "api/cart.yaml")
    assert "web" in finding["message"] and "1.2.0" in finding["message"]
    assert finding["owner"] == "alice" and "--version 2.0.0" in finding["hint"]
    assert check_changed(snap, ["api/cart.yaml"], None) == []  # without read: the (approved) work tree
    assert check_changed(snap, ["README.md"], None) == []  # not a spec


def test_check_changed_invalid_draft_and_deleted(project: Path) -> None:
    repo = gitutil.open_repo(project)
    snap = Store(repo, agent="alice").snapshot()
    bad = check_changed(snap, ["api/cart.yaml"], None, lambda p: b"openapi: 3.0.3\ninfo: {}\npaths: {}\n")
    assert bad[0]["rule"] == "contract-invalid" and "(line 2)" in bad[0]["message"]
    gone = check_changed(snap, ["api/cart.yaml"], None, lambda p: None)
    assert gone[0]["rule"] == "contract-removed" and gone[0]["level"] == "error"


def test_gitcoord_check_staged_reports_the_contract(project: Path) -> None:
    edit(project / "api" / "cart.yaml", *BREAK_TOTAL)
    git(project, "add", "api/cart.yaml")
    res = cli(project, "--json", "check", "--staged")
    rules = {v["rule"]: v for v in res.json["violations"]}
    assert "contract-breaking" in rules, res.out
    assert res.code == 1


def test_hook_path_stays_lean_when_no_spec_changed(project: Path) -> None:
    code = (
        "import sys; from gitcoord import gitutil, check; from gitcoord.store import Store\n"
        f"snap = Store(gitutil.open_repo({str(project)!r}), agent='alice').snapshot()\n"
        "check.run_check(snap, ['README.md'], agent='alice', branch='feature', mode='staged')\n"
        "heavy = [m for m in ('gitcoord.contracts.prcheck', 'gitcoord.contracts.validate', 'gitcoord.contracts.diff',"
        " 'openapi_spec_validator') if m in sys.modules]\n"
        "print(heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=project, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().replace("'", '"')) == []


def test_check_staged_judges_the_staged_blob_not_the_work_tree(project: Path) -> None:
    spec = project / "api" / "cart.yaml"
    original = spec.read_text()
    edit(spec, *BREAK_TOTAL)
    git(project, "add", "api/cart.yaml")
    spec.write_text(original)  # the work tree is fine again, the index still breaks the contract
    res = cli(project, "--json", "check", "--staged")
    assert res.code == 1 and "contract-breaking" in {v["rule"] for v in res.json["violations"]}
    # and the other way round: a clean index with a broken work tree passes
    git(project, "add", "api/cart.yaml")
    edit(spec, *BREAK_TOTAL)
    ok = cli(project, "--json", "check", "--staged")
    assert "contract-breaking" not in {v["rule"] for v in ok.json["violations"]}


def test_check_range_judges_the_committed_content(project: Path) -> None:
    commit_breaking(project)
    spec = project / "api" / "cart.yaml"
    edit(spec, "required: [items]", "required: [items, total]")  # fixed only in the work tree
    res = cli(project, "--json", "check", "--range", "main..feature")
    assert "contract-breaking" in {v["rule"] for v in res.json["violations"]}, res.out


def test_mock_and_test_fall_back_to_the_approved_snapshot(project: Path) -> None:
    consumer = project.parent / "consumer"
    git(project.parent, "clone", "-q", str(project), str(consumer))
    git(consumer, "fetch", "-q", "origin", "gitcoord:gitcoord")
    (consumer / "api" / "cart.yaml").unlink()
    git(consumer, "commit", "-qam", "consumer checkout without the provider's spec")
    proc = subprocess.Popen([sys.executable, "-m", "gitcoord", "--agent", "bob", "contract", "mock", "cart"],
                            cwd=consumer, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if not url else url
        res = run_cli("--agent", "bob", "--json", "contract", "test", "cart", "--approved", "--base-url", url,
                      cwd=consumer)
        assert res.code == 0, res.out + res.err
        assert res.json["passed"] >= 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    missing = run_cli("contract", "test", "cart", "--approved", "9.9.9", "--base-url", "http://127.0.0.1:9", cwd=consumer)
    assert missing.code == 2


def test_pr_check_unparsable_spec_carries_the_parser_line(project: Path) -> None:
    spec = project / "api" / "cart.yaml"
    edit(spec, "  title: Cart API\n", "  title: [Cart API\n")
    git(project, "commit", "-q", "-am", "unparsable")
    res = cli(project, "--json", "contract", "check", "--base", "main")
    assert res.code == 1
    (item,) = res.json["specs"]
    assert item["findings"][0]["rule"] == "contract-invalid" and "invalid YAML" in item["findings"][0]["message"]
    assert item["errors"][0]["line"] == item["findings"][0]["line"] is not None
