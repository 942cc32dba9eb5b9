"""The process entry point's policy: one-shot commands run without the cyclic garbage collector;
long-running ones (a server, the runner, the demo, anything told to wait or poll) keep it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitcoord.cli.main import _one_shot

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv, expected", [
    (["merge", "run", "--into", "main"], True),
    (["--json", "plan"], True),
    (["-C", "repo", "--agent", "ann", "state"], True),
    (["--agent", "task", "mcp"], False),  # an option's value is not the command
    (["--remote", "demo", "run"], False),
    (["demo"], False),
    (["merge", "run", "--threshold", "0.8", "--wait", "2h"], False),
    (["lock", "acquire", "src/", "--wait=10m"], False),
    (["log", "-f"], False),
    (["--version"], False),
    ([], False),
    (["no-such-command"], False),
])
def test_one_shot_commands(argv: list[str], expected: bool) -> None:
    assert _one_shot(argv) is expected


def test_the_process_entry_point_turns_the_collector_off_only_for_one_shot_commands(tmp_path: Path) -> None:
    probe = ("import gc, sys; from gitcoord.cli import main as m; "
             "m.main = lambda: print('enabled' if gc.isenabled() else 'disabled'); m.run()")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = {}
    for name, args in (("state", ["state"]), ("mcp", ["mcp"])):
        proc = subprocess.run([sys.executable, "-c", probe, *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, check=True)
        out[name] = proc.stdout.strip()
    assert out == {"state": "disabled", "mcp": "enabled"}


def test_pygit2_is_imported_without_loading_the_ca_bundle_and_ssl_is_left_as_it_was(tmp_path: Path) -> None:
    probe = ("import ssl, sys; real = ssl.get_default_verify_paths; from gitcoord.cli import main as m; "
             "m.main = lambda: print(sys.modules['pygit2'].settings.ssl_cert_file, "
             "ssl.get_default_verify_paths is real, ssl.get_default_verify_paths().cafile is not None); m.run()")
    capath = tmp_path / "certs"
    capath.mkdir()
    cafile = tmp_path / "bundle.pem"
    cafile.write_text("")
    env = dict(os.environ, PYTHONPATH=str(ROOT), SSL_CERT_DIR=str(capath), SSL_CERT_FILE=str(cafile))
    proc = subprocess.run([sys.executable, "-c", probe, "state"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, check=True)
    assert proc.stdout.split() == ["None", "True", "True"]
