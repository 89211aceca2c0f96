"""Versioned prompt files (``prompts/*.yaml``) and their rendering into chat messages.

A prompt file holds ``name``, ``version``, ``description``, ``response_schema`` (a file name in
``schemas/``), ``system`` and ``user``. The two texts are Python ``str.format`` templates, so
literal braces are doubled. The file's SHA-256 goes into every record's provenance, so any edit
to a prompt is visible downstream and changes the request cache key.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshdistill.errors import InputError

_REQUIRED_TEXT_KEYS = ("name", "response_schema", "system", "user")


def _template_fields(template: str, source: str, key: str) -> frozenset[str]:
    """Names of the ``{field}`` placeholders; rejects positional or attribute placeholders."""
    fields: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InputError(source, f"'{key}' is not a valid format template: {exc}") from exc
    for _literal, field, _spec, _conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise InputError(
                source,
                f"'{key}' placeholder '{{{field}}}' must be a plain name (double literal braces)",
            )
        fields.add(field)
    return frozenset(fields)


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    path: Path
    sha256: str
    system: str
    user: str
    response_schema: str
    description: str = ""

    @classmethod
    def load(cls, path: str | Path) -> PromptTemplate:
        """Read and check a prompt file; :class:`InputError` names the file and the bad key."""
        file = Path(path)
        source = str(file)
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise InputError(source, f"cannot read prompt file: {exc.strerror or exc}") from exc
        try:
            data: Any = yaml.safe_load(raw.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InputError(source, f"not valid UTF-8 YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise InputError(source, "prompt file must be a YAML mapping")
        for key in _REQUIRED_TEXT_KEYS:
            value = data.get(key)
            if not isinstance(value, str) or not value.strip():
                raise InputError(source, f"key '{key}' is missing or not a non-empty string")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise InputError(source, "key 'version' is missing or not a positive integer")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise InputError(source, "key 'description' must be a string")
        template = cls(
            name=data["name"],
            version=version,
            path=file,
            sha256=hashlib.sha256(raw).hexdigest(),
            system=data["system"],
            user=data["user"],
            response_schema=data["response_schema"],
            description=description.strip(),
        )
        # Parse both templates now so a broken placeholder fails at load, not mid-run.
        template.fields()
        return template

    def fields(self) -> frozenset[str]:
        """Every placeholder name used by the system and user templates."""
        source = str(self.path)
        return _template_fields(self.system, source, "system") | _template_fields(
            self.user, source, "user"
        )

    def render(self, **fields: str) -> list[dict[str, str]]:
        """Fill both templates; a placeholder without a value raises :class:`InputError`."""
        missing = sorted(self.fields() - fields.keys())
        if missing:
            raise InputError(
                str(self.path), f"prompt '{self.name}' needs field(s) {', '.join(missing)}"
            )
        return [
            {"role": "system", "content": self.system.format(**fields)},
            {"role": "user", "content": self.user.format(**fields)},
        ]

    def provenance(self) -> dict[str, Any]:
        """What a record stores about the prompt (file name, not the machine-specific path)."""
        return {
            "file": self.path.name,
            "name": self.name,
            "sha256": self.sha256,
            "version": self.version,
        }
