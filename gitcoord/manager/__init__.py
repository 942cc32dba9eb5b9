"""`gitcoord run`: the guide's manager, driving real agent processes in their own worktrees.

It assigns ready tasks to idle agents (role, priority, remaining critical path), launches
each agent command in the task's worktree, watches exits and heartbeats, integrates in
batches, routes merge failures back to the owning agent, and re-dispatches within a retry
budget. Every decision is an event on the coordination branch (``run.*`` plus the guide's
messages), so a killed runner restarts where it stopped and two runners on one remote split
the work through the same compare-and-swap claims as ``task start``.
"""

from gitcoord.manager.loop import Manager, Outcome, pick_agents

__all__ = ["Manager", "Outcome", "pick_agents"]
