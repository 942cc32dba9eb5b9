"""Pictures of a project: the dependency graph as SVG, the actual timeline Gantt, and one
self-contained HTML report (inline CSS and SVG; no scripts, fonts or other network assets).

Gantt charts are drawn by :func:`gitcoord.render.gantt_svg` (plan and actual alike); this
module only adds the layered DAG drawing and the page around them.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

from gitcoord import render

NODE_W, NODE_H = 178, 50
COL_GAP, ROW_GAP = 74, 18
MARGIN_X, MARGIN_TOP = 24, 78
NODE_STROKES = {
    "planned": "#9ca3af", "ready": "#3b82f6", "in_progress": "#d97706", "blocked": "#dc2626",
    "ready_to_merge": "#6366f1", "merged": "#16a34a", "cancelled": "#d1d5db",
}
EDGE_STYLES = {  # kind → (colour, dash pattern)
    "hard": ("#64748b", ""),
    "contract": ("#2563eb", "6 4"),
    "info": ("#94a3b8", "2 4"),
}


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


# --------------------------------------------------------------------------- dependency graph


def layers(tasks: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Column of each task: 0 for tasks without known dependencies, else 1 + the deepest
    dependency (every kind moves a dependent one column right). Cycles are cut, not fatal."""
    ids = {t["id"] for t in tasks}
    deps = {t["id"]: [d["task"] for d in t.get("depends_on") or [] if d["task"] in ids] for t in tasks}
    level: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(tid: str) -> int:
        if tid in level:
            return level[tid]
        if tid in visiting:  # a cycle: treat the back edge as absent
            return -1
        visiting.add(tid)
        best = 0
        stack_deps = deps.get(tid, [])
        for dep in stack_deps:
            best = max(best, depth(dep) + 1)
        visiting.discard(tid)
        level[tid] = best
        return best

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * len(tasks) + 100))
    try:
        for t in tasks:
            depth(t["id"])
    finally:
        sys.setrecursionlimit(limit)
    return level


