#!/usr/bin/env python3
"""Set up and run AIVlingual with nothing but python3.

    python3 make.py sample   # set up, then process the bundled sample stream (no keys, no server)
    python3 make.py test     # set up with test tools, then run the whole test suite
    python3 make.py bench    # set up, then run the benchmarks
    python3 make.py ui       # open the Dagster UI on the sample's instance
    python3 make.py uicheck  # the UI in headless Chromium on the sample's instance: screenshots, fails on UI errors

Setup is a virtualenv in .venv with the project installed in editable mode; it is
redone only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def _has_pip() -> bool:
    return PY.exists() and subprocess.run([str(PY), "-m", "pip", "--version"], capture_output=True).returncode == 0


def setup(extras: str = "test") -> None:
    stamp = VENV / ".aivlingual-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and PY.exists():
        return
    if not _has_pip():  # missing, or left half-made by an interrupted setup
        print("creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    print("installing AIVlingual and its dependencies into .venv (first time takes a few minutes)", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-e", f".[{extras}]"], check=True, cwd=ROOT)
    stamp.write_text(wanted)


def compile_bytecode() -> None:
    """Write the project's bytecode, as pip does for what it installs: with PYTHONDONTWRITEBYTECODE
    set (as on some CI machines) every command would otherwise recompile ~300 modules, about 0.3 s
    of each `aivlingual` command. Up-to-date files are skipped, so this is cheap after the first time."""
    subprocess.run([str(PY), "-m", "compileall", "-q", "aivlingual_assets"], cwd=ROOT, check=False,
                   stdout=subprocess.DEVNULL)


def sample_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AIVLINGUAL_HOME", str(ROOT / ".aivlingual"))
    env.setdefault("DAGSTER_HOME", str(Path(env["AIVLINGUAL_HOME"]) / "dagster"))
    return env


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command == "sample":
        setup()
        compile_bytecode()
        sample = ROOT / "examples" / "sample_stream.mp4"
        return subprocess.call([str(BIN / "aivlingual"), "process", str(sample), *rest], env=sample_env(), cwd=ROOT)
    if command == "test":
        setup("test,celery,k8s")  # real Celery workers; the Kubernetes values checked against dagster-k8s
        return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)
    if command == "bench":
        setup()
        compile_bytecode()
        return subprocess.call([str(PY), "-m", "bench", *rest], cwd=ROOT)
    if command == "uicheck":  # after `sample`; installs Debian's chromium when missing
        setup()
        return subprocess.call([str(PY), "-m", "aivlingual_tests.ui.uicheck", *rest], env=sample_env(), cwd=ROOT)
    if command == "ui":
        setup()
        compile_bytecode()
        return subprocess.call([str(BIN / "aivlingual"), "ui", *rest], env=sample_env(), cwd=ROOT)
    print(__doc__)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
