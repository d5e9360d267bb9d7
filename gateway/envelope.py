"""The response envelope of API.md and the one gRPC-status -> HTTP-status table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
import orjson
from google.rpc import error_details_pb2, status_pb2

from kernel.errors import FieldViolation

# grpc-gateway's table (API.md, "HTTP status follows the gRPC status of the call").
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
# Reason when a status carries no ErrorInfo (failures of the transport, not of a service).
_DEFAULT_REASON = {
    grpc.StatusCode.UNAVAILABLE: "SERVICE_UNAVAILABLE",
    grpc.StatusCode.DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
    grpc.StatusCode.UNAUTHENTICATED: "UNAUTHENTICATED",
    grpc.StatusCode.PERMISSION_DENIED: "PERMISSION_DENIED",
    grpc.StatusCode.NOT_FOUND: "NOT_FOUND",
    grpc.StatusCode.INVALID_ARGUMENT: "VALIDATION_FAILED",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "RATE_LIMITED",
    grpc.StatusCode.ABORTED: "VERSION_CONFLICT",
}
_DETAILS_KEY = "grpc-status-details-bin"


@dataclass
class ApiError(Exception):
    """An error answer of the gateway itself or translated from a backend."""

    status: int
    code: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    @classmethod
    def invalid(cls, violations: list[FieldViolation], message: str | None = None) -> ApiError:
        """400 VALIDATION_FAILED listing every bad field."""
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        return cls(
            400,
            "VALIDATION_FAILED",
            message or f"Invalid request: {summary}",
            [{"field": v.field, "description": v.description} for v in violations],
        )


def now_rfc3339() -> str:
    """The current UTC time as RFC 3339 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def success_body(data: Any, meta: dict[str, Any], message: str | None = None) -> bytes:
    """`{"ok": true, "data", "message", "meta", "timestamp"}` as JSON bytes."""
    return orjson.dumps(
        {"ok": True, "data": data, "message": message, "meta": meta, "timestamp": now_rfc3339()}
    )


def error_body(error: ApiError, meta: dict[str, Any]) -> bytes:
    """`{"ok": false, "error": {message, code, details}, "meta", "timestamp"}` as JSON bytes."""
    return orjson.dumps(
        {
            "ok": False,
            "error": {"message": error.message, "code": error.code, "details": error.details},
            "meta": meta,
            "timestamp": now_rfc3339(),
        }
    )


def error_from_rpc(error: grpc.aio.AioRpcError, backend: str) -> ApiError:
    """A failed call as an ApiError: HTTP status, ErrorInfo reason, BadRequest details."""
    code = error.code()
    status = HTTP_STATUS.get(code, 500)
    reason = _DEFAULT_REASON.get(code, "INTERNAL")
    message = error.details() or ""
    details: list[dict[str, Any]] = []
    rich = _rich_status(error)
    if rich is not None:
        message = rich.message or message
        for packed in rich.details:
            if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                packed.Unpack(info)
                reason = info.reason or reason
                if info.metadata:
                    details.append({"metadata": dict(info.metadata)})
            elif packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                packed.Unpack(bad_request)
                details.extend(
                    {"field": v.field, "description": v.description}
                    for v in bad_request.field_violations
                )
    elif status >= 500 or code == grpc.StatusCode.UNAVAILABLE:
        # Transport failures carry internal addresses and library text: never show those.
        message = {
            503: f"The {backend} service is unavailable; try again shortly",
            504: f"The {backend} service did not answer in time",
        }.get(status, "Internal error")
    if status == 500:
        message, reason = "Internal error", "INTERNAL"
    return ApiError(status, reason, message, details, _retry_after(status, details))


def _retry_after(status: int, details: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """`Retry-After` for a service's 429, from its ErrorInfo metadata `retryAfterSeconds`."""
    if status != 429:
        return []
    for detail in details:
        seconds = detail.get("metadata", {}).get("retryAfterSeconds", "")
        if seconds.isdigit():
            return [(b"retry-after", str(max(1, int(seconds))).encode())]
    return []


def _rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    metadata: Any = error.trailing_metadata() or ()  # grpc-stubs mistype aio metadata
    for key, value in metadata:
        if key == _DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status()
            status.ParseFromString(value)
            return status
    return None
