"""Domain errors and their one mapping to gRPC status codes and catalogue reasons.

A service raises a `DomainError` subclass named for what went wrong; the gRPC interceptor turns
it into a `google.rpc.Status` carrying `ErrorInfo(reason=...)` and, for validation failures,
`BadRequest` field violations. The reason names come from `unpuzzle.common.v1.ErrorReason`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import grpc

from unpuzzle.common.v1 import errors_pb2

ERROR_DOMAIN = "unpuzzle.dev"
_PREFIX = "ERROR_REASON_"
KNOWN_REASONS = frozenset(
    name.removeprefix(_PREFIX)
    for name in errors_pb2.ErrorReason.keys()  # noqa: SIM118 - an enum wrapper, not a dict
    if name != "ERROR_REASON_UNSPECIFIED"
)


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field: lowerCamelCase path and what is wrong with it."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every expected failure; subclasses fix the status code and the reason."""

    code: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION
    reason: str = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        violations: Iterable[FieldViolation] = (),
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        if self.reason not in KNOWN_REASONS:
            raise ValueError(f"{self.reason!r} is not in the ErrorReason catalogue")
        self.violations = tuple(violations)
        self.metadata = dict(metadata or {})


class ValidationFailed(DomainError):
    """The request is malformed; `violations` names every bad field."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "VALIDATION_FAILED"

    def __init__(self, violations: Iterable[FieldViolation], message: str | None = None) -> None:
        items = tuple(violations)
        summary = "; ".join(f"{v.field}: {v.description}" for v in items)
        super().__init__(message or f"Invalid request: {summary}", violations=items)


class InvalidArgument(DomainError):
    """A request argument is unusable for a reason other than field validation."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "VALIDATION_FAILED"


class NotFound(DomainError):
    """The resource does not exist, or the caller may not know that it does."""

    code = grpc.StatusCode.NOT_FOUND
    reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    """Creating the resource would duplicate an existing one."""

    code = grpc.StatusCode.ALREADY_EXISTS


class Conflict(DomainError):
    """The write lost a race (stale version) and can be retried after a fresh read."""

    code = grpc.StatusCode.ABORTED
    reason = "VERSION_CONFLICT"


class PreconditionFailed(DomainError):
    """The resource is not in a state that allows the operation."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class Unauthenticated(DomainError):
    """No valid credential was presented."""

    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    """The caller is known but not allowed to do this."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"


class ResourceExhausted(DomainError):
    """A limit was hit; `metadata["retryAfterSeconds"]` tells when to try again."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RATE_LIMITED"


class ServiceUnavailable(DomainError):
    """A dependency is down; the call may succeed later."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "SERVICE_UNAVAILABLE"
