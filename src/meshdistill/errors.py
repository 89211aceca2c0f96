"""Error types that carry enough context (file, record, setting) for a clear message."""

from __future__ import annotations


class MeshDistillError(Exception):
    """Base class for every error the project raises on purpose."""


class ConfigError(MeshDistillError):
    """A configuration setting is missing, malformed or inconsistent; names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"config setting '{setting}': {problem}")


class InputError(MeshDistillError):
    """An input file or record cannot be used; names the file and, where known, the record."""

    def __init__(self, source: str, problem: str, record: str | None = None) -> None:
        self.source = source
        self.record = record
        self.problem = problem
        where = f"{source} (record {record})" if record else source
        super().__init__(f"{where}: {problem}")


class UnknownDescriptorError(MeshDistillError):
    """A MeSH UI, name or tree number that the loaded MeSH data does not contain."""

    def __init__(
        self,
        kind: str,
        value: str,
        source: str | None = None,
        suggestions: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self.value = value
        self.source = source
        self.suggestions = suggestions
        suffix = f" in {source}" if source else ""
        hint = f"; closest known: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(f"unknown MeSH {kind} '{value}'{suffix}{hint}")


class SchemaValidationError(MeshDistillError):
    """An artifact does not match its JSON Schema; names the schema, file and record."""

    def __init__(self, schema: str, where: str, problem: str) -> None:
        self.schema = schema
        self.where = where
        super().__init__(f"{where} does not match schema {schema}: {problem}")
