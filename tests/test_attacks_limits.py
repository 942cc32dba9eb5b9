"""Attack suite, items 5-7: nothing bricks the remote.

Alias bombs that evade a text pre-scan (CR-only line breaks, verbatim tags with commas) are
refused by the parser-level bound; every hook runs under a wall-clock ceiling and fails closed
with a clear message; deep JSON names its file; a branch template that escapes refs/heads is
refused; `hooks status` tells the truth about a bare repository and about identity.
"""

from __future__ import annotations

import json
import os
import sys

from conftest import git, run_cli
from test_attacks_net import ok, push, team, write_commit

from gitcoord import gitutil
from gitcoord.store import Store


def _alias_bomb(line_break: str = "\n", tag: str = "") -> str:
    lines = ["openapi: 3.0.3", "info: {title: bomb, version: '1.0'}", "paths: {}",
             f"x-a: {tag}&a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    previous = "a"
    for level in "bcdefghijk":
        lines.append(f"x-{level}: {tag}&{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = level
    return line_break.join(lines) + line_break


def test_alias_bombs_that_evade_a_text_prescan_are_refused_by_the_parser(repo):
    for name, text in (("cr.yaml", _alias_bomb("\r")), ("tag.yaml", _alias_bomb(tag="!<tag:x,y:z> "))):
        (repo / name).write_text(text, newline="")
        res = run_cli("contract", "validate", name, cwd=repo)
        assert res.code in (1, 2) and "alias" in (res.err + res.out), (name, res.code, res.err[-300:])
        assert "Traceback" not in res.err


def test_alias_bomb_spec_pushed_to_the_server_is_refused(remote, monkeypatch):
    t = team(remote, monkeypatch)
    ok(run_cli("config", "set", "contracts.globs", '["src/a/*.yaml"]', cwd=t.lead), "globs")
    git(t.alice, "fetch", "-q", "origin")
    (t.alice / "src" / "a").mkdir(parents=True, exist_ok=True)
    (t.alice / "src/a/api.yaml").write_text(_alias_bomb("\r"), newline="")
    git(t.alice, "add", "src/a/api.yaml")
    git(t.alice, "commit", "-q", "--no-verify", "-m", "spec")
    res = push(t.alice, t.branches["A"])
    assert res.returncode != 0 and "alias" in res.stderr, res.stderr


def test_server_hook_out_of_time_fails_closed_with_a_clear_message(remote, monkeypatch, tmp_path):
    t = team(remote, monkeypatch)
    git(remote.bare, "config", "gitcoord.hookTimeout", "1")
    marker = tmp_path / "hold"
    write_commit(t.alice, {"src/a/ok.py": "ok\n"})
    res = push(t.alice, t.branches["A"], env={"GITCOORD_TEST_PAUSE": f"hook-pre-receive:{marker}"})
    assert res.returncode != 0
    assert "ran out of time (1s; git config gitcoord.hookTimeout on the server)" in res.stderr, res.stderr
    assert git(remote.bare, "branch", "--list", t.branches["A"]) == ""
    marker.unlink(missing_ok=True)
    git(remote.bare, "config", "--unset", "gitcoord.hookTimeout")
    assert push(t.alice, t.branches["A"]).returncode == 0


def test_deep_json_names_the_file(repo):
    assert run_cli("init", cwd=repo).code == 0
    deep = b"[" * 100_000 + b"]" * 100_000
    Store(gitutil.open_repo(repo), agent="lead").transact(lambda txn: txn.put_bytes("locks/deep.json", deep))
    res = run_cli("lock", "list", cwd=repo)
    assert res.code == 2 and "locks/deep.json" in res.err and "Traceback" not in res.err, res.err


def test_branch_template_escaping_refs_heads_is_refused(repo):
    assert run_cli("init", cwd=repo).code == 0
    for bad in ("../{task}", "/{task}", "a//{task}", "x/{task}.lock"):
        res = run_cli("config", "set", "branch_template", bad, cwd=repo)
        assert res.code == 2 and "branch_template" in res.err, (bad, res.err)
    assert run_cli("config", "set", "branch_template", "work/{agent}/{task}", cwd=repo).code == 0


def test_hooks_status_in_a_bare_repo_and_identity(remote, monkeypatch):
    t = team(remote, monkeypatch)
    status = ok(run_cli("--json", "hooks", "status", cwd=remote.bare), "status").json
    assert {r["hook"]: r["installed"] for r in status["hooks"]}["pre-receive"] is True
    assert status["identity"]["verified"] is False and "unverified" in status["identity"]["note"]
    text = ok(run_cli("hooks", "status", cwd=remote.bare), "status text").out
    assert "pre-receive  installed" in text and "UNVERIFIED" in text
    hint = "gitcoord config set identity.mode pusher"
    assert hint in text
    ok(run_cli(*hint.split()[1:], cwd=t.lead), "the hint works as printed")
    status = ok(run_cli("--json", "hooks", "status", cwd=remote.bare), "status").json
    assert status["identity"]["mode"] == "pusher" and status["identity"]["verified"] is True
    assert status["identity"]["maintainers"] == ["lead"]


def test_allow_remote_refs_takes_effect_for_contract_validate_only(repo):
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"Pet:\n  type: object\n  properties:\n    name: {type: string}\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/pet.yaml#/Pet"
        (repo / "api.yaml").write_text(
            "openapi: 3.0.3\ninfo: {title: pets, version: '1.0'}\npaths:\n  /pet:\n    get:\n      responses:\n"
            f"        '200':\n          description: ok\n          content:\n            application/json:\n"
            f"              schema: {{$ref: '{url}'}}\n")
        assert run_cli("init", cwd=repo).code == 0
        refused = run_cli("--json", "contract", "validate", "api.yaml", cwd=repo)
        assert refused.code == 1 and "remote $ref" in refused.out
        ok(run_cli("config", "set", "contracts.allow_remote_refs", "true", cwd=repo), "allow")
        fetched = run_cli("--json", "contract", "validate", "api.yaml", cwd=repo)
        assert fetched.code == 0, fetched.out
    finally:
        server.shutdown()


def test_memory_ceiling_fails_the_hook_closed_even_under_on_error_allow(repo):
    import subprocess

    assert run_cli("init", cwd=repo).code == 0
    ok(run_cli("config", "set", "contracts.globs", '["api/*.json"]', cwd=repo), "globs")
    ok(run_cli("config", "set", "policies.on_error", "allow", cwd=repo), "on_error allow")
    (repo / "api").mkdir()
    items = ",".join(['{"a":[1,2,3],"b":"xxxxxxxx"}'] * 400_000)  # ~12 MB of JSON, far more as objects
    (repo / "api" / "big.json").write_text('{"openapi": "3.0.3", "x": [' + items + "]}")
    git(repo, "add", "api/big.json")
    env = dict(os.environ, GITCOORD_HOOK_MEMORY="160", GITCOORD_AGENT="alice")
    proc = subprocess.run([sys.executable, "-m", "gitcoord.hooks", "run", "pre-commit"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "ran out of memory (160 MB; GITCOORD_HOOK_MEMORY)" in proc.stderr, proc.stderr


def test_server_shim_is_recognised_for_uninstall_too(remote):
    ok(run_cli("hooks", "install", "--server", cwd=remote.bare), "install")
    removed = ok(run_cli("--json", "hooks", "uninstall", cwd=remote.bare), "uninstall").json
    assert [(h["hook"], h["action"]) for h in removed["hooks"]] == [("pre-receive", "removed")]
    assert not (remote.bare / "hooks" / "pre-receive").exists()


def test_an_oversized_spec_is_refused_with_its_size(repo):
    from gitcoord.contracts.loader import MAX_SPEC_BYTES

    big = repo / "huge.yaml"
    with open(big, "wb") as fh:
        fh.truncate(MAX_SPEC_BYTES + 1)  # sparse: no real data to read
    res = run_cli("contract", "validate", "huge.yaml", cwd=repo)
    assert res.code != 0 and "over the" in (res.err + res.out) and "byte limit" in (res.err + res.out), res.err
