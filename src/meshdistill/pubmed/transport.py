"""Send E-utilities requests: shared rate limit, retries with backoff, secrets kept out of errors.

Requests are built with Biopython's ``Bio.Entrez`` request builder (GET or POST chosen as NCBI
asks, parameters encoded its way) but pointed at a configurable base URL, and sent here rather
than through ``Bio.Entrez``'s own opener: that opener has a per-process throttle and a retry
loop of its own, which would double up with the cross-process throttle and the backoff below.
The one use of Biopython's private builder is isolated in :func:`build_request`.
"""

from __future__ import annotations

import http.client
import logging
import re
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Mapping
from email.message import Message
from typing import Any

from Bio import Entrez

from meshdistill.errors import MeshDistillError
from meshdistill.pubmed.entrez_settings import EntrezSettings
from meshdistill.pubmed.throttle import SharedThrottle

_RETRYABLE = frozenset({429, 500, 502, 503, 504})
_KEY_IN_TEXT = re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE)
_EMAIL_IN_TEXT = re.compile(r"(email=)[^&\s\"']+", re.IGNORECASE)


class EntrezError(MeshDistillError):
    """An E-utilities request failed for good (after retries, or for a non-retryable reason)."""


class EntrezAuthError(EntrezError):
    """NCBI rejected the API key; the key itself is never part of the message."""


def scrub(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    """Remove API keys and e-mail addresses from URLs or server messages."""
    text = _KEY_IN_TEXT.sub(r"\1***", text)
    text = _EMAIL_IN_TEXT.sub(r"\1***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def build_request(
    url: str, params: Mapping[str, Any], post: bool | None = None
) -> urllib.request.Request:
    """Build the request with ``Bio.Entrez``'s encoder, for any E-utilities base URL."""
    with warnings.catch_warnings():
        # Biopython warns when no e-mail is set; the client logs that once itself.
        warnings.simplefilter("ignore", UserWarning)
        request: urllib.request.Request = Entrez._build_request(url, dict(params), post=post)
    return request


def _retry_after_s(headers: Message | None) -> float | None:
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _is_rejected_key(status: int, body: str) -> bool:
    lowered = body.lower()
    return status in (400, 401, 403) and "api key" in lowered and "invalid" in lowered


class Transport:
    """Sends one logical request, retrying 429/5xx and connection errors with backoff."""

    def __init__(
        self,
        settings: EntrezSettings,
        logger: logging.Logger,
        throttle: SharedThrottle | None = None,
        sleep: Callable[[float], None] = time.sleep,
        opener: Callable[..., Any] = urllib.request.urlopen,
    ) -> None:
        self.settings = settings
        self.logger = logger
        self.throttle = throttle or SharedThrottle(
            1.0 / settings.requests_per_second + settings.rate_margin_s, settings.throttle_path
        )
        self._sleep = sleep
        self._open = opener
        self.requests_sent = 0

    def _identity(self) -> dict[str, str]:
        identity = {"tool": self.settings.tool}
        if self.settings.email:
            identity["email"] = self.settings.email
        if self.settings.api_key:
            identity["api_key"] = self.settings.api_key
        return identity

    def _scrub(self, text: str) -> str:
        return scrub(text, (self.settings.api_key, self.settings.email))

    def _backoff_s(self, attempt: int, retry_after: float | None) -> float:
        own = min(self.settings.backoff_max_s, self.settings.backoff_base_s * (2 ** (attempt - 1)))
        return max(own, retry_after) if retry_after is not None else own

    def get(self, utility: str, params: Mapping[str, Any], post: bool | None = None) -> bytes:
        """Return the reply body of ``<base>/<utility>.fcgi`` for ``params``."""
        url = f"{self.settings.eutils_url}{utility}.fcgi"
        full_params = {**params, **self._identity()}
        described = self._scrub(f"{utility} {dict(params)}")
        last_problem = "no attempt made"
        for attempt in range(1, self.settings.max_tries + 1):
            request = build_request(url, full_params, post=post)
            self.throttle.wait()
            self.requests_sent += 1
            retry_after: float | None = None
            try:
                with self._open(request, timeout=self.settings.timeout_s) as response:
                    body: bytes = response.read()
                return body
            except urllib.error.HTTPError as exc:
                status = exc.code
                try:
                    detail = exc.read().decode("utf-8", "replace")[:500]
                except Exception:  # noqa: BLE001 - the body is only for the message
                    detail = ""
                finally:
                    exc.close()
                if _is_rejected_key(status, detail):
                    raise EntrezAuthError(
                        "NCBI rejected the API key (HTTP "
                        f"{status}); check the key in the environment variable or config "
                        "(it is not shown here)"
                    ) from None
                last_problem = f"HTTP {status}: {self._scrub(detail.strip()) or exc.reason}"
                if status not in _RETRYABLE:
                    raise EntrezError(f"{described} failed: {last_problem}") from None
                retry_after = _retry_after_s(exc.headers)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                last_problem = f"connection problem: {self._scrub(str(reason))}"
            except http.client.HTTPException as exc:
                # IncompleteRead and other broken replies: the connection failed mid-reply.
                last_problem = f"connection broken mid-reply: {type(exc).__name__}"
            if attempt < self.settings.max_tries:
                delay = self._backoff_s(attempt, retry_after)
                self.logger.warning(
                    "%s: %s; retry %d/%d in %.2f s",
                    utility,
                    last_problem,
                    attempt,
                    self.settings.max_tries - 1,
                    delay,
                )
                self._sleep(delay)
        raise EntrezError(
            f"{described} failed after {self.settings.max_tries} tries: {last_problem}"
        )
