"""The course service's two-level cache: single flight, freshness across replicas, warm-up,
and answers from the database when Redis is gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from deploy.embedded_nats import free_port
from kernel.cache import CACHE_REQUESTS
from kernel.security import ANONYMOUS
from kernel.settings import Settings
from services.course.bootstrap import CourseService, bootstrap
from services.course.tests.integration.seeding import counted_statements, published_courses
from tests.support import channel_to, eventually
from unpuzzle.course.v1 import course_service_pb2 as api
from unpuzzle.course.v1 import course_service_pb2_grpc

pytestmark = pytest.mark.integration


async def _started(settings: Settings) -> CourseService:
    service = bootstrap(settings)
    await service.runtime.start()
    await service.infra.nats.wait_ready(10)
    await service.cache.backend.listening.wait()
    return service


@pytest.fixture
async def two_replicas(settings: Settings) -> AsyncIterator[list[CourseService]]:
    """Two course-service processes sharing the database and NATS (and Redis when given)."""
    replicas = [await _started(settings) for _ in range(2)]
    yield replicas
    for replica in replicas:
        await replica.runtime.stop()


async def test_one_hundred_concurrent_misses_load_the_course_once(bare_course_service):
    service = bare_course_service
    first, cold, hot = await published_courses(service, 3)
    await service.views.course(str(first.id), ANONYMOUS)  # caches the shared instructor
    engine = service.infra.database.engine
    with counted_statements(engine) as one_load:
        await service.views.course(str(cold.id), ANONYMOUS)
    with counted_statements(engine) as statements:
        pages = await asyncio.gather(
            *(service.views.course(str(hot.id), ANONYMOUS) for _ in range(100))
        )
    assert {page.id for page in pages} == {str(hot.id)}
    assert len(statements) == len(one_load)
    with counted_statements(engine) as cached:
        await service.views.course(str(hot.id), ANONYMOUS)
    assert cached == []


async def _replica_sees_writes_of_the_other_within_a_second(replicas: list[CourseService], tokens):
    writer, reader = replicas
    [course] = await published_courses(writer, 1, title="Before")
    owner = tokens.metadata(tokens.instructor(course.instructor_id))
    async with (
        channel_to(writer.runtime.bound_port) as writer_channel,
        channel_to(reader.runtime.bound_port) as reader_channel,
    ):
        write = course_service_pb2_grpc.CourseServiceStub(writer_channel)
        read = course_service_pb2_grpc.CourseServiceStub(reader_channel)
        get = api.GetCourseRequest(course_id_or_slug=course.slug)
        assert (await read.GetCourse(get)).course.title == "Before 0"
        assert (await read.ListCourses(api.ListCoursesRequest())).courses[0].title == "Before 0"
        await write.UpdateCourse(
            api.UpdateCourseRequest(course_id=str(course.id), title="After"), metadata=owner
        )

        async def fresh() -> bool:
            page = await read.GetCourse(get)
            listing = await read.ListCourses(api.ListCoursesRequest())
            return page.course.title == listing.courses[0].title == "After"

        await eventually(fresh, timeout=1.0, interval=0.02)


async def test_a_write_on_one_replica_is_read_fresh_on_the_other(two_replicas, tokens):
    await _replica_sees_writes_of_the_other_within_a_second(two_replicas, tokens)


async def test_with_redis_a_write_on_one_replica_is_read_fresh_on_the_other(
    settings, redis_url, tokens
):
    replicas = [await _started(replace(settings, redis_url=redis_url)) for _ in range(2)]
    try:
        await _replica_sees_writes_of_the_other_within_a_second(replicas, tokens)
        # Redis was in the path: the reader's misses went to L2 before the database.
        assert CACHE_REQUESTS.labels("course.course", "l2", "miss")._value.get() > 0
    finally:
        for replica in replicas:
            await replica.runtime.stop()


async def test_without_redis_the_service_keeps_answering_from_the_database(settings, tokens):
    gone = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    service = await _started(gone)
    namespaces = ("course.course", "course.slug", "course.page", "course.categories")

    def errors() -> float:
        return sum(CACHE_REQUESTS.labels(n, "l2", "error")._value.get() for n in namespaces)

    before = errors()
    try:
        [course] = await published_courses(service, 1, title="Resilient")
        for _ in range(2):
            page = await service.views.course(str(course.id), ANONYMOUS)
            assert page.title == "Resilient 0"
        assert errors() > before
    finally:
        await service.runtime.stop()


async def test_start_up_warms_the_most_popular_courses(bare_course_service, settings):
    [course] = await published_courses(bare_course_service, 1)
    service = await _started(settings)
    try:

        async def warmed() -> bool:
            with counted_statements(service.infra.database.engine) as statements:
                await service.views.course(str(course.id), ANONYMOUS)
            return statements == []

        await eventually(warmed, timeout=3.0)
    finally:
        await service.runtime.stop()
