"""Domain errors map to google.rpc.Status with ErrorInfo and BadRequest."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from kernel.errors import DomainError, FieldViolation, NotFound, ValidationFailed
from kernel.grpc_server import domain_error_status


def _status(error: DomainError) -> status_pb2.Status:
    rendered = domain_error_status(error)
    details = dict(rendered.trailing_metadata)["grpc-status-details-bin"]
    return status_pb2.Status.FromString(details)


def test_validation_failure_carries_reason_and_field_violations():
    status = _status(ValidationFailed([FieldViolation("title", "must not be empty")]))
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    info, bad_request = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info)
    assert status.details[1].Unpack(bad_request)
    assert info.reason == "VALIDATION_FAILED"
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("title", "must not be empty")
    ]


def test_reason_can_be_specialised_and_must_exist_in_the_catalogue():
    status = _status(NotFound("no such course", reason="COURSE_NOT_FOUND"))
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert info.reason == "COURSE_NOT_FOUND"
    with pytest.raises(ValueError, match="catalogue"):
        NotFound("x", reason="NOT_A_REASON")
