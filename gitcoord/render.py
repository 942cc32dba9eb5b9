"""Human formats for plans and timelines: text table, Mermaid, Graphviz DOT, SVG Gantt.

Everything returns a string; nothing here touches the store. `gantt_svg` is generic
(bars in lanes on a time axis) so the same chart serves planned schedules and actual
timelines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from gitcoord.graph import Node

# Light fills for graph nodes, strong fills for bars; unknown statuses fall back to gray.
NODE_FILLS = {
    "planned": "#e5e7eb",
    "ready": "#dbeafe",
    "in_progress": "#fef3c7",
    "blocked": "#fee2e2",
    "ready_to_merge": "#e0e7ff",
    "merged": "#dcfce7",
    "cancelled": "#f9fafb",
    "missing": "#ffffff",
}
BAR_FILLS = {
    "planned": "#94a3b8",
    "ready": "#60a5fa",
    "in_progress": "#f59e0b",
    "blocked": "#ef4444",
    "ready_to_merge": "#818cf8",
    "merged": "#22c55e",
    "cancelled": "#d1d5db",
}
DEFAULT_BAR_FILL = "#5b8def"
EXTRA_BAR_FILLS = ("#14b8a6", "#a855f7", "#ec4899", "#84cc16", "#f97316", "#0ea5e9")
CRITICAL = "#dc2626"


def _hours(value: float) -> str:
    return f"{value:g} h" if value == int(value) else f"{value:.2f} h"


# --------------------------------------------------------------------------- text


def plan_text(plan: dict) -> str:
    """A readable schedule table followed by summary lines (the `plan` text format)."""
    critical = set(plan.get("critical_path", []))
    rows = [("task", "agent", "start", "finish", "")]
    for entry in plan.get("schedule", []):
        rows.append(
            (
                entry["task"],
                entry["agent"],
                _hours(entry["start_hours"]),
                _hours(entry["finish_hours"]),
                "critical" if entry["task"] in critical else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]), row[3].rjust(widths[3])]
        lines.append(("  ".join(cells) + "  " + row[4]).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths[:4]))
    if len(rows) == 1:
        lines = ["nothing left to schedule"]
    available = plan.get("agents_available")
    of = f" of {available}" if available else ""
    lines.append("")
    lines.append(
        f"makespan {_hours(plan['makespan_hours'])}, sequential {_hours(plan['sequential_hours'])}, "
        f"speedup {plan['speedup']:.2f}x, efficiency {plan['efficiency'] * 100:.0f}% "
        f"with {plan['agents']} agent(s){of}"
    )
    path = plan.get("critical_path", [])
    if path:
        hours = plan.get("critical_path_hours")
        length = f" ({_hours(hours)})" if hours is not None else ""
        lines.append(f"critical path{length}: " + " -> ".join(path))
    waves = plan.get("waves", [])
    if waves:
        shown = " | ".join(f"{i + 1}: {', '.join(w)}" for i, w in enumerate(waves[:8]))
        more = f" | ... {len(waves) - 8} more" if len(waves) > 8 else ""
        lines.append(f"waves ({len(waves)}): {shown}{more}")
    ready = plan.get("ready")
    if ready is not None:
        lines.append("ready now: " + (", ".join(ready) if ready else "none"))
    for warning in plan.get("warnings", []):
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- graphs


def _critical_edges(plan: dict | None) -> set[tuple[str, str]]:
    path = (plan or {}).get("critical_path") or []
    return set(zip(path, path[1:]))


def _edges(nodes: Sequence[Node]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(dependency, dependent, kind) in input order, and ids referenced but missing."""
    known = {n.id for n in nodes}
    edges, missing = [], []
    for node in nodes:
        for dep_id, kind in node.depends_on:
            edges.append((dep_id, node.id, kind))
            if dep_id not in known and dep_id not in missing:
                missing.append(dep_id)
    return edges, missing


def _label_lines(node: Node) -> list[str]:
    lines = [node.id]
    if node.title:
        lines.append(node.title)
    details = [_hours(node.hours) + ("?" if node.estimate is None else "")]
    if node.role:
        details.append(node.role)
    if node.agent:
        details.append("@" + node.agent)
    lines.append(" · ".join(details))
    return lines


