"""`contract test` that tests: operations with path parameters and no examples are called with
generated inputs, a wrong answer fails, invalid bodies must be refused, nothing tested is a failure.
Real HTTP servers on 127.0.0.1: a tiny http.server per case, and the contract's own mock."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import run_cli

ORDERS = """openapi: 3.0.3
info: {title: Orders, version: 1.0.0}
paths:
  /orders/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      operationId: getOrder
      responses:
        "200":
          description: the order
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Order"}
        "404": {description: no such order}
    put:
      operationId: putOrder
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [total]
              properties: {total: {type: number}}
      responses:
        "200":
          description: the order
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Order"}
        "400": {description: invalid order}
    delete:
      operationId: deleteOrder
      responses:
        "204": {description: deleted}
components:
  schemas:
    Order:
      type: object
      required: [id, total]
      properties:
        id: {type: integer}
        total: {type: number}
"""


def provider(total: Any, *, check_bodies: bool = True) -> Callable[[], ThreadingHTTPServer]:
    """An orders server answering `total`; it refuses bodies without a number total when asked to."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, value: Any = None) -> None:
            body = b"" if value is None else json.dumps(value).encode()
            self.send_response(status)
            if value is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer(200, {"id": int(self.path.rsplit("/", 1)[1]), "total": total})

        def do_PUT(self) -> None:
            sent = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
            if check_bodies and not (isinstance(sent, dict) and isinstance(sent.get("total"), (int, float))):
                return self._answer(400)
            self._answer(200, {"id": int(self.path.rsplit("/", 1)[1]), "total": total})

        def do_DELETE(self) -> None:
            self._answer(204)

        def log_message(self, *args: object) -> None:
            pass

    def start() -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    return start


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.yaml"
    path.write_text(ORDERS)
    return path


def run_against(spec: Path, start: Callable[[], ThreadingHTTPServer], *args: str):
    server = start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        return run_cli(*args, "contract", "test", str(spec), "--base-url", url, cwd=spec.parent)
    finally:
        server.shutdown()
        server.server_close()


def test_total_as_a_string_fails_where_it_used_to_be_skipped(orders: Path) -> None:
    res = run_against(orders, provider("12.50"), "--json")
    assert res.code == 1
    assert res.json["operations"] == {"covered": 3, "total": 3} and res.json["skipped"] == []
    failures = {(r["operation"], m["path"]) for r in res.json["results"] for m in r["mismatches"]}
    assert ("getOrder", "$.total") in failures and ("putOrder", "$.total") in failures
    text = run_against(orders, provider("12.50"))
    assert text.code == 1 and "GET http://127.0.0.1:" in text.out and "/orders/1 → 200 (generated inputs)" in text.out
    assert text.out.rstrip().splitlines()[-1].startswith("FAIL: ")
    assert "operations covered 3/3" in text.out


def test_a_conforming_provider_passes_with_generated_and_negative_cases(orders: Path) -> None:
    res = run_against(orders, provider(12.5), "--json")
    assert res.code == 0, res.out
    by_source = {(r["operation"], r["source"]): r for r in res.json["results"]}
    assert set(by_source) == {("getOrder", "generated"), ("putOrder", "generated"), ("putOrder", "negative"),
                              ("deleteOrder", "generated")}
    assert by_source[("putOrder", "negative")]["status"] == 400


def test_a_provider_accepting_invalid_bodies_fails(orders: Path) -> None:
    res = run_against(orders, provider(12.5, check_bodies=False), "--json")
    assert res.code == 1
    (bad,) = [r for r in res.json["results"] if not r["ok"]]
    assert bad["source"] == "negative" and "expected a 4xx" in bad["mismatches"][0]["message"]


def test_nothing_tested_exits_1(tmp_path: Path) -> None:
    spec = tmp_path / "upload.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /upload:\n    post:\n"
                    "      requestBody: {required: true, content: {application/octet-stream: {}}}\n"
                    "      responses: {'204': {description: ok}}\n")
    res = run_cli("contract", "test", str(spec), "--base-url", "http://127.0.0.1:9", cwd=tmp_path)
    assert res.code == 1
    assert "FAIL (nothing was tested): 0 passed, 0 failed, 1 skipped; operations covered 0/1" in res.out
