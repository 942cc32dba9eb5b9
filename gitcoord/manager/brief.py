"""The brief an agent process reads (``GITCOORD_BRIEF``): what to build, where it may write, the
contracts it provides and consumes with their approved versions, what others asked of it on
this task (merge conflicts, failing tests), and the protocol to follow."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from gitcoord import agents_md, messages

MANIFEST_KEYS = ("id", "title", "description", "feature", "role", "agent", "estimate", "priority", "depends_on",
                 "owns", "provides", "consumes", "status", "branch")


def _contract_lines(view: Any, names: list[str]) -> list[str]:
    from gitcoord.contracts import registry

    lines = []
    for name in names:
        record = view.load(f"contracts/{name}.yaml") if registry.NAME_RE.match(name) else None
        if record is None:
            lines.append(f"- {name}: not registered yet")
            continue
        approved = registry.latest_approval(record)
        lines.append(f"- {name}: spec `{record.get('spec')}`, status {record.get('status')}, "
                     + (f"approved version {approved['version']} (snapshot `{approved.get('snapshot')}` on the "
                        f"coordination branch)" if approved else "no approved version yet"))
    return lines or ["- none"]


def requests_for(view: Any, task_id: str, agent: str) -> list[dict[str, Any]]:
    """Coordination requests addressed to ``agent`` about ``task_id``, oldest first."""
    out = []
    for _path, event in messages.iter_events(view):
        data = event.get("data") or {}
        if event.get("type") == "msg.request" and data.get("to_agent") == agent \
                and task_id in (data.get("task_id"), data.get("regarding")):
            out.append(event)
    return out


def render(view: Any, task: Mapping[str, Any], *, agent: str, attempt: int, worktree: str, branch: str,
           store_branch: str = "gitcoord") -> str:
    manifest = {k: task[k] for k in MANIFEST_KEYS if task.get(k) not in (None, [], "")}
    parts = [f"# Task {task['id']}: {task['title']}", "",
             f"You are agent `{agent}` (attempt {attempt}). Work in `{worktree}` on branch `{branch}`; commit there.",
             "", "## Manifest", "", "```yaml", yaml.safe_dump(manifest, sort_keys=False).rstrip(), "```", "",
             "## Paths you own (write only here)", ""]
    parts += [f"- `{p}`" for p in task.get("owns") or []] or ["- none declared"]
    parts += ["", "## Contracts you provide", ""] + _contract_lines(view, list(task.get("provides") or []))
    parts += ["", "## Contracts you consume", ""] + _contract_lines(view, list(task.get("consumes") or []))
    asks = requests_for(view, task["id"], agent)
    if asks:
        parts += ["", "## Requests to you on this task (newest last)", ""]
        for event in asks:
            data = event.get("data") or {}
            parts += [f"### from {data.get('from_agent')} at {event.get('at')}", "", data.get("request", "")]
            if data.get("current_state"):
                parts += ["", "```", data["current_state"], "```"]
            parts.append("")
    parts += ["", agents_md.render(config=view.config, branch=store_branch)]
    return "\n".join(parts) + "\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
