"""The README's team flow, typed literally: its shell blocks are read from README.md and run line by
line with bash — the lead's set-up in one clone, each agent's lines in a clone of its own that has
only `user.email` set, and the integrator's lines in a fresh clone. If the README and gitcoord drift
apart, this test says where."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SMALL_CART_SPEC as SPEC, git, make_repo

README = (ROOT / "README.md").read_text()


def block_after(heading: str, lang: str = "sh") -> str:
    """The first fenced block of ``lang`` after the line containing ``heading``."""
    rest = README.split(heading, 1)[1]
    match = re.search(rf"```{lang}\n(.*?)```", rest, re.S)
    assert match, f"no ```{lang} block after {heading!r} in README.md"
    return match.group(1)


def lines_of(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.strip()]


class Shell:
    """Runs README lines as a user would, with `gitcoord` on PATH meaning this checkout."""

    def __init__(self, tmp: Path):
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        shim = bin_dir / "gitcoord"
        shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m gitcoord \"$@\"\n")
        shim.chmod(0o755)
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        self.background: list[subprocess.Popen] = []

    def run(self, line: str, cwd: Path) -> subprocess.CompletedProcess:
        command = line.split("  #", 1)[0].strip()
        if command.endswith("&"):
            proc = subprocess.Popen(["bash", "-c", command[:-1]], cwd=cwd, env=self.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
            self.background.append(proc)
            return subprocess.CompletedProcess(command, 0, "", "")
        return subprocess.run(["bash", "-c", command], cwd=cwd, env=self.env, capture_output=True, text=True,
                              timeout=180)

    def stop(self) -> None:
        for proc in self.background:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)


def play(shell: Shell, block: str, cwd: Path, *, skip: tuple[str, ...] = (), expect: dict[str, int] | None = None):
    """Run every line of ``block`` in ``cwd``; a `# ... write PATH ...` line writes that file."""
    for line in lines_of(block):
        stripped = line.strip()
        wrote = re.match(r"# \.\.\. write (\S+) \.\.\.", stripped)
        if wrote:
            target = cwd / wrote.group(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(SPEC if target.suffix == ".yaml" else "export const total = 0;\n")
            continue
        if stripped.startswith("#") or any(stripped.startswith(s) for s in skip):
            continue
        result = shell.run(stripped, cwd)
        wanted = next((code for prefix, code in (expect or {}).items() if stripped.startswith(prefix)), 0)
        assert result.returncode == wanted, f"`{stripped}` in {cwd.name}: exit {result.returncode}\n" \
                                            f"{result.stdout[-800:]}\n{result.stderr[-1500:]}"


@pytest.fixture
def project(tmp_path: Path):
    """A bare remote holding a small project whose `pytest -q` passes (the integrator's test)."""
    seed = make_repo(tmp_path / "seed", {"README.md": "shop\n", "test_smoke.py": "def test_ok():\n    pass\n"})
    bare = tmp_path / "shop.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(seed, "push", "-q", str(bare), "main")
    return bare


def clone(bare: Path, where: Path, email: str | None = None) -> Path:
    git(where.parent, "clone", "-q", str(bare), str(where))
    if email:
        git(where, "config", "user.email", email)
    return where


def test_the_readme_team_flow_works_as_typed(project: Path, tmp_path: Path) -> None:
    shell = Shell(tmp_path)
    try:
        # The lead: "Five minutes on a real repository", with the plan file shown after it.
        lead = clone(project, tmp_path / "my-project")
        (lead / "plan.yaml").write_text(block_after("A plan file", "yaml"))
        play(shell, block_after("## Five minutes on a real repository"), lead, skip=("cd ",),
             expect={"gitcoord doctor": 0})

        # Each agent, in a clone of its own with only user.email set.
        agents = block_after("Then each agent").split("\n\n")
        assert len(agents) == 2, "the per-agent block has ann's part and bob's part"
        ann = clone(project, tmp_path / "ann", "ann@example.com")
        play(shell, agents[0], ann)
        bob = clone(project, tmp_path / "bob", "bob@example.com")
        play(shell, agents[1], bob)

        # The integrator: a fresh clone, main checked out, acting as the lead.
        ivy = clone(project, tmp_path / "ivy", "ivy@example.com")
        git(ivy, "config", "gitcoord.agent", "lead")
        play(shell, block_after("And the integrator"), ivy)
    finally:
        shell.stop()
    landed = git(project, "ls-tree", "-r", "--name-only", "main").splitlines()
    assert "api/cart-api.yaml" in landed and "src/ui/cart.ts" in landed
    assert (ivy / "report.html").is_file()
