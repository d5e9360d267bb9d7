"""The gRPC server bootstrap: reflection, health reflecting readiness, graceful drain."""

from __future__ import annotations

import asyncio

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from kernel.grpc_server import LIVENESS
from tests.support import channel_to

pytestmark = pytest.mark.integration
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _list_services(port: int) -> set[str]:
    async with channel_to(port) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def requests():
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        async for reply in stub.ServerReflectionInfo(requests()):
            return {service.name for service in reply.list_services_response.service}
    return set()


async def test_reflection_lists_the_services(services):
    names = await _list_services(services["course"].runtime.bound_port)
    assert {
        "unpuzzle.course.v1.CourseService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names


async def test_health_is_serving_then_not_serving_while_draining(services):
    course = services["course"]
    course.runtime.drain_seconds = 1.0
    async with channel_to(course.runtime.bound_port) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", "unpuzzle.course.v1.CourseService"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=2)
            assert reply.status == SERVING
        stopping = asyncio.create_task(course.runtime.stop())
        await asyncio.sleep(0.2)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
        assert reply.status == NOT_SERVING  # still answering, but out of rotation
        await stopping


async def test_health_follows_the_readiness_checks(services):
    runtime = services["analytics"].runtime
    healthy = dict(runtime.readiness_checks)

    async def database_down() -> bool:
        return False

    runtime.readiness_checks = {**healthy, "database": database_down}
    assert await runtime.refresh_readiness() is False
    async with channel_to(runtime.bound_port) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
        assert reply.status == NOT_SERVING
        alive = await health.Check(health_pb2.HealthCheckRequest(service=LIVENESS), timeout=2)
        assert alive.status == SERVING  # a dependency outage must not get the pod restarted
        runtime.readiness_checks = healthy
        assert await runtime.refresh_readiness() is True
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
        assert reply.status == SERVING
