"""State shared by all commands: the repository, the store, the agent, and output helpers."""

from __future__ import annotations

import functools
import json
import os
import sys
from typing import Any, Callable

import click


class App:
    last_as_json = False  # read by main() to print errors as JSON too

    def __init__(self, *, directory: str | None, as_json: bool, agent: str | None, remote: str | None,
                 debug: bool, offline: bool = False):
        self.directory = directory
        self.as_json = as_json
        App.last_as_json = as_json
        if agent is not None:
            from gitcoord.identity import check_agent_name

            check_agent_name(agent, "--agent")
        self._agent = agent
        self._remote = remote
        self.debug = debug
        self.offline = offline or os.environ.get("GITCOORD_OFFLINE") == "1"
        App.last_as_json = as_json

    # -- lazily opened pieces
    @functools.cached_property
    def repo(self):
        from gitcoord import gitutil

        return gitutil.open_repo(self.directory)

    @functools.cached_property
    def shared_remote(self) -> str | None:
        """The remote holding the shared coordination branch, offline or not (what `sync` talks to)."""
        from gitcoord import gitutil

        if self._remote is not None:
            return self._remote or None  # `--remote ''`: local only
        if os.environ.get("GITCOORD_REMOTE") is not None:
            return os.environ["GITCOORD_REMOTE"] or None
        configured = gitutil.git_config_get(self.repo, "gitcoord.remote")
        if configured is not None:
            return configured or None
        from gitcoord.joining import adopt_remote

        adopted = adopt_remote(self.repo)
        if adopted:
            self.info(f"gitcoord: using the coordination branch on remote '{adopted}' "
                      f"(saved as `git config gitcoord.remote {adopted}`)")
        return adopted

    @functools.cached_property
    def remote(self) -> str | None:
        """The remote that reads fetch from and writes push to: none when offline."""
        return None if self.offline else self.shared_remote

    def set_agent(self, agent: str) -> None:
        """``--agent`` given after the subcommand: same as before it."""
        from gitcoord.identity import check_agent_name

        self._agent = check_agent_name(agent, "--agent")
        for name in ("identity", "agent", "store"):
            self.__dict__.pop(name, None)

    @functools.cached_property
    def identity(self):
        from gitcoord.identity import resolve

        return resolve(self.repo, self._agent)

    @functools.cached_property
    def agent(self) -> str:
        return self.identity.name

    @property
    def gitcoord_cmd(self) -> str:
        """How a printed hint starts: with ``--agent`` when only the flag says who is acting, so the
        hint, typed as printed, acts as the same agent."""
        return f"gitcoord --agent {self.agent}" if self.identity.source == "--agent" else "gitcoord"

    @functools.cached_property
    def store(self):
        from gitcoord.store import Store

        return Store(self.repo, remote=self.remote, agent=lambda: self.agent)

    def snapshot(self, *, fetch: bool | None = None, required: bool = True):
        """Current state. In remote mode a reporting command fetches first unless GITCOORD_OFFLINE=1."""
        if fetch is None:
            fetch = bool(self.remote)
        snap = self.store.snapshot(fetch=fetch)
        if not snap.exists and self.remote is None and not self.offline and self._remote is None \
                and self.__dict__.get("shared_remote") is None and self._join_by_asking_remotes():
            snap = self.store.snapshot(fetch=True)
        return self.store.require(snap) if required else snap

    def _join_by_asking_remotes(self) -> bool:
        """No coordination branch here and none known: a clone that never fetched may still be part of
        a team whose remote holds one. Ask the remotes (once) before saying "run init"."""
        from gitcoord import gitutil
        from gitcoord.joining import adopt_remote

        if not list(self.repo.remotes) or gitutil.git_config_get(self.repo, "gitcoord.remote") is not None:
            return False
        adopted = adopt_remote(self.repo, probe=True)
        if not adopted:
            return False
        self.info(f"gitcoord: using the coordination branch on remote '{adopted}' "
                  f"(saved as `git config gitcoord.remote {adopted}`)")
        for name in ("shared_remote", "remote", "store"):
            self.__dict__.pop(name, None)
        return True

    # -- output
    def emit(self, data: Any, human: str | Callable[[], str] | None = None) -> None:
        """One JSON document on stdout with --json; else the human text (or JSON when none is given)."""
        if self.as_json or human is None:
            click.echo(dumps_json(data))
            return
        text = human() if callable(human) else human
        if text:
            click.echo(text)

    def info(self, message: str) -> None:
        """Progress and explanations: stderr, so stdout stays machine-readable."""
        click.echo(message, err=True)


_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)  # one instance: json.dumps(...) builds one per call


def _compact_encoder() -> Callable[[Any], str]:
    """``_ENCODER.encode`` without building a new C encoder on every call (~2 us each: a
    10,000-task plan encodes 13,000 values one by one)."""
    from json import encoder as std

    if std.c_make_encoder is None:
        return _ENCODER.encode
    run = std.c_make_encoder({}, _ENCODER.default, std.encode_basestring, None, _ENCODER.key_separator,
                             _ENCODER.item_separator, False, False, True)
    quote, join = std.encode_basestring, "".join

    def encode(value: Any) -> str:
        return quote(value) if isinstance(value, str) else join(run(value, 0))
    return encode


_encode = _compact_encoder()


def dumps_json(data: Any, depth: int = 0, pretty_levels: int = 2) -> str:
    """JSON indented for the first ``pretty_levels`` levels, each deeper value on one line.

    ``json.dumps(indent=...)`` runs the pure-Python encoder: on a 10,000-task state it took
    most of the command's time. Values below the top levels go through the C encoder (one
    task per line), which is also easier to scan and grep."""
    if depth >= pretty_levels or not isinstance(data, (dict, list)) or not data:
        return _encode(data)
    pad = "  " * (depth + 1)
    if isinstance(data, dict):
        items = [f"{pad}{_encode(_json_key(k))}: {dumps_json(v, depth + 1, pretty_levels)}" for k, v in data.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if depth + 1 >= pretty_levels:
        items = [pad + _encode(v) for v in data]
    else:
        items = [pad + dumps_json(v, depth + 1, pretty_levels) for v in data]
    return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"


def _json_key(key: Any) -> str:
    """A dict key as ``json.dumps`` writes it (keys are strings in JSON)."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return json.dumps(key)
    if isinstance(key, (int, float)):
        return json.dumps(key)
    return str(key)


def emit_report(app: "App", result: Any, fmt: str | None, *, text: Callable[[Any], str],
                github: Callable[[Any], str], junit: Callable[[Any], str]) -> None:
    """The report formats shared by `check` and `contract check`: text, json, github, junit."""
    fmt = "json" if app.as_json and fmt is None else (fmt or "text")
    if fmt == "json":
        app.as_json = True
        app.emit(result.to_dict())
    elif fmt == "github":
        click.echo(github(result))
    elif fmt == "junit":
        click.echo(junit(result), nl=False)
    else:
        click.echo(text(result))


def pass_app(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        app: App = ctx.find_root().obj
        if kwargs.pop("json_flag", False):
            app.as_json = True
            App.last_as_json = True
        return fn(app, *args, **kwargs)

    return wrapper


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--json` accepted after the command too (`gitcoord state --json`)."""
    return click.option("--json", "json_flag", is_flag=True, help="Print one JSON document on stdout.")(fn)


def isatty() -> bool:
    return sys.stderr.isatty()
