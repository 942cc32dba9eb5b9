"""API contracts: loading, validating and diffing OpenAPI / JSON Schema specs.

Kept import-free on purpose: hooks import submodules (``loader``, ``validate``, ``diff``)
only when a contract actually changed, and the heavy validators load lazily inside them.
"""


def check_changed(view, paths, ctx, read=None):
    """Hook plug-in called by ``gitcoord.check`` for changed spec files (see ``prcheck.hook_findings``)."""
    from gitcoord.contracts.prcheck import hook_findings

    return hook_findings(view, paths, ctx, read)