def _mermaid_text(text: str) -> str:
    """Mermaid entity escapes: '#' first, then the characters that break a quoted label."""
    text = text.replace("#", "#35;")
    for char, code in (('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("&", "#amp;"), ("|", "#124;")):
        text = text.replace(char, code)
    return text.replace("\n", " ")


def mermaid(nodes: Sequence[Node], plan: dict | None = None) -> str:
    """A `flowchart LR` that renders on GitHub: nodes styled by status, the dependency
    kind on each edge (info dotted), critical-path edges and nodes in red."""
    nodes = list(nodes)
    edges, missing = _edges(nodes)
    ids = {n.id: f"t{i}" for i, n in enumerate(nodes)}
    ids.update({m: f"x{i}" for i, m in enumerate(missing)})
    critical_edges = _critical_edges(plan)
    critical_nodes = set((plan or {}).get("critical_path") or [])
    out = ["flowchart LR"]
    for node in nodes:
        label = "<br/>".join(_mermaid_text(line) for line in _label_lines(node))
        out.append(f'    {ids[node.id]}["{label}"]')
    for dep_id in missing:
        out.append(f'    {ids[dep_id]}["{_mermaid_text(dep_id)}<br/>(unknown task)"]')
    highlighted = []
    for number, (dep_id, task_id, kind) in enumerate(edges):
        arrow = "-.->" if kind == "info" else "-->"
        out.append(f'    {ids[dep_id]} {arrow}|"{_mermaid_text(kind)}"| {ids[task_id]}')
        if (dep_id, task_id) in critical_edges:
            highlighted.append(str(number))
    statuses: dict[str, list[str]] = {}
    for node in nodes:
        statuses.setdefault(node.status, []).append(ids[node.id])
    if missing:
        statuses.setdefault("missing", []).extend(ids[m] for m in missing)
    for status, members in statuses.items():
        css = _css_class(status)
        fill = NODE_FILLS.get(status, "#f3f4f6")
        extra = ",stroke-dasharray:4 3" if status in ("cancelled", "missing") else ""
        out.append(f"    classDef {css} fill:{fill},stroke:#6b7280,color:#111827{extra}")
        out.append(f"    class {','.join(members)} {css}")
    for node in nodes:
        if node.id in critical_nodes:
            out.append(f"    style {ids[node.id]} stroke:{CRITICAL},stroke-width:3px")
    if highlighted:
        out.append(f"    linkStyle {','.join(highlighted)} stroke:{CRITICAL},stroke-width:3px")
    return "\n".join(out) + "\n"


def _css_class(status: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in status)
    return f"s_{cleaned}"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(nodes: Sequence[Node], plan: dict | None = None) -> str:
    """A Graphviz digraph (left to right): nodes filled by status, the dependency kind on
    each edge (info dashed, contract bold), the critical path in red."""
    nodes = list(nodes)
    edges, missing = _edges(nodes)
    critical_edges = _critical_edges(plan)
    critical_nodes = set((plan or {}).get("critical_path") or [])
    out = [
        "digraph plan {",
        "    rankdir=LR;",
        '    node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, color="#6b7280"];',
        '    edge [fontname="Helvetica", fontsize=9, color="#6b7280"];',
    ]
    for node in nodes:
        label = "\n".join(_label_lines(node))
        attrs = [f"label={_dot_string(label)}", f'fillcolor="{NODE_FILLS.get(node.status, "#f3f4f6")}"']
        attrs.append(f"tooltip={_dot_string(f'{node.id}: {node.status}')}")
        if node.id in critical_nodes:
            attrs.append(f'color="{CRITICAL}", penwidth=2.5')
        if node.status == "cancelled":
            attrs.append('style="rounded,filled,dashed"')
        out.append(f"    {_dot_string(node.id)} [{', '.join(attrs)}];")
    for dep_id in missing:
        out.append(
            f"    {_dot_string(dep_id)} [label={_dot_string(dep_id + chr(10) + '(unknown task)')}, "
            'style="rounded,dashed", fillcolor="#ffffff"];'
        )
    for dep_id, task_id, kind in edges:
        attrs = [f"label={_dot_string(kind)}"]
        if kind == "info":
            attrs.append("style=dashed")
        elif kind == "contract":
            attrs.append("style=bold")
        if (dep_id, task_id) in critical_edges:
            attrs.append(f'color="{CRITICAL}", penwidth=2.5')
        out.append(f"    {_dot_string(dep_id)} -> {_dot_string(task_id)} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- gantt


@dataclass
class Bar:
    """One bar of a Gantt chart: ``label`` from ``start`` to ``finish`` in ``lane``."""

    label: str
    lane: str
    start: float
    finish: float
    status: str | None = None
    critical: bool = False


def plan_bars(plan: dict, nodes: Sequence[Node] | None = None) -> list[Bar]:
    """The bars of a plan's schedule: one lane per agent, status from the nodes if given."""
    status = {n.id: n.status for n in nodes or ()}
    critical = set(plan.get("critical_path") or [])
    lane_order = {name: i for i, name in enumerate(plan.get("agent_names") or [])}
    entries = sorted(plan.get("schedule", []), key=lambda e: lane_order.get(e["agent"], len(lane_order)))
    return [
        Bar(
            label=entry["task"],
            lane=entry["agent"],
            start=entry["start_hours"],
            finish=entry["finish_hours"],
            status=status.get(entry["task"]),
            critical=entry["task"] in critical,
        )
        for entry in entries
    ]


def _nice_step(span: float, target_ticks: int = 10) -> float:
    raw = span / max(target_ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    """Short labels: 1.90286 -> 1.9, 12.345 -> 12.3, 0.0004 -> 0.0004."""
    if value == 0 or abs(value) >= 1e-3:
        return f"{round(value, 2):g}" if abs(value) < 10 else f"{round(value, 1):g}"
    return f"{value:.2g}"


def _fill_for(status: str | None, extra: dict[str, str]) -> str:
    if status is None:
        return DEFAULT_BAR_FILL
    if status in BAR_FILLS:
        return BAR_FILLS[status]
    if status not in extra:
        extra[status] = EXTRA_BAR_FILLS[len(extra) % len(EXTRA_BAR_FILLS)]
    return extra[status]


def gantt_svg(bars: Sequence[Bar], *, title: str, unit: str = "h") -> str:
    """A standalone SVG Gantt chart: one row per bar, grouped by lane (in order of first
    appearance, bars by start), a time axis with ticks, a status legend, and a tooltip
    (<title>) on every bar. Critical bars get a red outline."""
    width = 980
    row_h, bar_h, lane_h = 22, 14, 24
    label_chars = max([len(b.label) for b in bars] + [len(b.lane) + 2 for b in bars] + [8])
    left = min(max(label_chars * 7 + 24, 120), 320)
    right = 70
    lanes: dict[str, list[Bar]] = {}
    for bar in bars:
        lanes.setdefault(bar.lane, []).append(bar)
    for members in lanes.values():
        members.sort(key=lambda b: (b.start, b.finish, b.label))

    extra_fills: dict[str, str] = {}
    statuses: list[str | None] = []
    for bar in bars:
        if bar.status not in statuses:
            statuses.append(bar.status)
    legend_items = [(s if s is not None else "scheduled", _fill_for(s, extra_fills)) for s in statuses]
    if any(b.critical for b in bars):
        legend_items.append(("critical", None))

    lo = min([0.0] + [b.start for b in bars])
    hi = max([b.finish for b in bars] + [lo])
    span = hi - lo if hi > lo else 1.0
    step = _nice_step(span)
    hi_axis = lo + math.ceil(span / step - 1e-9) * step
    plot_w = width - left - right

    def x(value: float) -> float:
        return left + (value - lo) / (hi_axis - lo) * plot_w

    top = 84
    height = top + sum(lane_h + row_h * len(m) for m in lanes.values()) + 40
    if not bars:
        height = top + 60

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="16" y="28" font-size="17" font-weight="bold" fill="#111827">{escape(title)}</text>',
    ]
    # legend, one line under the title
    lx = 16
    for name, fill in legend_items:
        if fill is None:
            out.append(
                f'<rect x="{lx}" y="42" width="14" height="10" rx="2" fill="#ffffff" '
                f'stroke="{CRITICAL}" stroke-width="2"/>'
            )
        else:
            out.append(f'<rect x="{lx}" y="42" width="14" height="10" rx="2" fill="{fill}"/>')
        out.append(f'<text x="{lx + 19}" y="51" fill="#374151">{escape(name.replace("_", " "))}</text>')
        lx += 19 + 7 * len(name) + 18
    if not bars:
        out.append(f'<text x="16" y="{top + 20}" fill="#6b7280">nothing to show</text>')
        out.append("</svg>")
        return "\n".join(out) + "\n"

    bottom = height - 40
    # lane bands first, so grid lines and bars draw over them
    y = top
    for number, (lane, members) in enumerate(lanes.items()):
        block_h = lane_h + row_h * len(members)
        shade = "#f9fafb" if number % 2 == 0 else "#f1f5f9"
        out.append(f'<rect x="0" y="{y}" width="{width}" height="{block_h}" fill="{shade}"/>')
        out.append(f'<line x1="0" y1="{y}" x2="{width}" y2="{y}" stroke="#d1d5db"/>')
        out.append(f'<text x="12" y="{y + 16}" font-weight="bold" fill="#1f2937">{escape(lane)}</text>')
        y += block_h
    # axis: grid lines and tick labels
    ticks = int(round((hi_axis - lo) / step))
    for k in range(ticks + 1):
        value = lo + k * step
        tx = x(value)
        out.append(f'<line x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{bottom}" stroke="#e2e8f0"/>')
        out.append(
            f'<text x="{tx:.1f}" y="{top - 10}" text-anchor="middle" fill="#6b7280" font-size="11">'
            f"{escape(_number(value))}</text>"
        )
    out.append(
        f'<text x="{left - 12}" y="{top - 10}" text-anchor="end" fill="#6b7280" font-size="11">'
        f"time ({escape(unit)})</text>"
    )
    y = top
    for lane, members in lanes.items():
        y += lane_h
        for bar in members:
            x0, x1 = x(bar.start), x(bar.finish)
            bw = max(x1 - x0, 2.0)
            by = y + (row_h - bar_h) / 2
            fill = _fill_for(bar.status, extra_fills)
            stroke = f' stroke="{CRITICAL}" stroke-width="2"' if bar.critical else ""
            tip = (
                f"{bar.label} ({bar.lane}): {_number(bar.start)}–{_number(bar.finish)} {unit}"
                f" [{_number(bar.finish - bar.start)} {unit}]"
                + (f", {bar.status}" if bar.status else "")
                + (", critical path" if bar.critical else "")
            )
            out.append(
                f'<text x="24" y="{y + 15}" fill="#111827">{escape(_clip(bar.label, (left - 30) // 7))}</text>'
            )
            out.append(
                f'<g><title>{escape(tip)}</title><rect x="{x0:.1f}" y="{by:.1f}" width="{bw:.1f}" '
                f'height="{bar_h}" rx="3" fill={quoteattr(fill)}{stroke}/></g>'
            )
            out.append(
                f'<text x="{x0 + bw + 4:.1f}" y="{y + 15}" fill="#6b7280" font-size="10">'
                f"{escape(_number(bar.finish - bar.start))} {escape(unit)}</text>"
            )
            y += row_h
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#9ca3af"/>')
    out.append(f'<line x1="0" y1="{bottom}" x2="{width}" y2="{bottom}" stroke="#d1d5db"/>')
    total = f"{len(bars)} bars in {len(lanes)} lanes, {_number(lo)}–{_number(hi)} {unit}"
    out.append(f'<text x="16" y="{bottom + 24}" fill="#6b7280" font-size="11">{escape(total)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _clip(text: str, chars: int) -> str:
    chars = max(int(chars), 4)
    return text if len(text) <= chars else text[: chars - 1] + "…"

