"""Reading and writing keys of ``gitcoord.yaml`` (dotted keys, checked against its schema)."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from gitcoord import schemas
from gitcoord.errors import InvalidFile, UsageError
from gitcoord.store import CONFIG_PATH, DEFAULT_CONFIG, Snapshot, Store, Txn, merge_config


def known_keys() -> list[str]:
    """Every dotted key the config schema allows (objects are keys too: `policies`)."""
    out: list[str] = []

    def walk(node: dict[str, Any], prefix: str) -> None:
        for name, sub in node.get("properties", {}).items():
            key = f"{prefix}{name}"
            out.append(key)
            if sub.get("type") == "object" and "properties" in sub:
                walk(sub, key + ".")

    walk(schemas.load_schema("config"), "")
    return out


def _check_key(key: str) -> list[str]:
    if key not in known_keys():
        raise UsageError(f"unknown config key {key!r} (known keys: {', '.join(known_keys())})")
    return key.split(".")


def get(snapshot: Snapshot, key: str) -> Any:
    parts = _check_key(key)
    node: Any = snapshot.config
    for part in parts:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def parse_value(text: str) -> Any:
    """A value as YAML scalar/flow syntax: `5` → 5, `true` → True, `[a, b]` → list, else the string."""
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text


def set_value(store: Store, key: str, value: Any) -> dict[str, Any]:
    """Set ``key`` in gitcoord.yaml in one transaction; returns the new effective config."""
    parts = _check_key(key)

    def op(txn: Txn) -> dict[str, Any]:
        if not txn.base.exists:
            raise UsageError("no coordination branch yet: run `gitcoord init` first")
        raw = copy.deepcopy(txn.load(CONFIG_PATH) or {"version": 1})
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UsageError(f"config key {key!r}: {part!r} is not a mapping")
        node[parts[-1]] = value
        try:
            schemas.validate("config", raw, path=CONFIG_PATH)
        except InvalidFile as exc:
            raise UsageError(f"config key {key!r}: {exc.message.split(': ', 1)[-1]}") from None
        txn.put(CONFIG_PATH, raw)
        txn.describe("config.set", f"set {key} = {value!r}")
        return merge_config(DEFAULT_CONFIG, raw)

    return store.transact(op).value


def add_agent(store: Store, name: str, roles: list[str] | None = None) -> dict[str, Any]:
    """Declare an agent in gitcoord.yaml (or add roles to a declared one), without rewriting the list."""
    from gitcoord.identity import check_agent_name

    check_agent_name(name, "agent name")
    for role in roles or []:
        check_agent_name(role, "--role")

    def op(txn: Txn) -> dict[str, Any]:
        if not txn.base.exists:
            raise UsageError("no coordination branch yet: run `gitcoord init` first")
        raw = copy.deepcopy(txn.load(CONFIG_PATH) or {"version": 1})
        agents = raw.setdefault("agents", [])
        entry = next((a for a in agents if isinstance(a, dict) and a.get("name") == name), None)
        is_new = entry is None
        if entry is None:
            entry = {"name": name}
            agents.append(entry)
        known = list(entry.get("roles") or [])
        new_roles = [r for r in roles or [] if r not in known]
        if new_roles:
            entry["roles"] = known + new_roles
        if is_new or new_roles:
            try:
                schemas.validate("config", raw, path=CONFIG_PATH)
            except InvalidFile as exc:
                raise UsageError(f"config add-agent {name}: {exc.message.split(': ', 1)[-1]}") from None
            txn.put(CONFIG_PATH, raw)
            txn.describe("config.add-agent", f"declare agent {name}" + (f" ({', '.join(new_roles)})" if new_roles else ""))
        return entry

    return store.transact(op).value
