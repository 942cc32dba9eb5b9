"""Errors the library raises; the CLI maps each to an exit code and one line on stderr."""

from __future__ import annotations


class GitcoordError(Exception):
    """Base class. ``exit_code`` follows CLI.md: 1 violation, 2 bad input, 3 race/remote."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, data: dict | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.data = data or {}

    def __str__(self) -> str:
        return self.message


class UsageError(GitcoordError):
    """Bad input: malformed file, unknown id, bad argument (exit 2)."""

    exit_code = 2


class NotFound(UsageError):
    """An id, name or ref that does not exist (exit 2)."""


class NotInRepository(UsageError):
    """The command needs a git repository and there is none (exit 2)."""


class InvalidFile(UsageError):
    """A file on the coordination branch (or given by the user) is malformed or breaks its schema."""

    def __init__(self, path: str, message: str, *, pointer: str | None = None):
        where = f"{path}{' at ' + pointer if pointer else ''}"
        super().__init__(f"{where}: {message}", data={"path": path, "pointer": pointer})
        self.path = path
        self.pointer = pointer


class Conflict(GitcoordError):
    """Something already exists or is held by someone else (exit 1): a lost claim, a denied lock."""

    exit_code = 1


class AlreadyExists(Conflict):
    pass


class Violation(GitcoordError):
    """A check found violations (exit 1)."""

    exit_code = 1


class RaceError(GitcoordError):
    """Retries did not resolve a race on a ref (exit 3)."""

    exit_code = 3


class RemoteError(GitcoordError):
    """The remote could not be reached or refused for a reason other than a lost race (exit 3)."""

    exit_code = 3
