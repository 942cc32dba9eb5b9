"""`contract validate`, `contract mock` and `contract test` through the CLI: a real mock process, real
sockets, and a deliberately wrong server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import commit_cart_spec, git, run_cli

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE = FIXTURES / "cart-api.yaml"


def cli(repo: Path, *args: str):
    return run_cli("--agent", "alice", *args, cwd=repo)


@pytest.fixture
def project(repo: Path) -> Path:
    commit_cart_spec(repo)
    assert cli(repo, "contract", "add", "cart", "--spec", "api/cart.yaml").code == 0
    return repo


# --------------------------------------------------------------------------- validate


def test_validate_every_registered_contract(project: Path) -> None:
    res = cli(project, "--json", "contract", "validate")
    assert res.code == 0, res.err
    assert res.json == {"valid": True, "results": [
        {"name": "cart", "spec": "api/cart.yaml", "valid": True, "kind": "openapi-3.0", "errors": []}]}
    assert "ok    cart (api/cart.yaml, openapi-3.0)" in cli(project, "contract", "validate").out
    cached = list((project / ".git" / "gitcoord" / "contracts").glob("validate-*.json"))
    assert len(cached) == 1  # keyed by the spec's blob id
    # keyed by blob id and the declared kind (an openapi contract fails without an openapi key)
    assert cached[0].name == f"validate-{git(project, 'hash-object', 'api/cart.yaml')}-openapi.json"


def test_validate_files_reports_every_error_with_pointer_and_line(project: Path) -> None:
    shutil.copy(FIXTURES / "oas30-invalid.yaml", project / "bad.yaml")
    res = cli(project, "--json", "contract", "validate", "cart", "bad.yaml")
    assert res.code == 1
    assert res.json["valid"] is False
    good, bad = res.json["results"]
    assert good["valid"] and good["name"] == "cart"
    assert bad["name"] is None and not bad["valid"]
    by_pointer = {e["pointer"]: e for e in bad["errors"]}
    assert by_pointer["/paths/~1other/post/responses"]["line"] == 20
    assert len(bad["errors"]) >= 2
    text = cli(project, "contract", "validate", "bad.yaml")
    assert text.code == 1 and "FAIL" in text.out and ":20 /paths/~1other/post/responses:" in text.out


def test_validate_unparsable_is_invalid_and_unknown_is_usage_error(project: Path) -> None:
    (project / "broken.yaml").write_text("openapi: 3.0.3\ninfo: [unclosed\n")
    res = cli(project, "--json", "contract", "validate", "broken.yaml")
    assert res.code == 1 and res.json["results"][0]["errors"][0]["message"]
    missing = cli(project, "contract", "validate", "nope")
    assert missing.code == 2 and "neither a registered contract nor a file" in missing.err


def test_validate_with_nothing_registered(repo: Path) -> None:
    assert cli(repo, "init").code == 0
    res = cli(repo, "contract", "validate")
    assert res.code == 0 and "no contracts registered" in res.out


def test_validate_alias_bomb_is_refused_quickly(project: Path) -> None:
    bomb = ["openapi: 3.0.3", "info: {title: t, version: '1'}", "paths: {}", "x0: &a0 [lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 12):
        bomb.append(f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    (project / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    res = cli(project, "--json", "contract", "validate", "bomb.yaml")
    assert res.code == 1
    assert "alias" in json.dumps(res.json).lower() or "expand" in json.dumps(res.json).lower()


# --------------------------------------------------------------------------- mock + test


def _start_mock(project: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, GITCOORD_AGENT="alice")
    proc = subprocess.Popen([sys.executable, "-m", "gitcoord", "contract", "mock", "cart", *extra], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=30)
    if not line or not line[0].strip():
        proc.kill()
        raise AssertionError(f"mock printed no URL: {proc.stderr.read()[:500]}")
    return proc, line[0].strip()


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("mock did not stop on SIGINT")


def test_mock_process_and_contract_test_against_it(project: Path) -> None:
    proc, url = _start_mock(project)
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        res = cli(project, "--json", "contract", "test", "cart", "--base-url", url)
        assert res.code == 0, res.out
        assert res.json["ok"] is True and res.json["passed"] >= 3 and res.json["failed"] == 0
        text = cli(project, "contract", "test", "cart", "--base-url", url)
        assert text.code == 0 and "PASS  GET" in text.out and text.out.rstrip().splitlines()[-1].startswith("OK:")
        # the mock enforces the contract on requests too
        import urllib.error
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(urllib.request.Request(url + "/carts", method="GET"), timeout=5)
        assert err.value.code == 400
        assert json.loads(err.value.read())["error"]["code"] == "VALIDATION_ERROR"
    finally:
        assert _stop(proc) == 0


def test_mock_of_a_committed_revision_and_json_first_line(project: Path) -> None:
    (project / "api" / "cart.yaml").write_text("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\n")
    proc, first = _start_mock(project, "--rev", "HEAD", "--json")
    try:
        info = json.loads(first)
        assert info["contract"] == "cart" and info["url"].endswith("/v1")  # base path from the committed spec
    finally:
        _stop(proc)


def test_mock_refuses_json_schema_contracts_and_taken_ports(project: Path) -> None:
    (project / "s.json").write_text('{"type": "object"}')
    res = cli(project, "contract", "mock", "s.json")
    assert res.code == 2 and "JSON Schema" in res.err
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = cli(project, "contract", "mock", "cart", "--port", str(port))
    assert busy.code == 2 and "cannot listen" in busy.err


class _WrongHandler(BaseHTTPRequestHandler):
    """Answers every request 200 with a body that breaks the contract."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"items": "not-a-list", "total": -1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


def test_contract_test_against_a_wrong_server_lists_mismatches_with_json_paths(project: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WrongHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        res = cli(project, "--json", "contract", "test", "cart", "--base-url", url)
        assert res.code == 1
        assert res.json["ok"] is False and res.json["failed"] >= 1
        paths = {m["path"] for r in res.json["results"] for m in r["mismatches"]}
        assert "$.items" in paths and "$.total" in paths
        text = cli(project, "contract", "test", "cart", "--base-url", url)
        assert text.code == 1 and "FAIL" in text.out and "$.items:" in text.out
    finally:
        server.shutdown()
        server.server_close()


def test_contract_test_bad_arguments(project: Path) -> None:
    assert cli(project, "contract", "test", "cart", "--base-url", "ftp://x").code == 2
    assert cli(project, "contract", "test", "cart", "--base-url", "http://127.0.0.1:1", "--header", "nocolon").code == 2
