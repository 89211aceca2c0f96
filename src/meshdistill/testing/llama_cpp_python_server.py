"""Run llama-cpp-python's own OpenAI-compatible server (``python -m llama_cpp.server``) on a
loopback port, for tests against a real server rather than the project's test server."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

#: Modules the server needs: llama-cpp-python and its ``server`` extra.
SERVER_MODULES = (
    "llama_cpp",
    "fastapi",
    "uvicorn",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)
#: Seconds the server may take to load the model and answer ``GET /v1/models``.
STARTUP_TIMEOUT_S = 120.0
#: Seconds to wait for the server to stop before killing it.
STOP_TIMEOUT_S = 20.0


def missing_modules() -> list[str]:
    return [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaCppPythonServer:
    """Context manager: the server on ``model`` at ``base_url`` (ends in /v1), its output in
    ``log_path``."""

    def __init__(
        self,
        model: Path,
        log_path: Path,
        api_key: str | None = None,
        n_ctx: int = 1024,
        n_threads: int = 2,
        chat_format: str | None = "gemma",
    ) -> None:
        self.model = model
        self.log_path = log_path
        self.api_key = api_key
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.chat_format = chat_format
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads),
        ]  # fmt: skip
        if self.chat_format:
            command += ["--chat_format", self.chat_format]
        if self.api_key:
            command += ["--api_key", self.api_key]
        return command

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    def start(self) -> LlamaCppPythonServer:
        import openai

        with self.log_path.open("wb") as sink:
            self._process = subprocess.Popen(self.command(), stdout=sink, stderr=subprocess.STDOUT)
        client = openai.OpenAI(
            base_url=self.base_url, api_key=self.api_key or "none", max_retries=0, timeout=5
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        try:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"llama_cpp.server exited:\n{self.log_tail()}")
                try:
                    client.models.list()
                    return self
                except openai.APIConnectionError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(
                            f"llama_cpp.server did not answer in {STARTUP_TIMEOUT_S:g} s:\n"
                            f"{self.log_tail()}"
                        ) from None
                    time.sleep(0.5)
        finally:
            client.close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> LlamaCppPythonServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