def dag_svg(tasks: Sequence[dict[str, Any]], *, critical: Sequence[str] = (), title: str = "Dependency graph") -> str:
    """The task DAG, one column per wave (dependencies to the left), nodes coloured by status,
    edges styled by dependency kind, the critical path in red. A standalone SVG document."""
    tasks = list(tasks)
    level = layers(tasks)
    columns: list[list[dict[str, Any]]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for t in tasks:
        columns[level[t["id"]]].append(t)
    # order each column by the mean row of its dependencies (one barycentre pass cuts most crossings)
    row: dict[str, float] = {}
    for number, column in enumerate(columns):
        if number:
            def key(t: dict[str, Any]) -> tuple[float, str]:
                rows = [row[d["task"]] for d in t.get("depends_on") or [] if d["task"] in row]
                return (sum(rows) / len(rows) if rows else float("inf"), t["id"])
            column.sort(key=key)
        else:
            column.sort(key=lambda t: t["id"])
        for i, t in enumerate(column):
            row[t["id"]] = i
    tallest = max((len(c) for c in columns), default=0)
    width = max(MARGIN_X * 2 + len(columns) * NODE_W + max(len(columns) - 1, 0) * COL_GAP, 560)
    height = MARGIN_TOP + tallest * (NODE_H + ROW_GAP) + 30
    pos: dict[str, tuple[float, float]] = {}
    for number, column in enumerate(columns):
        x = MARGIN_X + number * (NODE_W + COL_GAP)
        offset = (tallest - len(column)) * (NODE_H + ROW_GAP) / 2  # centre short columns
        for i, t in enumerate(column):
            pos[t["id"]] = (x, MARGIN_TOP + offset + i * (NODE_H + ROW_GAP))

    crit_nodes = set(critical)
    crit_edges = set(zip(critical, list(critical)[1:]))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="12" role="img" aria-label="{_e(title)}">',
        f"<title>{_e(title)}</title>",
        "<defs>",
    ]
    for name, (colour, _) in list(EDGE_STYLES.items()) + [("critical", (render.CRITICAL, ""))]:
        out.append(f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
                   f'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
                   "</marker>")
    out.append("</defs>")
    out.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>')
    # legend: statuses present, then edge kinds
    lx = MARGIN_X
    present = [s for s in NODE_STROKES if any(t.get("status", "planned") == s for t in tasks)]
    for status in present:
        out.append(f'<rect x="{lx}" y="14" width="14" height="12" rx="3" fill="{render.NODE_FILLS.get(status, "#fff")}" '
                   f'stroke="{NODE_STROKES[status]}"/>')
        out.append(f'<text x="{lx + 19}" y="24" fill="#374151">{_e(status.replace("_", " "))}</text>')
        lx += 19 + 7 * len(status) + 16
    lx += 8
    for kind, (colour, dash) in EDGE_STYLES.items():
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{lx}" y1="20" x2="{lx + 26}" y2="20" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        out.append(f'<text x="{lx + 31}" y="24" fill="#374151">{kind}</text>')
        lx += 31 + 7 * len(kind) + 16
    if crit_nodes:
        out.append(f'<line x1="{lx}" y1="20" x2="{lx + 26}" y2="20" stroke="{render.CRITICAL}" stroke-width="2.5"/>')
        out.append(f'<text x="{lx + 31}" y="24" fill="#374151">critical path</text>')
    for number in range(len(columns)):
        cx = MARGIN_X + number * (NODE_W + COL_GAP) + NODE_W / 2
        out.append(f'<text x="{cx:.0f}" y="{MARGIN_TOP - 16}" text-anchor="middle" fill="#6b7280" font-size="11" '
                   f'letter-spacing="0.5">WAVE {number + 1}</text>')
    if not tasks:
        out.append(f'<text x="{MARGIN_X}" y="{MARGIN_TOP + 14}" fill="#6b7280">no tasks</text>')
    # edges under nodes
    for t in tasks:
        for dep in t.get("depends_on") or []:
            if dep["task"] not in pos:
                continue
            x0, y0 = pos[dep["task"]]
            x1, y1 = pos[t["id"]]
            sx, sy, ex, ey = x0 + NODE_W, y0 + NODE_H / 2, x1, y1 + NODE_H / 2
            if ex <= sx:  # a cycle's back edge: loop below
                sx, ex = x0 + NODE_W / 2, x1 + NODE_W / 2
                sy, ey = y0 + NODE_H, y1 + NODE_H
            is_critical = (dep["task"], t["id"]) in crit_edges
            colour, dash = EDGE_STYLES.get(dep.get("kind", "hard"), EDGE_STYLES["hard"])
            marker = "critical" if is_critical else dep.get("kind", "hard")
            if is_critical:
                colour, dash = render.CRITICAL, ""
            bend = max((ex - sx) / 2, 30)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<path d="M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {ex - bend:.1f},{ey:.1f} {ex - 1:.1f},{ey:.1f}" '
                f'fill="none" stroke="{colour}" stroke-width="{2.5 if is_critical else 1.5}"{dash_attr} '
                f'marker-end="url(#arrow-{marker})"><title>{_e(t["id"])} depends on {_e(dep["task"])} '
                f'({_e(dep.get("kind", "hard"))})</title></path>')
    for t in tasks:
        x, y = pos[t["id"]]
        status = t.get("status", "planned")
        fill = render.NODE_FILLS.get(status, "#ffffff")
        stroke = render.CRITICAL if t["id"] in crit_nodes else NODE_STROKES.get(status, "#9ca3af")
        width_attr = 2.5 if t["id"] in crit_nodes else 1.2
        details = [status.replace("_", " ")]
        if t.get("agent"):
            details.append("@" + str(t["agent"]))
        if isinstance(t.get("estimate"), (int, float)):
            details.append(f"{t['estimate']:g} h")
        tip = f"{t['id']}: {t.get('title', '')} — {' · '.join(details)}"
        out.append(f'<g><title>{_e(tip)}</title>')
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="8" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="{width_attr}"/>')
        out.append(f'<text x="{x + 10:.1f}" y="{y + 17:.1f}" font-weight="bold" fill="#111827">'
                   f'{_e(_clip(t["id"], 24))}</text>')
        out.append(f'<text x="{x + 10:.1f}" y="{y + 31:.1f}" fill="#374151" font-size="11">'
                   f'{_e(_clip(str(t.get("title", "")), 27))}</text>')
        out.append(f'<text x="{x + 10:.1f}" y="{y + 44:.1f}" fill="#6b7280" font-size="10">'
                   f'{_e(_clip(" · ".join(details), 32))}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- Gantt charts


def _nodes(tasks: Sequence[dict[str, Any]], *, as_planned: bool):
    from gitcoord.graph import Node

    return [Node(id=t["id"], estimate=t.get("estimate"), priority=t.get("priority") or 0, role=t.get("role"),
                 agent=t.get("agent"), status="planned" if as_planned else t.get("status", "planned"),
                 depends_on=tuple((d["task"], d["kind"]) for d in t.get("depends_on") or []), title=t.get("title"))
            for t in tasks if t.get("status") != "cancelled"]


def plan_of(tasks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The schedule the estimates predict for the whole feature (done tasks included), with the
    agents named in the tasks (one agent per parallel task when none is named)."""
    from gitcoord.graph import Agent, plan

    nodes = _nodes(tasks, as_planned=True)
    names = sorted({n.agent for n in nodes if n.agent})
    agents = [Agent(name) for name in names] if names else None
    return plan(nodes, agents)


def plan_svg(tasks: Sequence[dict[str, Any]], plan: dict[str, Any] | None = None,
             title: str = "Plan: schedule from estimates") -> str:
    plan = plan if plan is not None else plan_of(tasks)
    return render.gantt_svg(render.plan_bars(plan, _nodes(tasks, as_planned=False)), title=title)


def timeline_bars(metrics: dict[str, Any]) -> list[render.Bar]:
    """Actual runs as Gantt bars: one lane per agent, hours since the first start."""
    critical = set(metrics.get("critical_path") or [])
    rows = [r for r in metrics.get("tasks", []) if r.get("start_hours") is not None]
    rows.sort(key=lambda r: (r["agent"], r["start_hours"], r["id"]))
    return [render.Bar(label=r["id"], lane=r["agent"],
                       start=r["start_hours"], finish=r["finish_hours"], status=r.get("status"),
                       critical=r["id"] in critical) for r in rows]


def timeline_svg(metrics: dict[str, Any], title: str | None = None) -> str:
    """The actual execution Gantt chart (``gitcoord timeline --svg``)."""
    start = metrics.get("started_at")
    title = title or ("Actual execution" + (f" (hours since {start[:16].replace('T', ' ')} UTC)" if start else ""))
    return render.gantt_svg(timeline_bars(metrics), title=title)


# --------------------------------------------------------------------------- HTML report

CSS = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f8fafc; --card:#ffffff; --accent:#2563eb; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font:14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial,
  sans-serif; }
header { background:linear-gradient(120deg,#1e3a8a,#2563eb); color:#fff; padding:28px 40px 24px; }
header h1 { margin:0 0 4px; font-size:26px; letter-spacing:.2px; }
header p { margin:0; opacity:.85; font-size:13px; }
main { max-width:1240px; margin:0 auto; padding:24px 40px 48px; }
section { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:18px 22px; margin:0 0 20px;
  box-shadow:0 1px 2px rgba(15,23,42,.04); }
h2 { font-size:17px; margin:0 0 12px; }
h2 small { color:var(--muted); font-weight:normal; font-size:12px; margin-left:8px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:14px; background:none; border:0;
  box-shadow:none; padding:0; }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:14px 16px; }
.card .v { font-size:24px; font-weight:700; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.6px; }
.card .s { color:var(--muted); font-size:12px; }
.scroll { overflow-x:auto; }
.scroll svg { display:block; max-width:none; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th { text-align:left; color:var(--muted); font-weight:600; font-size:11px; text-transform:uppercase; letter-spacing:.5px;
  border-bottom:1px solid var(--line); padding:6px 8px; }
td { border-bottom:1px solid #f1f5f9; padding:6px 8px; vertical-align:top; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
code { font:12px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:11px; font-weight:600;
  white-space:nowrap; border:1px solid transparent; }
.st-planned { background:#f3f4f6; color:#374151; border-color:#d1d5db; }
.st-ready { background:#dbeafe; color:#1e40af; border-color:#93c5fd; }
.st-in_progress { background:#fef3c7; color:#92400e; border-color:#fcd34d; }
.st-blocked { background:#fee2e2; color:#991b1b; border-color:#fca5a5; }
.st-ready_to_merge { background:#e0e7ff; color:#3730a3; border-color:#a5b4fc; }
.st-merged { background:#dcfce7; color:#166534; border-color:#86efac; }
.st-cancelled { background:#f9fafb; color:#6b7280; border-color:#e5e7eb; }
.lv-good { background:#dcfce7; color:#166534; } .lv-fair { background:#fef3c7; color:#92400e; }
.lv-poor { background:#fee2e2; color:#991b1b; } .lv-unknown { background:#f3f4f6; color:#374151; }
.verdicts { list-style:none; margin:0; padding:0; }
.verdicts li { padding:8px 0; border-bottom:1px solid #f1f5f9; }
.verdicts li:last-child { border-bottom:0; }
.advice { color:var(--muted); margin-top:2px; }
.delta-pos { color:#b91c1c; } .delta-neg { color:#15803d; }
.muted { color:var(--muted); }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:20px; }
@media (max-width:900px) { .grid2 { grid-template-columns:1fr; } main { padding:16px; } }
footer { color:var(--muted); font-size:12px; text-align:center; padding:0 0 30px; }
"""


def _badge(status: str | None) -> str:
    s = status or "planned"
    return f'<span class="badge st-{_e(s)}">{_e(s.replace("_", " "))}</span>'


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if value is None else fmt.format(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _short_time(value: str | None) -> str:
    return "–" if not value else value[:16].replace("T", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (),
           empty: str = "none") -> str:
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f'<th class="num">{_e(h)}</th>' if i in numeric else f"<th>{_e(h)}</th>"
                   for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def report_html(state: dict[str, Any], metrics: dict[str, Any], *, title: str = "gitcoord report",
                generated_at: str | None = None) -> str:
    """The whole report as one HTML document.

    ``state``: ``tasks``, ``locks``, ``contracts``, ``messages`` (events), ``branch``, ``commit``,
    ``feature`` — plain data, so the page is rendered without a store."""
    tasks = list(state.get("tasks") or [])
    if state.get("feature"):
        tasks = [t for t in tasks if t.get("feature") == state["feature"]]
    rows_by_id = {r["id"]: r for r in metrics.get("tasks", [])}
    try:
        plan = plan_of(tasks)
        plan_picture = plan_svg(tasks, plan)
        plan_line = (f"estimated makespan {plan['makespan_hours']:g} h with {plan['agents']} agent(s), "
                     f"sequential {plan['sequential_hours']:g} h, speedup {plan['speedup']:.2f}x")
        plan_critical = plan.get("critical_path") or []
    except Exception as exc:  # noqa: BLE001 — a broken plan (cycle) must not kill the whole report
        plan_picture, plan_line, plan_critical = "", f"no plan: {exc}", []
    counts: dict[str, int] = {}
    for t in tasks:
        counts[t.get("status", "planned")] = counts.get(t.get("status", "planned"), 0) + 1

    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        f"<header><h1>{_e(title)}</h1><p>coordination branch <code>{_e(state.get('branch'))}</code> at "
        f"<code>{_e(str(state.get('commit') or '')[:10])}</code>"
        + (f" · feature <b>{_e(state['feature'])}</b>" if state.get("feature") else "")
        + (f" · generated {_e(_short_time(generated_at))} UTC" if generated_at else "") + "</p></header>",
        "<main>",
    ]
    merged = counts.get("merged", 0)
    cards = [
        ("Tasks", str(len(tasks)), f"{merged} merged · {counts.get('in_progress', 0)} in progress"),
        ("Elapsed", _num(metrics.get("elapsed_hours"), "{:.1f} h"), f"ideal {_num(metrics.get('ideal_hours'), '{:.1f} h')}"),
        ("Total work", _num(metrics.get("total_work_hours"), "{:.1f} h"), f"{metrics.get('agents', 0)} agent(s)"),
        ("Speedup", _num(metrics.get("speedup"), "{:.2f}×"), "total work / elapsed"),
        ("Efficiency", _pct(metrics.get("efficiency")), "work / (elapsed × agents)"),
        ("Parallel", _pct(metrics.get("parallel_fraction")), "tasks overlapping another"),
        ("Conflicts", _pct(metrics.get("conflict_rate")),
         f"{metrics.get('merge_items', {}).get('conflicted', 0)} of "
         f"{metrics.get('merge_items', {}).get('merged', 0) + metrics.get('merge_items', {}).get('conflicted', 0)} "
         "merge items"),
    ]
    parts.append('<section class="cards">' + "".join(
        f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div><div class="s">{_e(s)}</div></div>'
        for k, v, s in cards) + "</section>")

    items = []
    for v in metrics.get("verdicts", []):
        advice = f'<div class="advice">→ {_e(v["advice"])}</div>' if v.get("advice") else ""
        items.append(f'<li><span class="badge lv-{_e(v["level"])}">{_e(v["level"])}</span> '
                     f'<b>{_e(v["metric"].replace("_", " "))}</b>: {_e(v["message"])}{advice}</li>')
    bottlenecks = "".join(f"<li><b>{_e(b['task'])}</b> <span class='muted'>({_e(b['kind'])})</span>: "
                          f"{_e(b['why'])}</li>" for b in metrics.get("bottlenecks", []))
    parts.append('<section><h2>Verdicts</h2><ul class="verdicts">' + "".join(items) + "</ul>"
                 + (f'<h2 style="margin-top:14px">Bottlenecks</h2><ul>{bottlenecks}</ul>' if bottlenecks else "")
                 + "</section>")

    parts.append(f'<section><h2>Dependency graph<small>waves left to right · plan critical path in red</small></h2>'
                 f'<div class="scroll">{dag_svg(tasks, critical=plan_critical)}</div></section>')
    parts.append(f'<section><h2>Plan<small>{_e(plan_line)}</small></h2><div class="scroll">{plan_picture}</div>'
                 "</section>")
    actual_line = ("actual critical path: " + " → ".join(metrics.get("critical_path") or [])
                   if metrics.get("critical_path") else "no task has run yet")
    parts.append(f'<section><h2>Actual execution<small>{_e(actual_line)}</small></h2>'
                 f'<div class="scroll">{timeline_svg(metrics)}</div></section>')

    task_rows = []
    for t in tasks:
        r = rows_by_id.get(t["id"], {})
        deps = ", ".join(f"{d['task']}" + ("" if d["kind"] == "hard" else f" ({d['kind']})")
                         for d in t.get("depends_on") or [])
        task_rows.append([f"<code>{_e(t['id'])}</code>", _e(t.get("title")), _e(t.get("feature") or "–"),
                          _e(t.get("agent") or "–"), _badge(t.get("status")),
                          _num(t.get("estimate") if isinstance(t.get("estimate"), (int, float)) else None, "{:g}"),
                          _num(r.get("duration_hours")), _e(_short_time(r.get("start"))),
                          _e(_short_time(r.get("finish"))), _e(deps or "–")])
    parts.append("<section><h2>Tasks<small>" + _e(" · ".join(f"{k.replace('_', ' ')} {v}"
                                                          for k, v in sorted(counts.items()))) + "</small></h2>"
                 + _table(["id", "title", "feature", "agent", "status", "est h", "actual h", "started", "finished",
                           "depends on"], task_rows, numeric=(5, 6), empty="no tasks") + "</section>")

    pva = []
    for row in metrics.get("plan_vs_actual", []):
        delta = row.get("delta_hours")
        cls = "" if delta is None or delta == 0 else ("delta-pos" if delta > 0 else "delta-neg")
        pva.append([f"<code>{_e(row['task'])}</code>", _num(row.get("estimate_hours")), _num(row.get("actual_hours")),
                    f'<span class="{cls}">{_num(delta, "{:+.2f}")}</span>', _num(row.get("ratio"), "{:.2f}×")])
    summary = metrics.get("plan_summary") or {}
    pva_note = (f"estimated {summary.get('estimated_hours', 0):g} h, actual {summary.get('actual_hours', 0):g} h over "
                f"{summary.get('tasks_compared', 0)} task(s)") if summary.get("tasks_compared") else ""
    locks_rows = [[f"<code>{_e(lk.get('resource'))}</code>", _e(lk.get("type")),
                   _e(", ".join(h.get("agent", "?") for h in lk.get("holders") or [])), _e(lk.get("task") or ", ".join(h["task"] for h in lk.get("holders") or [] if h.get("task")) or "–"),
                   _e(_short_time(lk.get("expires_at"))), str(len(lk.get("queue") or [])), _e(lk.get("reason") or "")]
                  for lk in state.get("locks") or []]
    parts.append('<div class="grid2">'
                 f"<section><h2>Plan vs actual<small>{_e(pva_note)}</small></h2>"
                 + _table(["task", "est h", "actual h", "delta h", "ratio"], pva, numeric=(1, 2, 3, 4),
                          empty="no finished task to compare yet") + "</section>"
                 + "<section><h2>Locks</h2>"
                 + _table(["resource", "type", "holders", "task", "expires", "queue", "reason"], locks_rows,
                          numeric=(5,), empty="no locks held") + "</section></div>")

    contract_rows = [[f"<code>{_e(c.get('name'))}</code>", _e(c.get("kind")), _e(c.get("version") or "–"),
                      _badge_contract(c.get("status")), _e(c.get("owner") or c.get("provided_by") or "–"),
                      _e(", ".join(_consumer_name(x) for x in c.get("consumers") or []) or "–"), f"<code>{_e(c.get('spec'))}</code>"]
                     for c in state.get("contracts") or []]
    parts.append("<section><h2>Contracts</h2>" + _table(["name", "kind", "version", "status", "owner", "consumers",
                                                         "spec"], contract_rows, empty="no contracts") + "</section>")
    msg_rows = [[_e(_short_time(m.get("at"))), _e(m.get("agent")), f"<code>{_e(m.get('type'))}</code>",
                 _e(m.get("task") or "–"), _e(m.get("summary") or "")]
                for m in list(state.get("messages") or [])[-30:]]
    parts.append("<section><h2>Recent messages</h2>" + _table(["at", "agent", "type", "task", "summary"], msg_rows,
                                                              empty="no messages") + "</section>")
    parts.append("</main><footer>generated by gitcoord · self-contained page: no scripts, no network assets</footer>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _consumer_name(consumer: Any) -> str:
    return str(consumer.get("name", "?")) if isinstance(consumer, dict) else str(consumer)


def _badge_contract(status: str | None) -> str:
    cls = {"approved": "merged", "draft": "planned", "deprecated": "cancelled"}.get(status or "", "planned")
    return f'<span class="badge st-{cls}">{_e(status or "–")}</span>'


def collect(snapshot: Any, *, feature: str | None = None, branch: str | None = None) -> tuple[dict[str, Any],
                                                                                               dict[str, Any]]:
    """The report's inputs from a snapshot: (state, metrics)."""
    from gitcoord import messages, metrics

    tasks = list(snapshot.load_dir("tasks", ".yaml").values())
    state = {
        "branch": branch, "commit": snapshot.commit, "feature": feature, "tasks": tasks,
        "locks": list(snapshot.load_dir("locks", ".json").values()),
        "contracts": list(snapshot.load_dir("contracts", ".yaml").values()),
        "messages": messages.list_events(snapshot, type="msg"),
    }
    return state, metrics.from_snapshot(snapshot, feature=feature)
