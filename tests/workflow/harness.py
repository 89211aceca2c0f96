"""Helpers to run the real workflow (Snakemake as a subprocess) on a copy of the bundled sample,
with every model served by a local OpenAI-compatible test server that the real `openai` client
talks to."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from meshdistill.testing.openai_server import OpenAITestServer

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_PARTS = [
    "Snakefile",
    "rules",
    "scripts",
    "schemas",
    "prompts",
    "config.yaml",
    "data",
    "report",
    "envs",
    "profiles",
]
API_KEY_ENV = "MESHDISTILL_TEST_KEY"
API_KEY = "sk-test-0123456789abcdef"
# A small slice of the sample keeps each Snakemake run to seconds.
TEST_DESCRIPTORS = ["D001943", "D009203", "D003924"]


def _user_text(request: Mapping[str, Any]) -> str:
    if isinstance(request.get("prompt"), str):  # completion mode: the last block is the input
        return str(request["prompt"]).rsplit("\n\n", 1)[-1]
    return next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")


def _field(text: str, label: str) -> str:
    match = re.search(rf"^{label}: (.*)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else ""


def _role(request: Mapping[str, Any]) -> str:
    """Which of the project's prompts sent this request."""
    response_format = request.get("response_format") or {}
    schema_name = (response_format.get("json_schema") or {}).get("name", "")
    if schema_name:
        return "judge" if "judge" in schema_name else schema_name
    # The other structured-output modes carry the bare schema (or none: then the prompt does).
    schema = response_format.get("schema") or request.get("json_schema") or {}
    if "relevance" in schema.get("properties", {}):
        return "judge"
    if request.get("logprobs"):
        return "judge"
    text = request.get("prompt") or " ".join(str(m["content"]) for m in request["messages"])
    if "Documents:" in text:
        return "answer"
    return "question_biomedical" if "Topic:" in text else "question_general"


def sample_responder(request: Mapping[str, Any]) -> str | dict[str, Any]:
    """Plausible, deterministic replies for the project's prompts, in either prompt mode."""
    text = _user_text(request)
    digest = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    role = _role(request)
    if role.startswith("question"):
        title = _field(text, "Title").rstrip(".").replace("?", "").replace(":", "")[:100]
        if role == "question_biomedical":
            return f"Which treatment or method is examined in {title}?\nTitle: next"
        return f"What were the main findings on {title[:1].lower()}{title[1:]}?\n"
    if role == "judge":
        if request.get("logprobs"):
            yes = 0.05 + 0.9 * (digest % 1000) / 1000
            return {
                "content": "Yes",
                "top_logprobs": {" Yes": math.log(yes), " No": math.log(1 - yes), " The": -6.0},
            }
        return json.dumps(
            {
                "relevance": 1 + digest % 5,
                "answerability": 1 + (digest // 5) % 5,
                "specificity": 1 + (digest // 25) % 5,
            }
        )
    # The answer: the source abstract's sentence sharing most words with the question (the
    # last such sentence, where a conclusion restates a result), as a careful reader would.
    whole = str(request.get("prompt") or text)
    source = whole.split("[Source PMID", 1)[-1].split("\nQuestion:", 1)[0].split("\n\n", 1)[0]
    body = source.split("\n", 1)[-1]  # the title, which ends without a full stop, aside
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", body) if s.strip()]
    asked = _words(_field(text, "Question"))
    finding = max(
        reversed(sentences), key=lambda s: len(asked & _words(s)), default="No finding is reported."
    )
    return f"{finding}\n\nQuestion: a next question the stop sequence cuts off"


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9-]+", text.lower()) if len(w) > 3}


def test_config(base_url: str, **overrides: Any) -> dict[str, Any]:
    """A config overlay that points every role at the test server."""
    model = {
        "provider": "openai",
        "base_url": base_url,
        "model": "test-model",
        "api_key_env": API_KEY_ENV,
        "max_concurrency": 4,
        "timeout_s": 10,
        "max_retries": 2,
        "price_input_per_mtok": 0.5,
        "price_output_per_mtok": 1.5,
    }
    config: dict[str, Any] = {
        "descriptors": {"uis": list(TEST_DESCRIPTORS)},
        "abstracts": {"max_abstracts": 2},
        # A capable model reads the retrieved documents too (the bundled default reads none).
        "retrieval": {"answer_documents": 4},
        "models": {"test-general": dict(model), "test-bio": dict(model, model="test-model-bio")},
        "generators": [
            {
                "id": "general",
                "model": "test-general",
                "prompt": "prompts/question_general.v2.yaml",
                "params": {"temperature": 0.7, "max_tokens": 64, "seed": 11},
            },
            {
                "id": "biomedical",
                "model": "test-bio",
                "prompt": "prompts/question_biomedical.v2.yaml",
                "params": {"temperature": 0.7, "max_tokens": 64, "seed": 23},
            },
        ],
        "judge": {
            "model": "test-general",
            "prompt": "prompts/judge.v2.yaml",
            "params": {"temperature": 0.0, "max_tokens": 40, "seed": 7},
        },
        "answerer": {
            # the test server's answers (config.yaml extracts them for the bundled model)
            "method": "write",
            "model": "test-general",
            "prompt": "prompts/answer.v2.yaml",
            "params": {"temperature": 0.2, "max_tokens": 160, "seed": 5},
        },
    }
    return _merge(config, overrides)


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = value
    return base


class Workflow:
    """A copy of the sample workflow in a temporary folder, run with the project's Snakemake."""

    def __init__(self, root: Path, server: OpenAITestServer) -> None:
        self.root = root
        self.server = server
        self.overlay = root / "test-config.yaml"
        self.write_config(test_config(server.base_url))

    def write_config(self, config: Mapping[str, Any]) -> None:
        self.overlay.write_text(yaml.safe_dump(dict(config), sort_keys=True))

    def config(self) -> dict[str, Any]:
        return yaml.safe_load(self.overlay.read_text())

    def snakemake(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 600,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        # --configfile takes several values, so it goes last, after any targets.
        command = [
            str(Path(sys.executable).with_name("snakemake")),
            "--cores",
            "2",
            *args,
            "--configfile",
            str(self.overlay),
        ]
        full_env = {**os.environ, API_KEY_ENV: API_KEY, **(env or {})}
        result = subprocess.run(
            command, cwd=self.root, env=full_env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def path(self, relative: str) -> Path:
        return self.root / relative

    def jsonl(self, relative: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.path(relative).read_text().splitlines() if line]

    def mtimes(self, pattern: str) -> dict[str, int]:
        return {
            str(p.relative_to(self.root)): p.stat().st_mtime_ns for p in self.root.glob(pattern)
        }


def copy_sample(destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, destination / part)
        elif source.exists():
            shutil.copy2(source, destination / part)
    return destination


def planned_jobs(dry_run_output: str) -> list[tuple[str, str | None]]:
    """(rule, ui) for every job a dry-run lists."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run_output):
        header = re.match(r"(?:local)?rule (\w+):", block.strip())
        if not header:
            continue
        wildcards = re.search(r"wildcards: ui=(D\d+)", block)
        jobs.append((header.group(1), wildcards.group(1) if wildcards else None))
    return sorted(jobs, key=lambda job: (job[0], job[1] or ""))
