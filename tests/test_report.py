"""The HTML report, the timeline SVG and the DAG drawing; a headless-browser render when Chromium exists."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import run_cli
from test_metrics import at, scripted_merges, scripted_tasks, write_state

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SVG_NS = "{http://www.w3.org/2000/svg}"


class StrictParser(HTMLParser):
    """Collects text and checks that every non-void element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> StrictParser:
    parser = StrictParser()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture
def project(repo: Path) -> Path:
    """The scripted metrics project plus a planned task, a lock, a contract and messages."""
    assert run_cli("init", cwd=repo).code == 0
    planned = {"id": "E-1", "title": "Docs <b>not bold</b>", "feature": "shop", "status": "planned",
               "estimate": 2, "depends_on": [{"task": "D", "kind": "info"}]}
    write_state(repo, scripted_tasks(), scripted_merges())

    import pygit2

    from gitcoord.store import Store

    def extra(txn):
        txn.put("tasks/E-1.yaml", planned)
        txn.put("locks/L1.json", {"id": "L1", "resource": "src/shared/config.py", "type": "exclusive",
                                  "holders": [{"agent": "a1", "task": "C", "since": at("13:00")}],
                                  "granted_at": at("13:00"), "expires_at": at("15:00"), "reason": "fixtures"})
        txn.put("contracts/cart-api.yaml", {"name": "cart-api", "kind": "openapi", "spec": "api/cart.yaml",
                                            "version": "1.0.0", "status": "approved", "owner": "a2",
                                            "consumers": [{"name": "a1"}]})

    Store(pygit2.Repository(str(repo)), agent="script").transact(extra)
    assert run_cli("--agent", "a1", "msg", "status", "C", "--progress", "50", cwd=repo).code == 0
    return repo


def test_report_html_is_well_formed_and_complete(project: Path, tmp_path: Path) -> None:
    missing = run_cli("report", "--html", str(tmp_path / "no" / "such" / "r.html"), cwd=project)
    assert missing.code == 2 and "does not exist" in missing.err and not (tmp_path / "no").exists()
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    result = run_cli("--json", "report", "--html", str(out), cwd=project)
    assert result.code == 0, result.err
    assert result.json["tasks"] == 5 and Path(result.json["html"]) == out
    page = out.read_text()
    parsed = parse(page)
    assert parsed.errors == [] and parsed.stack == []
    text = " ".join(parsed.text)
    for task_id in ("A", "B", "C", "D", "E-1"):
        assert f">{task_id}<" in page, task_id
    assert "Docs <b>not bold</b>" in text and "<b>not bold</b>" not in page  # escaped, never markup
    for needle in ("Dependency graph", "Plan", "Actual execution", "Tasks", "Locks", "Contracts", "Verdicts",
                   "src/shared/config.py", "cart-api", "C: 50% done", "conflict rate"):
        assert needle in text, needle
    # self-contained: no scripts, no external resources
    tags = {tag for tag, _ in parsed.tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    for tag, attrs in parsed.tags:
        for name in ("src", "href"):
            assert not attrs.get(name), (tag, attrs)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert page.count("<svg") == 3  # dependency graph, plan Gantt, actual Gantt


def test_report_feature_filter(project: Path, tmp_path: Path) -> None:
    write_state(project, [{"id": "OTHER-1", "title": "elsewhere", "feature": "other", "status": "planned"}])
    out = tmp_path / "shop.html"
    assert run_cli("report", "--html", str(out), "--feature", "shop", cwd=project).code == 0
    page = out.read_text()
    assert "OTHER-1" not in page and ">E-1<" in page and "gitcoord report: shop" in page


def test_timeline_svg_has_a_lane_per_agent(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "timeline.svg"
    result = run_cli("--json", "timeline", "--svg", str(out), cwd=project)
    assert result.code == 0, result.err
    assert result.json["agents"] == ["a1", "a2"] and result.json["tasks"] == 4
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG_NS}svg"
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "a1" in texts and "a2" in texts
    assert all(task in texts for task in "ABCD") and "E-1" not in texts  # E-1 never ran
    bars = [g for g in root.iter(f"{SVG_NS}g") if g.find(f"{SVG_NS}rect") is not None]
    assert len(bars) == 4
    critical = [g for g in bars if g.find(f"{SVG_NS}rect").get("stroke") is not None]
    assert sorted(g.find(f"{SVG_NS}title").text.split(" ")[0] for g in critical) == ["A", "C", "D"]


def test_report_unwritable_target_exits_2(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("report", "--html", str(blocker / "report.html"), cwd=project)
    assert result.code == 2 and "cannot write" in result.err


def test_dag_layers_and_svg() -> None:
    from gitcoord.report import dag_svg, layers

    tasks = [{"id": "A", "title": "a", "status": "merged"},
             {"id": "B", "title": "b", "status": "in_progress", "depends_on": [{"task": "A", "kind": "hard"}]},
             {"id": "C", "title": "c", "status": "ready", "depends_on": [{"task": "A", "kind": "contract"}]},
             {"id": "D", "title": "d", "status": "planned", "depends_on": [{"task": "B", "kind": "hard"},
                                                                          {"task": "C", "kind": "info"}]},
             {"id": "X", "title": "x", "status": "planned", "depends_on": [{"task": "missing", "kind": "hard"}]}]
    assert layers(tasks) == {"A": 0, "B": 1, "C": 1, "D": 2, "X": 0}
    root = ET.fromstring(dag_svg(tasks, critical=["A", "B", "D"]))
    paths = [p for p in root.iter(f"{SVG_NS}path") if p.get("fill") == "none"]
    assert len(paths) == 4  # edges to known tasks only
    assert sum(1 for p in paths if "critical" in p.get("marker-end")) == 2
    dashed = {p.find(f"{SVG_NS}title").text for p in paths if p.get("stroke-dasharray")}
    assert dashed == {"C depends on A (contract)", "D depends on C (info)"}
    waves = [t.text for t in root.iter(f"{SVG_NS}text") if (t.text or "").startswith("WAVE")]
    assert waves == ["WAVE 1", "WAVE 2", "WAVE 3"]


def test_dag_survives_a_cycle() -> None:
    from gitcoord.report import dag_svg

    tasks = [{"id": "P", "title": "p", "depends_on": [{"task": "Q", "kind": "hard"}]},
             {"id": "Q", "title": "q", "depends_on": [{"task": "P", "kind": "hard"}]}]
    ET.fromstring(dag_svg(tasks))  # well-formed, no recursion error


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.skipif(_browser() is None, reason="no chromium/chromium-browser binary installed")
def test_report_renders_in_headless_chromium(project: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert run_cli("report", "--html", str(page), cwd=project).code == 0
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--hide-scrollbars", "--window-size=1280,2400", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2400)
    assert len(data) > 40_000  # a blank page compresses to a few KiB; the charts and tables do not
