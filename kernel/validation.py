"""Request validation from the `(unpuzzle.common.v1.rules)` field options of the protos.

Every service validates each request against the rules declared next to its fields, before
the handler runs, and reports every bad field at once. The gateway publishes the same rules in
OpenAPI, so the contract and the check cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from kernel.errors import FieldViolation, ValidationFailed
from unpuzzle.common.v1 import options_pb2

_Check = Callable[[Message, list[FieldViolation], str], None]
_compiled: dict[str, list[_Check]] = {}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DECIMAL = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


def _format_error(fmt: str, value: str) -> str | None:
    if fmt == "email":
        return None if _EMAIL.match(value) else "must be an email address"
    if fmt == "uuid":
        try:
            UUID(value)
        except ValueError:
            return "must be a UUID"
        return None
    if fmt == "uri":
        return None if value.startswith(("https://", "http://")) else "must be an http(s) URL"
    if fmt == "decimal":
        if not _DECIMAL.match(value):
            return 'must be a non-negative decimal string such as "19.99"'
        try:
            Decimal(value)
        except InvalidOperation:
            return "must be a decimal number"
        return None
    if fmt == "currency":
        return None if _CURRENCY.match(value) else "must be an ISO 4217 code such as USD"
    if fmt == "slug":
        return None if _SLUG.match(value) else "must be lowercase words joined by hyphens"
    return None


def _string_checks(name: str, rules: options_pb2.FieldRules, value: str) -> str | None:
    if rules.required and not value.strip():
        return "must not be empty"
    if not value:
        return None
    if rules.min_len and len(value) < rules.min_len:
        return f"must be at least {rules.min_len} characters"
    if rules.max_len and len(value) > rules.max_len:
        return f"must be at most {rules.max_len} characters"
    if rules.pattern and not re.fullmatch(rules.pattern, value):
        return f"must match {rules.pattern}"
    if rules.format:
        return _format_error(rules.format, value)
    return None


def _number_checks(rules: options_pb2.FieldRules, value: float) -> str | None:
    if rules.HasField("min") and value < rules.min:
        return f"must be at least {rules.min:g}"
    if rules.HasField("max") and value > rules.max:
        return f"must be at most {rules.max:g}"
    return None


def _nested_check(field: Any) -> _Check | None:
    """Messages inside a request (batch items, ...) are validated with a path prefix."""
    message_type = field.message_type
    if message_type is None or message_type.GetOptions().map_entry:
        return None
    if message_type.full_name.startswith("google.") or not _has_rules(message_type, set()):
        return None
    name = field.camelcase_name

    def check(message: Message, violations: list[FieldViolation], prefix: str) -> None:
        value = getattr(message, field.name)
        if field.is_repeated:
            for index, item in enumerate(value):
                _validate_into(item, violations, f"{prefix}{name}[{index}].")
        elif message.HasField(field.name):
            _validate_into(value, violations, f"{prefix}{name}.")

    return check


def _has_rules(descriptor: Any, seen: set[str]) -> bool:
    if descriptor.full_name in seen:
        return False
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        if field.GetOptions().HasExtension(options_pb2.rules):
            return True
        if field.message_type is not None and _has_rules(field.message_type, seen):
            return True
    return False


def _compile_field(field: Any) -> _Check | None:
    options = field.GetOptions()
    if not options.HasExtension(options_pb2.rules):
        return None
    rules: options_pb2.FieldRules = options.Extensions[options_pb2.rules]
    is_string = field.type == FieldDescriptor.TYPE_STRING
    is_number = field.cpp_type in {
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
        FieldDescriptor.CPPTYPE_DOUBLE,
        FieldDescriptor.CPPTYPE_FLOAT,
    }
    repeated = field.is_repeated
    has_presence = field.has_presence and not repeated

    def check(message: Message, violations: list[FieldViolation], prefix: str) -> None:
        value = getattr(message, field.name)
        name = f"{prefix}{field.camelcase_name}"
        if repeated:
            items = list(value)
            if rules.required and not items:
                violations.append(FieldViolation(name, "must not be empty"))
            if rules.min_items and len(items) < rules.min_items:
                violations.append(
                    FieldViolation(name, f"must have at least {rules.min_items} items")
                )
            if rules.max_items and len(items) > rules.max_items:
                violations.append(
                    FieldViolation(name, f"must have at most {rules.max_items} items")
                )
            for index, item in enumerate(items):
                problem = (
                    _string_checks(name, rules, item)
                    if is_string
                    else _number_checks(rules, item)
                    if is_number
                    else None
                )
                if problem:
                    violations.append(FieldViolation(f"{name}[{index}]", problem))
            return
        if has_presence and not message.HasField(field.name):
            if rules.required:
                violations.append(FieldViolation(name, "is required"))
            return
        problem = None
        if is_string:
            problem = _string_checks(name, rules, value)
        elif is_number:
            problem = _number_checks(rules, value)
        elif rules.required and field.cpp_type == FieldDescriptor.CPPTYPE_ENUM and value == 0:
            problem = "is required"
        if problem:
            violations.append(FieldViolation(name, problem))

    return check


def _checks_for(descriptor: Any) -> list[_Check]:
    checks = _compiled.get(descriptor.full_name)
    if checks is None:
        checks = [
            check
            for field in descriptor.fields
            for check in (_compile_field(field), _nested_check(field))
            if check is not None
        ]
        _compiled[descriptor.full_name] = checks
    return checks


def _validate_into(message: Message, violations: list[FieldViolation], prefix: str) -> None:
    for check in _checks_for(message.DESCRIPTOR):
        check(message, violations, prefix)


def validate(message: Message) -> None:
    """Raise ValidationFailed listing every field of `message` that breaks its declared rules."""
    violations: list[FieldViolation] = []
    _validate_into(message, violations, "")
    if violations:
        raise ValidationFailed(violations)
