"""gitcoord inside the real `pre-commit` framework, offline: this checkout's .pre-commit-hooks.yaml
via `pre-commit try-repo`, and a local `language: system` config installed with `pre-commit install`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import git, run_cli

import gitcoord
from gitcoord import gitutil
from gitcoord.store import Store

CHECKOUT = Path(gitcoord.__file__).resolve().parents[1]
BRANCH = "feature/shop/agent/backend/api-1"

pytestmark = pytest.mark.skipif(shutil.which("pre-commit") is None or shutil.which("gitcoord") is None,
                                reason="needs the pre-commit package and gitcoord on PATH")


def put_task(repo: Path, task_id: str, agent: str, owns: list[str]) -> None:
    def op(txn):
        txn.put(f"tasks/{task_id}.yaml", {"id": task_id, "title": task_id, "agent": agent, "owns": owns,
                                          "status": "in_progress"})

    Store(gitutil.open_repo(repo), agent="lead").transact(op)


@pytest.fixture
def project(repo, monkeypatch, tmp_path):
    assert run_cli("init", cwd=repo).code == 0
    put_task(repo, "API-1", "alice", ["src/api/"])
    put_task(repo, "WEB-1", "bob", ["src/web/"])
    git(repo, "checkout", "-q", "-b", BRANCH)
    monkeypatch.setenv("GITCOORD_AGENT", "alice")
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # belt and braces: nothing here may touch the network
    return repo


def stage(repo: Path, name: str) -> None:
    target = repo / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("x\n")
    git(repo, "add", name)


def test_manifest_is_valid_and_names_our_entry_points():
    hooks = yaml.safe_load((CHECKOUT / ".pre-commit-hooks.yaml").read_text())
    ids = {h["id"]: h for h in hooks}
    assert {"gitcoord", "gitcoord-system", "gitcoord-commit-msg", "gitcoord-commit-msg-system"} <= set(ids)
    for hook in hooks:
        assert hook["entry"].startswith("gitcoord hook run ")
        assert hook["language"] in ("python", "system")
    proc = subprocess.run(["pre-commit", "validate-manifest", str(CHECKOUT / ".pre-commit-hooks.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_try_repo_uses_the_manifest(project):
    stage(project, "src/api/ok.py")
    ok = subprocess.run(["pre-commit", "try-repo", str(CHECKOUT), "gitcoord-system", "--verbose"], cwd=project,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    stage(project, "src/web/foreign.js")
    bad = subprocess.run(["pre-commit", "try-repo", str(CHECKOUT), "gitcoord-system", "--verbose"], cwd=project,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0
    assert "src/web/foreign.js" in bad.stdout and "WEB-1" in bad.stdout


def test_local_system_config_through_pre_commit_install(project):
    config = {"repos": [{"repo": "local", "hooks": [
        {"id": "gitcoord", "name": "gitcoord", "entry": f"{sys.executable} -m gitcoord hook run pre-commit",
         "language": "system", "pass_filenames": False, "always_run": True},
        {"id": "gitcoord-commit-msg", "name": "gitcoord trailer",
         "entry": f"{sys.executable} -m gitcoord hook run commit-msg", "language": "system",
         "stages": ["commit-msg"]},
    ]}]}
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git(project, "add", ".pre-commit-config.yaml")
    proc = subprocess.run(["pre-commit", "install", "--hook-type", "pre-commit", "--hook-type", "commit-msg"],
                          cwd=project, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    put_task(project, "API-1", "alice", ["src/api/", ".pre-commit-config.yaml"])
    stage(project, "src/api/a.py")
    ok = subprocess.run(["git", "commit", "-q", "-m", "own path"], cwd=project, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Task: API-1" in git(project, "log", "-1", "--format=%B")
    stage(project, "src/web/b.js")
    bad = subprocess.run(["git", "commit", "-q", "-m", "foreign"], cwd=project, capture_output=True, text=True)
    assert bad.returncode != 0 and "src/web/b.js" in bad.stdout + bad.stderr
