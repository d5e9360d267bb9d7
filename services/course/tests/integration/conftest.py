"""The course service running in-process on a real database and NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kernel.settings import Settings
from services.course.bootstrap import CourseService, bootstrap
from tests.support import channel_to
from unpuzzle.course.v1 import course_service_pb2_grpc


@pytest.fixture
async def course_service(settings: Settings) -> AsyncIterator[CourseService]:
    """Started course service (gRPC on a free port, relay connected to NATS)."""
    service = bootstrap(settings)
    await service.runtime.start()
    await service.infra.nats.wait_ready(10)
    assert await service.runtime.refresh_readiness()
    yield service
    await service.runtime.stop()


@pytest.fixture
async def bare_course_service(settings: Settings) -> AsyncIterator[CourseService]:
    """The wired service, not started: handlers and cached views without background jobs
    (no cache warm-up racing the test, no relay, no invalidation broadcasts)."""
    service = bootstrap(settings)
    yield service
    await service.infra.database.dispose()


@pytest.fixture
async def course_stub(
    course_service: CourseService,
) -> AsyncIterator[course_service_pb2_grpc.CourseServiceStub]:
    """A gRPC client of the course service."""
    async with channel_to(course_service.runtime.bound_port) as channel:
        yield course_service_pb2_grpc.CourseServiceStub(channel)
