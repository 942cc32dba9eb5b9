"""Contract tests against the mock (must pass) and against deliberately wrong servers."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from gitcoord.contracts.conformance import ConformanceReport, run_contract_tests
from gitcoord.contracts.mock import MockServer
from gitcoord.errors import RemoteError, UsageError

FIXTURE = Path(__file__).parent / "fixtures" / "cart-api.yaml"
CART_ID = "c0ffee00-0000-4000-8000-000000000001"

Route = Callable[[str, str, dict, bytes], tuple[int, dict, bytes]]


@pytest.fixture(scope="module")
def cart_spec() -> dict:
    return yaml.load(FIXTURE.read_text(), Loader=yaml.CSafeLoader)


class FakeProvider:
    """A tiny hand-written provider; ``route(method, path, headers, body)`` decides the answer."""

    def __init__(self, route: Route):
        self.seen: list[tuple[str, str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.seen.append((self.command, self.path, dict(self.headers.items())))
                status, headers, payload = route(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "FakeProvider":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def json_answer(status: int, value: Any, content_type: str = "application/json") -> tuple[int, dict, bytes]:
    return status, {"Content-Type": content_type}, json.dumps(value).encode()


def result_for(report: ConformanceReport, operation: str) -> Any:
    matches = [r for r in report.results if r.operation == operation]
    assert len(matches) == 1, [r.operation for r in report.results]
    return matches[0]


# --------------------------------------------------------------------------- against the mock


def test_the_mock_conforms_to_its_own_contract(cart_spec: dict) -> None:
    with MockServer(cart_spec) as mock:
        report = run_contract_tests(cart_spec, mock.url)
    assert report.ok, [(r.operation, r.mismatches) for r in report.results if not r.ok]
    operations = [r.operation for r in report.results]
    # every operation has example inputs; createCart has two named body examples
    assert sorted(set(operations)) == sorted({"getHealth", "listCarts", "createCart", "getCart", "deleteCart",
                                              "addCartItem", "updateCartItem", "listCategories", "getCategory"})
    assert [r.example for r in report.results if r.operation == "createCart" and r.source == "example"] == [
        "oneItem", "empty"]
    # every operation with a JSON body also gets a body its schema rejects, and the mock refuses it
    negatives = [r for r in report.results if r.source == "negative"]
    assert sorted(r.operation for r in negatives) == ["addCartItem", "createCart", "updateCartItem"]
    assert all(400 <= r.status < 500 for r in negatives)
    assert operations[-1] == "deleteCart"  # deletes run last
    assert report.skipped == []
    as_dict = report.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert (as_dict["ok"], as_dict["failed"], as_dict["passed"]) == (True, 0, len(report.results))
    assert as_dict["operations"] == {"covered": 9, "total": 9}
    assert set(as_dict["results"][0]) == {"operation", "method", "url", "status", "ok", "mismatches", "example",
                                          "source"}


def _load_smoke_specs() -> dict[str, dict]:
    import importlib.util

    location = Path(__file__).parent / "test_mock.py"
    module_spec = importlib.util.spec_from_file_location("_mock_specs", location)
    module = importlib.util.module_from_spec(module_spec)
    assert module_spec.loader is not None
    module_spec.loader.exec_module(module)
    return {"SPEC_31": module.SPEC_31, "SPEC_20": module.SPEC_20}


# --------------------------------------------------------------------------- against wrong servers


def wrong_cart_server(method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
    if path == "/v1/health":
        return json_answer(500, {"status": "down"})
    if path.startswith("/v1/carts?"):
        return 200, {"Content-Type": "text/plain"}, b"carts"
    if method == "GET" and path == f"/v1/carts/{CART_ID}":
        cart = {"id": CART_ID, "customerId": "9b2f6a3e-4c1d-4f7a-9e8b-2d5c7a1f0e33", "status": "open",
                "currency": "EUR", "items": [{"sku": "SKU-1001", "quantity": 2, "price": "19.99"}],
                "createdAt": "2024-05-01T10:00:00Z"}
        return json_answer(200, cart)
    if path.startswith("/v1/categories"):
        return json_answer(200, [{"slug": "x", "name": "Tiny", "children": [{"slug": "shoes"}]}]
                           if path == "/v1/categories" else {"slug": "shoes", "name": "Shoes"})
    return json_answer(404, {"error": {"code": "NOT_FOUND", "message": "nope"}})


def test_a_wrong_server_fails_with_json_paths(cart_spec: dict) -> None:
    with FakeProvider(wrong_cart_server) as provider:
        report = run_contract_tests(cart_spec, provider.url + "/v1")
    assert not report.ok
    get_cart = result_for(report, "getCart")
    assert not get_cart.ok and get_cart.status == 200
    assert [(m.path, m.message) for m in get_cart.mismatches] == [
        ("$.items[0].price", "expected number, got string"),
        ("$.total", "is required"),
    ]
    health = result_for(report, "getHealth")
    assert health.status == 500
    assert [m.path for m in health.mismatches] == ["status"]
    assert "500 is not documented" in health.mismatches[0].message
    listing = result_for(report, "listCarts")
    assert [m.path for m in listing.mismatches] == ["header.Content-Type"]
    categories = result_for(report, "listCategories")
    assert [(m.path, m.message) for m in categories.mismatches] == [
        ("$[0].children[0].name", "is required"),
        ("$[0].slug", "'x' is too short"),
    ]
    # documented 404 answers with a valid error body are fine; the single category is too
    assert result_for(report, "deleteCart").ok and result_for(report, "getCategory").ok
    assert report.to_dict()["failed"] == sum(1 for r in report.results if not r.ok) >= 4


def test_wrong_server_for_31_and_20_specs() -> None:
    specs = _load_smoke_specs()

    def wrong(method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        if path.startswith("/api/notes/"):
            return json_answer(200, {"id": 0, "text": None, "tag": "memo", "kind": "memo"})
        return json_answer(200, [{"id": 1, "name": None}])

    with FakeProvider(wrong) as provider:
        report31 = run_contract_tests(specs["SPEC_31"], provider.url + "/api")
        report20 = run_contract_tests(specs["SPEC_20"], provider.url + "/v2")
    assert [m.path for m in report31.results[0].mismatches] == ["$.id", "$.tag"]
    pets = result_for(report20, "GET /pets")
    assert [(m.path, m.message) for m in pets.mismatches] == [("$[0].name", "expected string, got null")]
    # The body parameter has no example: one is generated from its schema, and an invalid one is sent too.
    created = {r.source: r for r in report20.results if r.operation == "POST /pets"}
    assert set(created) == {"generated", "negative"} and report20.skipped == []
    assert "expected a 4xx" in created["negative"].mismatches[0].message  # the wrong server accepts anything


def test_other_versions_pass_against_their_mock() -> None:
    for name, spec in _load_smoke_specs().items():
        with MockServer(spec) as mock:
            report = run_contract_tests(spec, mock.url)
        assert report.results and report.ok, (name, report.to_dict())


# --------------------------------------------------------------------------- safety and errors


def test_redirects_are_not_followed(cart_spec: dict) -> None:
    with FakeProvider(lambda *a: json_answer(200, [])) as elsewhere:
        def redirecting(method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
            return 302, {"Location": elsewhere.url + path}, b""

        with FakeProvider(redirecting) as provider:
            report = run_contract_tests(cart_spec, provider.url + "/v1")
        assert elsewhere.seen == []
    assert all(r.status == 302 and not r.ok for r in report.results)


def test_extra_headers_are_sent_and_examples_fill_required_inputs(cart_spec: dict) -> None:
    with FakeProvider(wrong_cart_server) as provider:
        run_contract_tests(cart_spec, provider.url + "/v1", headers={"Authorization": "Bearer t0ken"})
    assert provider.seen and all(h.get("Authorization") == "Bearer t0ken" for _, _, h in provider.seen)
    paths = {(m, p) for m, p, _ in provider.seen}
    assert ("GET", "/v1/carts?customerId=9b2f6a3e-4c1d-4f7a-9e8b-2d5c7a1f0e33") in paths
    assert ("PATCH", f"/v1/carts/{CART_ID}/items/SKU-1001") in paths
    posted = [h for m, p, h in provider.seen if m == "POST" and p == "/v1/carts"]
    assert len(posted) == 3 and all(h["Content-Type"] == "application/json" for h in posted)  # 2 examples, 1 invalid


THINGS = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/things/{id}": {"get": {
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 7}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "required": ["id", "total"],
        "properties": {"id": {"type": "integer"}, "total": {"type": "number"}}}}}}}}}}}


@pytest.mark.parametrize("total, ok", [(12.5, True), ("12.50", False)])
def test_inputs_without_examples_are_generated_from_the_schema(total: Any, ok: bool) -> None:
    def server(method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        return json_answer(200, {"id": int(path.rsplit("/", 1)[1]), "total": total})

    with FakeProvider(server) as provider:
        report = run_contract_tests(THINGS, provider.url)
    assert [(m, p) for m, p, _ in provider.seen] == [("GET", "/things/7")]  # generated: an integer >= 7
    assert report.skipped == [] and report.results[0].source == "generated"
    assert report.ok is ok and report.to_dict()["operations"] == {"covered": 1, "total": 1}
    if not ok:
        assert [(m.path, m.message) for m in report.results[0].mismatches] == [("$.total", "expected number, got string")]


def test_a_run_that_tests_nothing_fails() -> None:
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/upload": {"post": {
        "requestBody": {"required": True, "content": {"application/octet-stream": {}}},
        "responses": {"204": {"description": "ok"}}}}}}
    report = run_contract_tests(spec, "http://127.0.0.1:9/")  # nothing is called
    assert report.results == [] and not report.ok
    assert report.skipped[0].reason.startswith("no example request body, and none can be generated")
    assert report.to_dict()["operations"] == {"covered": 0, "total": 1}
    assert not run_contract_tests({**spec, "paths": {}}, "http://127.0.0.1:9/").ok


def test_content_type_and_status_are_checked_against_the_spec() -> None:
    answers = iter([(200, {"Content-Type": "text/html"}, b"<p>7</p>"), json_answer(201, {"id": 7, "total": 1})])
    with FakeProvider(lambda *a: next(answers)) as provider:
        first = run_contract_tests(THINGS, provider.url)
        second = run_contract_tests(THINGS, provider.url)
    assert [m.path for m in first.results[0].mismatches] == ["header.Content-Type"]
    assert "201 is not documented" in second.results[0].mismatches[0].message


def test_slow_answers_time_out_as_a_mismatch(cart_spec: dict) -> None:
    def slow(method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        time.sleep(0.6)
        return json_answer(200, {"status": "ok"})

    spec = {**cart_spec, "paths": {"/health": cart_spec["paths"]["/health"]}}
    with FakeProvider(slow) as provider:
        report = run_contract_tests(spec, provider.url + "/v1", timeout=0.2)
    assert [(m.path, m.message) for m in report.results[0].mismatches] == [("request", "no answer within 0.2 s")]


def test_unreachable_provider_is_a_remote_error(cart_spec: dict) -> None:
    with FakeProvider(wrong_cart_server) as provider:
        url = provider.url
    with pytest.raises(RemoteError, match="cannot connect"):
        run_contract_tests(cart_spec, url + "/v1", timeout=2)


@pytest.mark.parametrize("base_url", ["ftp://127.0.0.1/", "127.0.0.1:8080", "http://"])
def test_bad_base_url_is_a_usage_error(cart_spec: dict, base_url: str) -> None:
    with pytest.raises(UsageError, match="--base-url"):
        run_contract_tests(cart_spec, base_url)
