"""The Files and Batch endpoints of the test server, as strict as OpenAI's.

``POST /v1/files`` takes a multipart upload (fields ``purpose`` and ``file``); ``GET
/v1/files/{id}`` and ``GET /v1/files/{id}/content`` give it back. ``POST /v1/batches`` starts a
batch over an uploaded ``batch`` file for one endpoint (``/v1/chat/completions`` or
``/v1/completions``) with the ``24h`` window; ``GET /v1/batches/{id}`` reports it, ``POST
/v1/batches/{id}/cancel`` cancels it and ``GET /v1/batches`` lists them.

A batch is processed on its own thread: *validating* checks every line as OpenAI does (a JSON
object with a unique string ``custom_id``, ``method`` POST, ``url`` equal to the batch's endpoint, a
``body`` object; one model for the whole batch) and fails the batch with per-line errors
otherwise; *in_progress* answers each line exactly as the synchronous endpoint would (same
validation, faults, responder and counters), 2xx answers going to the output file and the others
to the error file. ``fate`` lets a test steer what happens next: ``complete``; ``stall`` (stay
in progress until the fate changes); ``expire`` (answer the first half, then expire, the rest
reported with ``batch_expired``); ``fail`` (fail validation the way a provider refuses a batch over
its enqueued-token limit).
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshdistill.testing.openai_server import Answer, OpenAITestServer

BATCH_ENDPOINTS = {"/v1/chat/completions": True, "/v1/completions": False}
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
FATES = ("complete", "stall", "expire", "fail")
#: Seconds between looks at the fate while a batch stalls.
STALL_POLL_S = 0.02


def _now() -> int:
    return int(time.time())


class BatchAPI:
    """Files and batches held in memory by one test server."""

    def __init__(self, owner: OpenAITestServer) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.files: dict[str, dict[str, Any]] = {}
        self._contents: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        #: What happens to batches from now on (see the module docstring).
        self.fate = "complete"
        #: Batches created (accepted by ``POST /v1/batches``).
        self.created = 0

    def _error(self, status: int, message: str, code: str | None = None) -> Answer:
        from meshdistill.testing.openai_server import error_answer

        return error_answer(status, message, code)

    # --- routes --------------------------------------------------------------------------
    def post(self, route: str, raw: bytes, content_type: str) -> Answer:
        if route == "/v1/files":
            return self._upload(raw, content_type)
        if route == "/v1/batches":
            return self._create(raw)
        parts = route.split("/")
        if len(parts) == 5 and parts[2] == "batches" and parts[4] == "cancel":
            return self._cancel(parts[3])
        return self._error(404, f"no route {route}", "not_found")

    def get(self, route: str) -> Answer:
        parts = route.split("?", 1)[0].split("/")
        with self._lock:
            if route.split("?", 1)[0] == "/v1/batches":
                data = [dict(b) for b in reversed(self.batches.values())]  # newest first
                return 200, {"object": "list", "data": data, "has_more": False}, {}
            if len(parts) == 4 and parts[2] == "batches":
                batch = self.batches.get(parts[3])
                if batch is None:
                    return self._error(404, f"No batch found with id '{parts[3]}'.")
                return 200, dict(batch), {}
            if len(parts) in (4, 5) and parts[2] == "files":
                found = self.files.get(parts[3])
                if found is None:
                    return self._error(404, f"No such File object: {parts[3]}")
                if len(parts) == 4:
                    return 200, dict(found), {}
                if parts[4] == "content":
                    return 200, self._contents[parts[3]], {}
        return self._error(404, f"no route {route}", "not_found")

    # --- files ---------------------------------------------------------------------------
    def _upload(self, raw: bytes, content_type: str) -> Answer:
        if not content_type.startswith("multipart/form-data"):
            return self._error(400, "files must be uploaded as multipart/form-data")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
        )
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = (part.get_filename(), payload)
        if "purpose" not in fields:
            return self._error(400, "Missing required parameter: 'purpose'.")
        if "file" not in fields or fields["file"][0] is None:
            return self._error(400, "Missing required parameter: 'file'.")
        purpose = fields["purpose"][1].decode("utf-8")
        if purpose not in FILE_PURPOSES:
            return self._error(
                400, f"'{purpose}' is not one of {list(FILE_PURPOSES)} - 'purpose'", "invalid_value"
            )
        filename, content = fields["file"]
        if purpose == "batch" and not str(filename).endswith(".jsonl"):
            return self._error(400, "Invalid file format for Batch API. Must be .jsonl")
        return 200, self.add_file(str(filename), content, purpose), {}

    def add_file(self, filename: str, content: bytes, purpose: str) -> dict[str, Any]:
        with self._lock:
            file_id = f"file-{next(self._ids):06d}"
            found = {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": _now(),
                "filename": filename,
                "purpose": purpose,
                "status": "processed",
            }
            self.files[file_id] = found
            self._contents[file_id] = content
        return dict(found)

    # --- batches -------------------------------------------------------------------------
    def _create(self, raw: bytes) -> Answer:
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return self._error(400, "body is not JSON", "invalid_json")
        if not isinstance(body, dict):
            return self._error(400, "the request body must be a JSON object")
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(body.get(name), str):
                return self._error(400, f"Missing required parameter: '{name}'.")
        if body["completion_window"] != "24h":
            return self._error(400, "Invalid 'completion_window': only '24h' is supported.")
        if body["endpoint"] not in BATCH_ENDPOINTS:
            return self._error(
                400,
                f"Invalid 'endpoint': {body['endpoint']!r}; this server batches "
                f"{' and '.join(BATCH_ENDPOINTS)}",
                "invalid_value",
            )
        metadata = body.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
        ):
            return self._error(400, "'metadata' must map strings to strings")
        with self._lock:
            found = self.files.get(body["input_file_id"])
            if found is None:
                return self._error(404, f"No such File object: {body['input_file_id']}")
            if found["purpose"] != "batch":
                return self._error(
                    400, f"File {found['id']} has purpose '{found['purpose']}'; it must be 'batch'"
                )
            batch_id = f"batch_{next(self._ids):06d}"
            batch = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body["endpoint"],
                "errors": None,
                "input_file_id": found["id"],
                "completion_window": "24h",
                "status": "validating",
                "output_file_id": None,
                "error_file_id": None,
                "created_at": _now(),
                "in_progress_at": None,
                "expires_at": _now() + 86400,
                "finalizing_at": None,
                "completed_at": None,
                "failed_at": None,
                "expired_at": None,
                "cancelling_at": None,
                "cancelled_at": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
                "metadata": metadata,
            }
            self.batches[batch_id] = batch
            self.created += 1
            content = self._contents[found["id"]]
        threading.Thread(target=self._process, args=(batch_id, content), daemon=True).start()
        return 200, dict(batch), {}

    def _cancel(self, batch_id: str) -> Answer:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return self._error(404, f"No batch found with id '{batch_id}'.")
            if batch["status"] in ("validating", "in_progress", "finalizing"):
                batch["status"] = "cancelling"
                batch["cancelling_at"] = _now()
            return 200, dict(batch), {}

    def _set(self, batch_id: str, **changes: Any) -> dict[str, Any]:
        with self._lock:
            batch = self.batches[batch_id]
            batch.update(changes)
            return batch

    def _status(self, batch_id: str) -> str:
        with self._lock:
            return str(self.batches[batch_id]["status"])

    def _process(self, batch_id: str, content: bytes) -> None:
        endpoint = self.batches[batch_id]["endpoint"]
        lines, errors = validate_lines(content, endpoint)
        if not errors and self.fate == "fail":
            errors = [
                {
                    "code": "token_limit_exceeded",
                    "message": "Enqueued token limit reached for this model; try again later.",
                    "param": None,
                    "line": None,
                }
            ]
        if errors:
            self._set(
                batch_id,
                status="failed",
                failed_at=_now(),
                errors={"object": "list", "data": errors},
            )
            return
        with self._lock:
            batch = self.batches[batch_id]
            if batch["status"] == "validating":  # not when a cancel came first
                batch.update(status="in_progress", in_progress_at=_now())
            batch["request_counts"] = {"total": len(lines), "completed": 0, "failed": 0}
        outputs: list[str] = []
        failures: list[str] = []
        ended = ""
        for number, line in enumerate(lines):
            while self.fate == "stall" and self._status(batch_id) == "in_progress":
                time.sleep(STALL_POLL_S)
            status = self._status(batch_id)
            if status == "cancelling" or (self.fate == "expire" and number >= len(lines) // 2):
                ended = "cancelled" if status == "cancelling" else "expired"
                for rest in lines[number:]:
                    failures.append(_unanswered(batch_id, rest["custom_id"], ended))
                break
            chat = BATCH_ENDPOINTS[endpoint]
            answer = self._owner.respond(line["body"], chat=chat, authorization=None)
            if answer is None:  # the "drop" fault: the provider's worker lost the request
                answer = (500, {"error": {"message": "internal error", "code": None}}, {})
            code, payload, _ = answer
            result = {
                "id": f"batch_req_{next(self._ids):06d}",
                "custom_id": line["custom_id"],
                "response": {"status_code": code, "request_id": f"req_{number}", "body": payload},
                "error": None,
            }
            (outputs if 200 <= code < 300 else failures).append(json.dumps(result))
            with self._lock:
                counts = self.batches[batch_id]["request_counts"]
                counts["completed" if 200 <= code < 300 else "failed"] += 1
        self._set(batch_id, finalizing_at=_now())
        output_id = self._result_file(batch_id, "output", outputs)
        error_id = self._result_file(batch_id, "errors", failures)
        final = ended or "completed"
        self._set(
            batch_id,
            status=final,
            output_file_id=output_id,
            error_file_id=error_id,
            **{f"{final}_at": _now()},
        )

    def _result_file(self, batch_id: str, kind: str, lines: list[str]) -> str | None:
        if not lines:
            return None
        content = ("\n".join(lines) + "\n").encode("utf-8")
        return str(self.add_file(f"{batch_id}_{kind}.jsonl", content, "batch_output")["id"])


def _unanswered(batch_id: str, custom_id: str, ended: str) -> str:
    code = "batch_expired" if ended == "expired" else "batch_cancelled"
    return json.dumps(
        {
            "id": f"batch_req_{batch_id}_{custom_id}",
            "custom_id": custom_id,
            "response": None,
            "error": {"code": code, "message": f"This request could not be executed: {ended}."},
        }
    )


def validate_lines(
    content: bytes, endpoint: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The input file's requests, and every problem OpenAI's validation would report."""
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    models: set[str] = set()

    def problem(number: int, code: str, message: str, param: str | None = None) -> None:
        errors.append({"code": code, "message": message, "param": param, "line": number})

    text_lines = content.decode("utf-8", errors="replace").splitlines()
    for number, text in enumerate(text_lines, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            problem(number, "invalid_json_line", "This line is not parseable as valid JSON.")
            continue
        if not isinstance(line, dict):
            problem(number, "invalid_request", "Each line must be a JSON object.")
            continue
        custom_id = line.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            problem(number, "missing_required_parameter", "Missing 'custom_id'.", "custom_id")
            continue
        if custom_id in seen:
            problem(
                number,
                "duplicate_custom_id",
                f"The custom_id '{custom_id}' is used more than once; custom ids must be unique "
                "within a batch.",
                "custom_id",
            )
            continue
        seen.add(custom_id)
        if line.get("method") != "POST":
            problem(number, "invalid_value", "'method' must be 'POST'.", "method")
        elif line.get("url") != endpoint:
            problem(
                number,
                "mismatched_url",
                f"The url {line.get('url')!r} does not match the batch endpoint {endpoint!r}.",
                "url",
            )
        elif not isinstance(line.get("body"), dict):
            problem(number, "invalid_value", "'body' must be a JSON object.", "body")
        elif line["body"].get("stream"):
            problem(number, "invalid_value", "Streaming is not supported in batches.", "stream")
        else:
            models.add(str(line["body"].get("model")))
            lines.append(line)
    if not lines and not errors:
        errors.append(
            {"code": "empty_file", "message": "The input file has no requests.", "line": None}
        )
    if len(models) > 1:
        errors.append(
            {
                "code": "model_mismatch",
                "message": f"A batch must use one model (got {sorted(models)}).",
                "param": "model",
                "line": None,
            }
        )
    return lines, errors
