"""CreateCourse and GetCourse over gRPC, on SQLite and PostgreSQL, with the event on JetStream."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from nats.js.api import DeliverPolicy

from services.course.bootstrap import CourseService
from tests.support import eventually
from unpuzzle.common.v1 import events_pb2
from unpuzzle.course.v1 import course_events_pb2, course_pb2, course_service_pb2

OWNER = uuid.uuid4()


async def _create(stub, tokens, title: str = "Intro to Rust") -> course_pb2.Course:
    reply = await stub.CreateCourse(
        course_service_pb2.CreateCourseRequest(title=title, price="19.99", tags=["Rust"]),
        metadata=tokens.metadata(tokens.instructor(OWNER)),
    )
    return reply.course


async def test_create_then_get_by_id_and_slug(course_stub, tokens):
    created = await _create(course_stub, tokens)
    owner = tokens.metadata(tokens.instructor(OWNER))
    assert created.status == course_pb2.COURSE_STATUS_DRAFT
    assert created.version == 1
    by_id = await course_stub.GetCourse(
        course_service_pb2.GetCourseRequest(course_id_or_slug=created.id), metadata=owner
    )
    by_slug = await course_stub.GetCourse(
        course_service_pb2.GetCourseRequest(course_id_or_slug=created.slug), metadata=owner
    )
    assert by_id.course == created
    assert by_slug.course == created


async def test_unknown_course_is_not_found_with_reason(course_stub):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await course_stub.GetCourse(
            course_service_pb2.GetCourseRequest(course_id_or_slug=str(uuid.uuid4()))
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    status = rpc_status.from_call(raised.value)  # type: ignore[arg-type]
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert info.reason == "COURSE_NOT_FOUND"


async def test_invalid_request_lists_every_bad_field(course_stub, tokens):
    request = course_service_pb2.CreateCourseRequest(
        title="", price="-3", currency="dollars", thumbnail_url="javascript:alert(1)"
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await course_stub.CreateCourse(request, metadata=tokens.metadata(tokens.instructor()))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(raised.value)  # type: ignore[arg-type]
    bad_request = error_details_pb2.BadRequest()
    assert status.details[1].Unpack(bad_request)
    fields = {v.field for v in bad_request.field_violations}
    assert fields == {"title", "price", "currency", "thumbnailUrl"}


async def test_course_created_reaches_jetstream_exactly_once(
    course_service: CourseService, course_stub, tokens
):
    created = await _create(course_stub, tokens, title=f"Event test {uuid.uuid4().hex[:6]}")
    js = course_service.infra.nats.js
    subscription = await js.subscribe(
        "unpuzzle.course.course.created.v1", deliver_policy=DeliverPolicy.ALL, ordered_consumer=True
    )
    seen: list[events_pb2.EventEnvelope] = []

    async def drain() -> bool:
        while True:
            try:
                message = await subscription.next_msg(timeout=0.2)
            except TimeoutError:
                break
            envelope = events_pb2.EventEnvelope.FromString(message.data)
            if envelope.aggregate_id == created.id:
                seen.append(envelope)
        return bool(seen)

    await eventually(drain, timeout=10)
    await drain()
    await subscription.unsubscribe()
    assert len(seen) == 1
    envelope = seen[0]
    assert envelope.type == "course.created"
    assert envelope.producer == "course"
    payload = course_events_pb2.CourseCreated()
    assert envelope.payload.Unpack(payload)
    assert payload.course_id == created.id
    assert payload.slug == created.slug


async def test_anonymous_and_student_cannot_create_courses(course_stub, tokens):
    request = course_service_pb2.CreateCourseRequest(title="Nope")
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await course_stub.CreateCourse(request)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as student:
        await course_stub.CreateCourse(request, metadata=tokens.metadata(tokens.student()))
    assert student.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_draft_is_hidden_from_other_callers(course_stub, tokens):
    created = await _create(course_stub, tokens, title="Secret draft")
    callers: list[list[tuple[str, str]]] = [[], tokens.metadata(tokens.student())]
    for metadata in callers:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await course_stub.GetCourse(
                course_service_pb2.GetCourseRequest(course_id_or_slug=created.id), metadata=metadata
            )
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
