"""Creating the coordination branch."""

from __future__ import annotations

from typing import Any

from gitcoord import gitutil
from gitcoord.store import CONFIG_PATH, Store, Txn


def init_store(store: Store, *, base: str | None = None) -> dict[str, Any]:
    """Create the orphan coordination branch with gitcoord.yaml; a no-op when it exists.

    With a remote, local and remote are first brought together, so an existing shared
    branch is adopted rather than forked.
    """
    if base is not None:
        gitutil.check_ref_name(gitutil.branch_ref(base), what="--base")
    if store.remote:
        store.sync()

    def op(txn: Txn) -> bool:
        if txn.has(CONFIG_PATH):
            return False
        config: dict[str, Any] = {"version": 1, "base": base or "main",
                                  "branch_template": "feature/{feature}/agent/{role}/{task}"}
        txn.put(CONFIG_PATH, config)
        txn.describe("init", f"create coordination branch (base {config['base']})")
        return True

    result = store.transact(op)
    return {"created": bool(result.value), "branch": store.branch, "ref": store.ref, "commit": result.commit,
            "remote": store.remote, "config": store.snapshot().config}
