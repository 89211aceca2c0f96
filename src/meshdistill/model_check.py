"""`meshdistill check-models`: is every configured model ready for the run?

Per model it checks, in order, that the endpoint answers, that it takes the key, that it knows
the model name, then sends each role that uses the model one small request built exactly as the
workflow builds it (same prompt file, prompt mode, reply kind and parameters) and validates the
reply. A role whose reply is JSON also shows whether the server accepts the configured
structured-output mode; when it does not (or with ``all_modes``) every mode is tried, so the
report can name the one to set. Nothing is cached: the probe always asks the server.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshdistill.errors import MeshDistillError
from meshdistill.llm.errors import LLMError
from meshdistill.llm.models import STRUCTURED_OUTPUT_MODES, ModelSpec, resolve_model_path
from meshdistill.llm.service import NO_KEY_PLACEHOLDER, LLMService
from meshdistill.llm.types import LLMRequest, LLMResult
from meshdistill.records import AbstractSection, Article
from meshdistill.settings import answer_method
from meshdistill.stages.filtered import answer_request
from meshdistill.stages.judging import judge_requests
from meshdistill.stages.llm_roles import Role
from meshdistill.stages.questions import generator_roles, question_request

#: The invented abstract every probe request is about (short: the probe should cost little).
SAMPLE_ARTICLE = Article(
    pmid="0",
    title="Daily vitamin D and fractures in older women",
    abstract_sections=[
        AbstractSection(
            None,
            "In a two-year randomised trial, 812 women aged 65 or older received 2000 IU of "
            "vitamin D daily or placebo. Fractures occurred in 6.1% of the vitamin D group and "
            "9.4% of the placebo group.",
        )
    ],
    mesh_headings=[],
)
SAMPLE_QUESTION = "Does daily vitamin D reduce fractures in older women?"
SAMPLE_DESCRIPTOR = "Vitamin D"
#: Longest excerpt of a sample reply shown in the report.
REPLY_EXCERPT_CHARS = 100
#: Seconds the model listing may take before the endpoint counts as unreachable.
LIST_TIMEOUT_S = 30.0

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    detail: str
    fix: str = ""
    latency_s: float | None = None


@dataclass
class ModelReport:
    model_id: str
    where: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.status != FAIL for f in self.findings)

    def add(self, finding: Finding) -> Finding:
        self.findings.append(finding)
        return finding


def configured_roles(config: Mapping[str, Any]) -> list[Role]:
    models = config["models"]
    roles = generator_roles(config["generators"], models)
    roles.append(Role.from_config("judge", config["judge"], models))
    if answer_method(config["answerer"]) == "write":  # extracted answers ask no model
        roles.append(Role.from_config("answerer", config["answerer"], models))
    return roles


def sample_request(role: Role) -> LLMRequest:
    """One request of ``role`` about the sample abstract, built as its stage builds them."""
    if role.name == "judge":
        return judge_requests(role, [("probe", SAMPLE_ARTICLE.abstract, SAMPLE_QUESTION)])[0]
    if role.name == "answerer":
        return answer_request(role, SAMPLE_ARTICLE, SAMPLE_QUESTION, [], 0)
    return question_request(role, SAMPLE_ARTICLE, role.name, SAMPLE_DESCRIPTOR)


def check_models(
    config: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    all_modes: bool = False,
    logger: logging.Logger | None = None,
) -> list[ModelReport]:
    """Probe every model that a role uses; one report per model, in config order."""
    env = os.environ if env is None else env
    logger = logger or logging.getLogger("meshdistill.check_models")
    roles = configured_roles(config)
    reports = []
    for model_id, cfg in config["models"].items():
        # Probed one request at a time even in batch mode: a batch carries the very same
        # request bodies, and a probe must not wait for a batch window.
        spec = ModelSpec.from_config(model_id, cfg).without_batch()
        users = [role for role in roles if role.model_id == model_id]
        if not users:
            continue
        reports.append(_check_model(spec, users, env, all_modes, config["llm"], logger))
    return reports


def _where(spec: ModelSpec) -> str:
    if spec.provider == "llama_cpp":
        return f"llama_cpp, in-process, {spec.model_path or 'bundled GGUF'}"
    return f"openai-compatible, model {spec.model!r} at {spec.base_url or 'api.openai.com'}"


def _check_model(
    spec: ModelSpec,
    roles: Sequence[Role],
    env: Mapping[str, str],
    all_modes: bool,
    llm: Mapping[str, Any],
    logger: logging.Logger,
) -> ModelReport:
    report = ModelReport(spec.id, _where(spec))
    if spec.provider == "openai" and not _check_endpoint(spec, env, report):
        return report
    if spec.provider == "llama_cpp":
        try:
            path = resolve_model_path(spec)
        except MeshDistillError as error:
            report.add(Finding("model file", FAIL, str(error), f"set models.{spec.id}.model_path"))
            return report
        report.add(Finding("model file", OK, str(path)))
    # One try per request: the probe should say what is wrong, not wait out a backoff.
    probe_spec = dataclasses.replace(spec, max_retries=0)
    json_role: Role | None = None
    configured_failed = False
    for role in roles:
        finding = _check_role(probe_spec, role, env, int(llm["max_reasks"]), logger)
        report.add(finding)
        if role.reply == "json" and json_role is None:
            json_role = role
            configured_failed = finding.status == FAIL
    if spec.provider != "openai":
        return report
    if json_role is None:
        if all_modes:
            report.add(
                Finding("structured output", SKIP, "no role of this model asks for JSON replies")
            )
        return report
    if all_modes or configured_failed:
        _check_modes(probe_spec, json_role, env, report, logger)
    return report


def _check_endpoint(spec: ModelSpec, env: Mapping[str, str], report: ModelReport) -> bool:
    """Reachable, key accepted, model listed; False when nothing further can be checked."""
    import openai

    key_env = spec.api_key_env
    key = env.get(key_env, "") if key_env else NO_KEY_PLACEHOLDER
    if not key:
        report.add(
            Finding(
                "api key",
                FAIL,
                f"environment variable {key_env} is not set or empty",
                f"export {key_env}=<your key>, or set models.{spec.id}.api_key_env: null for a "
                "server without keys",
            )
        )
        return False
    client = openai.OpenAI(
        base_url=spec.base_url, api_key=key, max_retries=0, timeout=min(spec.timeout_s, 30.0)
    )
    started = time.monotonic()
    try:
        listed = [model.id for model in client.models.list()]
    except openai.APIConnectionError as exc:
        report.add(
            Finding(
                "reachable",
                FAIL,
                f"no answer from {spec.base_url} ({type(exc).__name__}: {exc})",
                f"start the server, or set models.{spec.id}.base_url to its address (it "
                "usually ends in /v1)",
            )
        )
        return False
    except openai.APIStatusError as exc:
        latency = time.monotonic() - started
        report.add(
            Finding("reachable", OK, f"HTTP {exc.status_code} from GET /models", "", latency)
        )
        if exc.status_code in (401, 403):
            report.add(
                Finding(
                    "api key",
                    FAIL,
                    f"refused (HTTP {exc.status_code})",
                    f"put a key this server accepts in {key_env}"
                    if key_env
                    else f"set models.{spec.id}.api_key_env to the variable holding the key",
                )
            )
            return False
        report.add(Finding("model name", SKIP, "the server does not list its models"))
        return True
    finally:
        client.close()
    latency = time.monotonic() - started
    report.add(Finding("reachable", OK, "GET /models answered", "", latency))
    report.add(Finding("api key", OK, f"accepted ({key_env})" if key_env else "none needed"))
    if spec.model in listed:
        report.add(Finding("model name", OK, f"{spec.model!r} is served"))
    else:
        shown = ", ".join(repr(name) for name in listed[:5]) or "nothing"
        report.add(
            Finding(
                "model name",
                WARN,
                f"{spec.model!r} is not among the served models ({shown}); some servers answer "
                "any name with the model they loaded",
                f"set models.{spec.id}.model to one of the listed names",
            )
        )
    return True


def _ask(
    spec: ModelSpec,
    request: LLMRequest,
    env: Mapping[str, str],
    max_reasks: int,
    logger: logging.Logger,
    stage: str,
) -> tuple[LLMResult | None, str, float]:
    """The result (None when the run would stop), the error text, and the latency."""
    service = LLMService(spec, None, max_reasks=max_reasks, env=env, logger=logger, stage=stage)
    started = time.monotonic()
    try:
        [result] = service.run([request])
    except (LLMError, MeshDistillError) as error:
        return None, str(error), time.monotonic() - started
    return result, result.error or "", time.monotonic() - started


def _check_role(
    spec: ModelSpec, role: Role, env: Mapping[str, str], max_reasks: int, logger: logging.Logger
) -> Finding:
    check = f"role {role.name}"
    what = f"{role.mode}/{role.reply}"
    if role.reply == "json" and spec.provider == "openai":
        what += f", structured_output {spec.structured_output}"
    result, error, latency = _ask(spec, sample_request(role), env, max_reasks, logger, role.name)
    if result is None:
        return Finding(check, FAIL, f"{what}: {_reason_of(error)}", _fix_in(error), latency)
    if not result.ok:
        return Finding(
            check, FAIL, f"{what}: no usable reply: {error}", _reply_fix(spec, role), latency
        )
    return Finding(check, OK, f"{what}: {_excerpt(result)}", "", latency)


def _check_modes(
    spec: ModelSpec, role: Role, env: Mapping[str, str], report: ModelReport, logger: logging.Logger
) -> None:
    """Try the JSON role's request in every structured-output mode, without re-asks."""
    request = sample_request(role)
    working: list[str] = []
    for mode in STRUCTURED_OUTPUT_MODES:
        check = f"structured_output {mode}"
        trial = dataclasses.replace(spec, structured_output=mode)
        result, error, latency = _ask(trial, request, env, 0, logger, role.name)
        if result is None:
            report.add(Finding(check, FAIL, f"refused: {_reason_of(error)}", "", latency))
        elif not result.ok:
            report.add(
                Finding(check, WARN, f"accepted, but the reply was not valid: {error}", "", latency)
            )
        else:
            working.append(mode)
            report.add(
                Finding(check, OK, f"accepted, valid reply: {_excerpt(result)}", "", latency)
            )
    best = working[0] if working else None
    if best is None:
        fix = (
            f"no mode gave a valid reply; set models.{spec.id}.structured_output: none and raise "
            "llm.max_reasks, or use a larger model"
        )
        report.add(Finding("structured output", FAIL, "no mode worked", fix))
    elif best != spec.structured_output:
        report.add(
            Finding(
                "structured output",
                FAIL,
                f"configured {spec.structured_output}; {best} works",
                f"set models.{spec.id}.structured_output: {best}",
            )
        )
    else:
        report.add(Finding("structured output", OK, f"{best} works"))


