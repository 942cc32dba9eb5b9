"""Security changes: requirement lists per operation, and the security scheme definitions.

A ``security`` list is an OR of AND-groups: a client authenticates by satisfying any one
group, i.e. every scheme in it with the listed scopes. An empty list (or an empty group)
means anonymous access. A change breaks a client when a group it satisfied before no longer
satisfies any group of the new list.
"""

from __future__ import annotations

from typing import Any, Callable

from gitcoord.contracts.diff_schema import esc

Emit = Callable[[str, str, "str | None", str], None]
Group = dict[str, list[str]]


def _scopes(group: Group, scheme: str) -> set[str]:
    return {str(s) for s in group.get(scheme) or [] if isinstance(s, (str, int))}


def _satisfies(have: Group, need: Group) -> bool:
    """A client that meets ``have`` also meets ``need``."""
    return all(scheme in have and _scopes(need, scheme) <= _scopes(have, scheme) for scheme in need)


def _show(group: Group) -> str:
    return "+".join(sorted(group)) or "anonymous access"


def compare_requirements(old: list[Group], new: list[Group], path: str, op: str, emit: Emit) -> None:
    """Report each old AND-group no new group accepts (error), and what was relaxed or added (info)."""
    old = old or [{}]
    new = new or [{}]
    explained: set[int] = set()  # new groups already reported as an edit of an old one
    for group in old:
        if any(_satisfies(group, other) for other in new):
            continue
        names = set(group)
        same = [j for j, other in enumerate(new) if set(other) == names]
        wider = [j for j, other in enumerate(new) if set(other) > names]
        if not group:
            explained |= set(range(len(new)))
            emit("security-requirement-added", path, op, f"{op} now requires {' or '.join(_show(g) for g in new)} (anonymous access removed)")
        elif same:
            j = same[0]
            explained.add(j)
            for scheme in sorted(group):
                extra = sorted(_scopes(new[j], scheme) - _scopes(group, scheme))
                if extra:
                    emit("security-scope-added", f"{path}/{esc(scheme)}", op, f"{scheme} now needs scope(s) {', '.join(extra)}")
        elif wider:
            j = wider[0]
            explained.add(j)
            emit("security-requirement-scheme-added", path, op,
                 f"{op}: {_show(group)} now also needs {', '.join(sorted(set(new[j]) - names))}")
        else:
            emit("security-requirement-removed", path, op, f"{op} no longer accepts {_show(group)}")
    for j, group in enumerate(new):
        if j in explained:
            continue
        names = set(group)
        same = [other for other in old if set(other) == names]
        if same:
            for scheme in sorted(group):
                fewer = sorted(_scopes(same[0], scheme) - _scopes(group, scheme))
                if fewer:
                    emit("security-scope-removed", f"{path}/{esc(scheme)}", op, f"{scheme} no longer needs scope(s) {', '.join(fewer)}")
        elif any(set(other) > names for other in old):
            emit("security-requirement-relaxed", path, op, f"{op} now accepts {_show(group)} (fewer schemes)")
        else:
            emit("security-alternative-added", path, op, f"{op} now also accepts {_show(group)}")


_FLOW_URLS = ("authorizationUrl", "tokenUrl", "refreshUrl")


def _flows(scheme: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """OAuth flows by name; Swagger 2.0's single ``flow`` becomes one entry."""
    if isinstance(scheme.get("flows"), dict):
        return {k: v for k, v in scheme["flows"].items() if isinstance(v, dict)}
    if scheme.get("type") == "oauth2" and scheme.get("flow"):
        names = {"implicit": "implicit", "password": "password", "application": "clientCredentials", "accessCode": "authorizationCode"}
        return {names.get(str(scheme["flow"]), str(scheme["flow"])): scheme}
    return {}


def compare_schemes(old: dict[str, Any], new: dict[str, Any], base: str, emit: Emit) -> None:
    """How clients send credentials: type, location, scheme, flows, URLs, scopes."""
    for name in old:
        if name not in new:
            emit("security-scheme-removed", f"{base}/{esc(name)}", None, f"security scheme {name!r} was removed")
    for name, scheme in new.items():
        path = f"{base}/{esc(name)}"
        if name not in old:
            emit("security-scheme-added", path, None, f"security scheme {name!r} was added")
            continue
        before = old[name]
        if not isinstance(before, dict) or not isinstance(scheme, dict):
            continue
        if before.get("type") != scheme.get("type"):
            emit("security-scheme-type-changed", path + "/type", None, f"security scheme {name!r} type changed from {before.get('type')!r} to {scheme.get('type')!r}")
            continue
        for key, rule in (("in", "security-scheme-in-changed"), ("name", "security-scheme-name-changed"),
                          ("bearerFormat", "security-scheme-bearer-format-changed"),
                          ("openIdConnectUrl", "security-scheme-openid-url-changed")):
            if before.get(key) != scheme.get(key):
                emit(rule, f"{path}/{key}", None, f"security scheme {name!r} {key} changed from {before.get(key)!r} to {scheme.get(key)!r}")
        if str(before.get("scheme") or "").lower() != str(scheme.get("scheme") or "").lower():
            emit("security-scheme-scheme-changed", path + "/scheme", None, f"security scheme {name!r} scheme changed from {before.get('scheme')!r} to {scheme.get('scheme')!r}")
        old_flows, new_flows = _flows(before), _flows(scheme)
        for flow, spec in old_flows.items():
            fpath = f"{path}/flows/{esc(flow)}" if "flows" in scheme else path
            if flow not in new_flows:
                emit("security-scheme-flow-removed", fpath, None, f"security scheme {name!r} no longer offers the {flow} flow")
                continue
            target = new_flows[flow]
            for key in _FLOW_URLS:
                # A refresh URL offered for the first time adds a way; every other URL change moves one.
                if spec.get(key) != target.get(key) and not (key == "refreshUrl" and spec.get(key) is None):
                    emit("security-scheme-flow-url-changed", f"{fpath}/{key}", None, f"security scheme {name!r} {flow} {key} changed from {spec.get(key)!r} to {target.get(key)!r}")
            old_scopes, new_scopes = spec.get("scopes") or {}, target.get("scopes") or {}
            for scope in old_scopes:
                if scope not in new_scopes:
                    emit("security-scheme-scope-removed", f"{fpath}/scopes/{esc(scope)}", None, f"security scheme {name!r} {flow} scope {scope!r} was removed")
            for scope in new_scopes:
                if scope not in old_scopes:
                    emit("security-scheme-scope-added", f"{fpath}/scopes/{esc(scope)}", None, f"security scheme {name!r} {flow} scope {scope!r} was added")
        for flow in new_flows:
            if flow not in old_flows:
                emit("security-scheme-flow-added", f"{path}/flows/{esc(flow)}", None, f"security scheme {name!r} now offers the {flow} flow")
