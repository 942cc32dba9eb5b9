"""Renderers: text, Mermaid, DOT and SVG are well-formed and carry the plan."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from gitcoord.graph import Agent, Node, plan
from gitcoord.render import Bar, dot, gantt_svg, mermaid, plan_bars, plan_text

SVG = "{http://www.w3.org/2000/svg}"
TRICKY = 'Orders <API> & "v1" #1 | a\\b'


def sample() -> list[Node]:
    return [
        Node("API", 4, 2, "backend", title=TRICKY, status="merged"),
        Node("DB", 3, 0, "backend", status="in_progress"),
        Node("UI", 5, 0, "frontend", depends_on=(("API", "contract"),)),
        Node("DOCS", 2, 0, None, depends_on=(("API", "info"),)),
        Node("E2E", 2, 0, "qa", depends_on=(("UI", "hard"), ("DB", "hard"))),
        Node("PERF", None, 0, "qa", depends_on=(("E2E", "hard"), ("GHOST", "hard"))),
    ]


def sample_plan() -> dict:
    return plan(sample(), [Agent("alice", ("backend",)), Agent("bob", ("frontend", "qa")), Agent("carol")])


def test_plan_text_lists_every_task_and_the_summary():
    result = sample_plan()
    text = plan_text(result)
    lines = text.splitlines()
    assert lines[0].split() == ["task", "agent", "start", "finish"]
    for entry in result["schedule"]:
        assert any(line.split()[:2] == [entry["task"], entry["agent"]] for line in lines[2:])
    assert "makespan 8 h" in text and "sequential 13 h" in text and "3 agent(s) of 3" in text
    assert "critical path (8 h): UI -> E2E -> PERF" in text
    assert "warning: task PERF depends on unknown task GHOST" in text
    assert plan_text(plan([])).startswith("nothing left to schedule")


def test_mermaid_is_a_flowchart_with_escaped_labels_kinds_and_critical_edges():
    nodes = sample()
    chart = mermaid(nodes, sample_plan())
    lines = chart.splitlines()
    assert lines[0] == "flowchart LR"
    # every label is quoted and contains no raw quote, angle bracket, pipe or ampersand
    labels = re.findall(r'\["(.*?)"\]', chart)
    assert len(labels) == len(nodes) + 1  # + the unknown GHOST
    for label in labels:
        assert not re.search(r'["<>|&]', label.replace("<br/>", ""))
    assert "#lt;API#gt; #amp; #quot;v1#quot; #35;1 #124; a\\b" in chart
    edges = [line for line in lines if "-->" in line or "-.->" in line]
    assert len(edges) == 6
    assert sum('|"info"|' in e for e in edges) == 1 and all("-.->" in e for e in edges if '"info"' in e)
    # critical edges UI->E2E and E2E->PERF are the 3rd and 5th edges (0-based 2 and 4)
    assert "    linkStyle 2,4 stroke:#dc2626,stroke-width:3px" in lines
    assert any(line.startswith("    classDef s_merged ") for line in lines)
    assert "    class t0 s_merged" in lines
    # ids used in edges are all declared
    declared = set(re.findall(r"^    (\w+)\[", chart, re.M))
    used = set(re.findall(r"^    (\w+) -", chart, re.M)) | set(re.findall(r"\| (\w+)$", chart, re.M))
    assert used <= declared
    assert "linkStyle" not in mermaid(nodes)


def dot_statements(text: str) -> list[str]:
    body = text.strip()
    assert body.startswith("digraph plan {") and body.endswith("}")
    return [line.strip() for line in body.splitlines()[1:-1]]


def test_dot_is_well_formed_and_marks_the_critical_path():
    text = dot(sample(), sample_plan())
    statements = dot_statements(text)
    assert all(s.endswith(";") for s in statements)
    # quotes balanced once escaped quotes are removed
    for s in statements:
        assert s.replace('\\"', "").count('"') % 2 == 0, s
    assert '"UI" -> "E2E" [label="hard", color="#dc2626", penwidth=2.5];' in statements
    assert '"API" -> "DOCS" [label="info", style=dashed];' in statements
    assert 'Orders <API> & \\"v1\\" #1 | a\\\\b' in text
    assert any(s.startswith('"GHOST" [') and "unknown task" in s for s in statements)


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz not installed")
def test_dot_is_accepted_by_graphviz():  # pragma: no cover - depends on the machine
    subprocess.run(["dot", "-Tsvg"], input=dot(sample(), sample_plan()), text=True, check=True, capture_output=True)


def test_gantt_svg_parses_and_has_one_bar_per_entry_with_tooltips():
    result = sample_plan()
    bars = plan_bars(result, sample())
    svg = gantt_svg(bars, title='Plan <orders> & "more"')
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == 'Plan <orders> & "more"'
    groups = root.findall(f"{SVG}g")
    assert len(groups) == len(result["schedule"]) == len(bars)
    tips = [g.find(f"{SVG}title").text for g in groups]
    assert any(tip.startswith("UI (bob): 0–5 h") and "critical path" in tip for tip in tips)
    critical = [g.find(f"{SVG}rect") for g in groups if "critical path" in g.find(f"{SVG}title").text]
    assert len(critical) == 3 and all(r.get("stroke") == "#dc2626" for r in critical)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for lane in ("alice", "bob", "carol"):
        assert lane in texts
    assert "time (h)" in texts and "in progress" in texts


def test_gantt_svg_is_generic_and_scales_bars_to_the_axis():
    bars = [
        Bar("build & <test>", "lane \"1\"", 10, 30, status="merged"),
        Bar("deploy", "lane 2", 30, 35, status="custom-status", critical=True),
        Bar("instant", "lane 2", 35, 35),
    ]
    root = ET.fromstring(gantt_svg(bars, title="actual", unit="min"))
    rects = [g.find(f"{SVG}rect") for g in root.findall(f"{SVG}g")]
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] == pytest.approx(4 * widths[1], rel=1e-3)  # 20 min vs 5 min
    assert widths[2] >= 2  # a zero-length bar stays visible
    xs = [float(r.get("x")) for r in rects]
    assert xs[1] == pytest.approx(xs[0] + widths[0], abs=0.2)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert 'lane "1"' in texts and "custom-status" in texts and "time (min)" in texts
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert ticks[0] == "0" and float(ticks[-1]) >= 35


def test_gantt_svg_without_bars_is_still_valid():
    root = ET.fromstring(gantt_svg([], title="empty"))
    assert "nothing to show" in [t.text for t in root.iter(f"{SVG}text")]
