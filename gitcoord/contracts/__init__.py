"""API contracts: loading, validating and diffing OpenAPI / JSON Schema specs.

Kept import-free on purpose: hooks import submodules (``loader``, ``validate``, ``diff``)
only when a contract actually changed, and the heavy validators load lazily inside them.
"""
