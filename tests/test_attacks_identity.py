"""Attack suite, item 6: identity that can be verified, with real `ssh-keygen` keys.

Signed mode: bob's key claiming to be alice is refused, an unsigned commit is refused, alice's is
accepted; the maintainer's key comes from the server's own config. Pusher mode: the forge's
authenticated user (REMOTE_USER here, as a web server would set it) decides, not the commit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import git, run_cli
from test_attacks_net import ok, team

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


def keypair(directory: Path, name: str) -> tuple[Path, str]:
    key = directory / f"{name}_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key, (directory / f"{name}_ed25519.pub").read_text().strip()


def sign_with(work: Path, key: Path | None) -> None:
    if key is None:
        git(work, "config", "--unset", "gpg.format", check=False)
        git(work, "config", "--unset", "user.signingkey", check=False)
        return
    git(work, "config", "gpg.format", "ssh")
    git(work, "config", "user.signingkey", str(key))


def signed_team(remote, monkeypatch, tmp_path):
    """The team, with SSH keys: lead's on the server (maintainer), alice's and bob's in gitcoord.yaml;
    lead switches the project to identity.mode: signed (a signed commit itself)."""
    t = team(remote, monkeypatch)
    keys = {name: keypair(tmp_path, name) for name in ("lead", "alice", "bob")}
    git(remote.bare, "config", "--add", "gitcoord.maintainer", f"lead {keys['lead'][1]}")
    agents = [{"name": "lead", "roles": ["maintainer"]},
              {"name": "alice", "signing_key": keys["alice"][1]},
              {"name": "bob", "signing_key": keys["bob"][1]}]
    ok(run_cli("config", "set", "agents", json.dumps(agents), cwd=t.lead), "agents with keys")
    sign_with(t.lead, keys["lead"][0])
    ok(run_cli("config", "set", "identity.mode", "signed", cwd=t.lead), "signed mode")
    return t, keys, agents


def test_signed_mode_accepts_only_the_agents_own_key(remote, monkeypatch, tmp_path):
    t, keys, agents = signed_team(remote, monkeypatch, tmp_path)
    tip = git(remote.bare, "rev-parse", "refs/heads/gitcoord")
    assert git(remote.bare, "cat-file", "commit", tip).count("BEGIN SSH SIGNATURE") == 1
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'lead namespaces="git" {keys["lead"][1]}\n')
    verified = subprocess.run(["git", "-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed}",
                               "verify-commit", tip], cwd=remote.bare, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr  # git itself accepts gitcoord's signature

    # alice, signing with her own key: accepted
    sign_with(t.alice, keys["alice"][0])
    ok(run_cli("msg", "status", "A", "--progress", "10", cwd=t.alice), "alice's signed status")

    # bob's key claiming to be alice: refused
    sign_with(t.bob, keys["bob"][0])
    res = run_cli("--agent", "alice", "msg", "status", "A", "--progress", "99", cwd=t.bob)
    assert res.code != 0 and "signed by bob" in res.err, res.err

    # an unsigned commit: refused
    sign_with(t.bob, None)
    res = run_cli("msg", "status", "B", "--progress", "5", cwd=t.bob)
    assert res.code != 0 and "not signed by a known agent key" in res.err, res.err

    # bob, signing with his own key, acts as himself
    sign_with(t.bob, keys["bob"][0])
    ok(run_cli("msg", "status", "B", "--progress", "5", cwd=t.bob), "bob's signed status")

    # a key listed in gitcoord.yaml for a maintainer's name does not count: only the server's does
    agents[0]["signing_key"] = keys["bob"][1]
    res = run_cli("--agent", "lead", "config", "set", "agents", json.dumps(agents), cwd=t.bob)
    assert res.code != 0, res.err
    ok(run_cli("task", "edit", "A", "--owns", "src/a/", "--owns", "src/shared/", cwd=t.lead),
       "the maintainer, signing with the key the server lists")


def test_pusher_mode_uses_the_forge_identity_not_the_commit(remote, monkeypatch):
    t = team(remote, monkeypatch)
    ok(run_cli("config", "set", "identity", '{"mode": "pusher", "pusher_env": "REMOTE_USER", '
               '"pushers": {"alice-gh": "alice"}}', cwd=t.lead), "pusher mode")
    monkeypatch.setenv("REMOTE_USER", "alice-gh")
    ok(run_cli("msg", "status", "A", "--progress", "10", cwd=t.alice), "alice as herself")
    res = run_cli("--agent", "bob", "msg", "status", "B", "--progress", "99", cwd=t.alice)
    assert res.code != 0 and "alice is pushing it" in res.err, res.err
    monkeypatch.delenv("REMOTE_USER")
    res = run_cli("msg", "status", "A", "--progress", "11", cwd=t.alice)
    assert res.code != 0 and "no pusher identity" in res.err, res.err


def test_signed_mode_task_branches_take_only_the_holders_signed_commits(remote, monkeypatch, tmp_path):
    t, keys, agents = signed_team(remote, monkeypatch, tmp_path)
    branch = t.branches["A"]

    (t.alice / "src/a").mkdir(parents=True, exist_ok=True)
    (t.alice / "src/a/one.py").write_text("1\n")
    git(t.alice, "add", "-A")
    git(t.alice, "commit", "-q", "--no-verify", "-m", "unsigned")
    res = subprocess.run(["git", "push", "--no-verify", "origin", branch], cwd=t.alice, capture_output=True, text=True)
    assert res.returncode != 0 and "not signed by a known agent key" in res.stderr, res.stderr

    sign_with(t.alice, keys["alice"][0])
    git(t.alice, "commit", "-q", "--amend", "--no-verify", "-S", "--no-edit")
    res = subprocess.run(["git", "push", "--no-verify", "origin", branch], cwd=t.alice, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr

    # bob signs a commit for alice's branch with his own (valid) key: not the holder
    git(t.bob, "fetch", "-q", "origin")
    git(t.bob, "switch", "-q", "-c", "evil", f"origin/{branch}")
    sign_with(t.bob, keys["bob"][0])
    (t.bob / "src/a/two.py").write_text("2\n")
    git(t.bob, "add", "-A")
    git(t.bob, "commit", "-q", "--no-verify", "-S", "-m", "bob was here")
    res = subprocess.run(["git", "push", "--no-verify", "origin", f"HEAD:refs/heads/{branch}"], cwd=t.bob,
                         capture_output=True, text=True)
    assert res.returncode != 0 and "is by bob" in res.stderr, res.stderr
