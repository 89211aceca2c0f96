#!/usr/bin/env python3
"""Set up the project's environment, then run the workflow or the tests.

    python3 bootstrap.py run  [extra snakemake arguments]   # the main job on the bundled sample
    python3 bootstrap.py test [extra pytest arguments]      # the test suite

Needs only Python 3.11+ (with venv and pip) and a C/C++ compiler for llama-cpp-python. The
environment lives in .venv/ and is reused while pyproject.toml is unchanged. llama-cpp-python is
compiled once per machine for a portable x86-64 baseline (AVX2, no AVX-512/AMX, which some
virtual machines trap) and kept in ~/.cache/meshdistill/wheels, so later setups take seconds.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".meshdistill-setup"
LLAMA_VERSION = "0.3.36"  # keep in step with pyproject.toml's `local` extra
WHEELHOUSE = Path(
    os.environ.get("MESHDISTILL_WHEELHOUSE", Path.home() / ".cache/meshdistill/wheels")
)
PORTABLE_CMAKE_ARGS = " ".join(
    [
        "-DGGML_NATIVE=OFF",
        "-DGGML_AVX=ON",
        "-DGGML_AVX2=ON",
        "-DGGML_FMA=ON",
        "-DGGML_F16C=ON",
        "-DGGML_AVX512=OFF",
        "-DGGML_AMX_TILE=OFF",
        "-DGGML_AMX_INT8=OFF",
        "-DGGML_AMX_BF16=OFF",
    ]
)
EXTRAS = "local,dense,test,cluster"


def say(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, env=env)


def setup_fingerprint() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(f"{sys.version_info[:2]}|{LLAMA_VERSION}|{EXTRAS}|{PORTABLE_CMAKE_ARGS}".encode())
    return digest.hexdigest()


def llama_wheel() -> Path | None:
    """A portable llama-cpp-python wheel, built once per machine into the wheelhouse."""
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        return None  # the portable flags above are x86-64 flags; elsewhere pip builds natively
    pattern = f"llama_cpp_python-{LLAMA_VERSION}-*.whl"
    found = sorted(WHEELHOUSE.glob(pattern))
    if found:
        return found[-1]
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    say(f"compiling llama-cpp-python {LLAMA_VERSION} once for this machine (about 7-10 minutes)")
    env = dict(os.environ, CMAKE_ARGS=PORTABLE_CMAKE_ARGS)
    sh(
        BIN / "python",
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-cache-dir",
        "-w",
        WHEELHOUSE,
        f"llama-cpp-python=={LLAMA_VERSION}",
        env=env,
    )
    found = sorted(WHEELHOUSE.glob(pattern))
    return found[-1] if found else None


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - bootstrap runs under whatever python3 is
        sys.exit(f"Python 3.11 or newer is needed, this is {platform.python_version()}")
    fingerprint = setup_fingerprint()
    if STAMP.is_file() and STAMP.read_text().strip() == fingerprint:
        return
    if not (BIN / "python").exists():
        say(f"creating {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    wheel = llama_wheel()
    install = [BIN / "python", "-m", "pip", "install", "--quiet"]
    if wheel is not None:
        sh(*install, wheel)
    say("installing the project and its dependencies")
    sh(*install, "--editable", f".[{EXTRAS}]")
    STAMP.write_text(fingerprint + "\n")


def slurm_test_setting() -> dict[str, str]:
    """MESHDISTILL_SLURM=1 where the Slurm workflow test can install and start its one-node
    cluster (root, apt-get: CI machines), so there it runs and a cluster that fails fails the
    test; elsewhere it skips. An explicit MESHDISTILL_SLURM in the environment wins."""
    if "MESHDISTILL_SLURM" in os.environ or os.name != "posix":
        return {}
    if os.geteuid() == 0 and shutil.which("apt-get"):
        return {"MESHDISTILL_SLURM": "1"}
    return {}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "setup"}:
        print(__doc__)
        return 2
    command, extra = argv[0], argv[1:]
    ensure_environment()
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if command == "setup":
        return 0
    if command == "run":
        cores = str(os.cpu_count() or 1)
        args = [BIN / "snakemake", "--cores", cores, *extra]
    else:
        args = [BIN / "python", "-m", "pytest", *extra]
        env.update(slurm_test_setting())
    say(" ".join(str(a.relative_to(ROOT)) if isinstance(a, Path) else a for a in args))
    return subprocess.run([str(a) for a in args], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