def _reason_of(error: str) -> str:
    """A refusal's status and server message, without the advice around them."""
    start = error.find("(HTTP ")
    end = error.find("); not retried", start)
    if start < 0 or end < 0:
        return error
    return error[start + 1 : end]


def _fix_in(error: str) -> str:
    """The fix an error message already names (after 'Change' / 'check' / 'set')."""
    for marker in ("Change ", "check ", "set "):
        at = error.rfind(marker)
        if at >= 0:
            return marker.lower() + error[at + len(marker) :]
    return ""


def _reply_fix(spec: ModelSpec, role: Role) -> str:
    if role.reply == "json":
        return (
            f"run `meshdistill check-models --all-modes` to find a structured_output mode "
            f"(models.{spec.id}.structured_output) that gives valid JSON"
        )
    if role.reply == "rating":
        return (
            "the server returned no usable log-probabilities for the rating tokens; set "
            f"models.{spec.id}.prompt_mode: chat to rate with JSON instead"
        )
    return f"raise max_tokens in the params of {role.name}, or check the prompt file"


def _excerpt(result: LLMResult) -> str:
    value = result.value or {}
    text = value["text"] if set(value) == {"text"} else json.dumps(value, sort_keys=True)
    text = " ".join(str(text).split())
    if len(text) > REPLY_EXCERPT_CHARS:
        text = text[: REPLY_EXCERPT_CHARS - 3] + "..."
    return text


def format_reports(reports: Sequence[ModelReport]) -> str:
    lines = []
    for report in reports:
        lines.append(f"model {report.model_id} ({report.where}): {'ok' if report.ok else 'FAILED'}")
        for f in report.findings:
            timing = f" [{f.latency_s:.2f} s]" if f.latency_s is not None else ""
            lines.append(f"  {f.status:<4}  {f.check}: {f.detail}{timing}")
            if f.fix:
                lines.append(f"        fix: {f.fix}")
    return "\n".join(lines)


def to_json(reports: Sequence[ModelReport]) -> str:
    return json.dumps(
        [
            {
                "model": r.model_id,
                "where": r.where,
                "ok": r.ok,
                "findings": [dataclasses.asdict(f) for f in r.findings],
            }
            for r in reports
        ],
        indent=2,
    )
