"""A revoked access token is refused by every service within a second of the user event."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from kernel.auth import AccessClaims, MemoryRevocationStore, RedisRevocationStore
from kernel.redis_client import connect_redis
from unpuzzle.common.v1 import events_pb2
from unpuzzle.user.v1 import user_events_pb2

pytestmark = pytest.mark.integration


async def _publish_user_event(nats_client, event_type: str, payload, user_id: uuid.UUID) -> None:
    envelope = events_pb2.EventEnvelope(
        id=str(uuid.uuid4()),
        type=event_type,
        occurred_at=Timestamp(seconds=int(time.time())),
        producer="user",
        aggregate_type="user",
        aggregate_id=str(user_id),
        aggregate_version=1,
    )
    envelope.payload.Pack(payload)
    await nats_client.js.publish(
        f"unpuzzle.user.{event_type}.v1",
        envelope.SerializeToString(),
        headers={"Nats-Msg-Id": envelope.id},
    )


async def _refused_within(gateway, headers, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        response = await gateway.post(
            "/api/v1/courses", json={"title": "Revocation probe"}, headers=headers
        )
        if response.status_code == 401:
            assert response.json()["error"]["code"] == "TOKEN_REVOKED"
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"token still accepted after {seconds} s")


async def test_session_revoked_event_refuses_the_token_everywhere(gateway, services, tokens):
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    token = tokens.token(
        user_id, roles=("instructor",), permissions=("course:create",), session_id=session_id
    )
    headers = {"authorization": f"Bearer {token}"}
    accepted = await gateway.post(
        "/api/v1/courses", json={"title": "Before logout"}, headers=headers
    )
    assert accepted.status_code == 201
    revoked = user_events_pb2.SessionRevoked(
        user_id=str(user_id), session_id=str(session_id), reason="logout"
    )
    await _publish_user_event(services["user"].infra.nats, "session.revoked", revoked, user_id)
    assert await _refused_within(gateway, headers, 1.0) < 1.0
    other_session = tokens.token(user_id, roles=("instructor",), permissions=("course:create",))
    still_fine = await gateway.post(
        "/api/v1/courses",
        json={"title": "Other session"},
        headers={"authorization": f"Bearer {other_session}"},
    )
    assert still_fine.status_code == 201


async def test_suspension_refuses_every_token_issued_before_it(gateway, services, tokens):
    user_id = uuid.uuid4()
    token = tokens.token(
        user_id, roles=("instructor",), permissions=("course:create",), issued_at=time.time() - 5
    )
    headers = {"authorization": f"Bearer {token}"}
    suspended = user_events_pb2.UserSuspended(user_id=str(user_id), reason="abuse")
    await _publish_user_event(services["user"].infra.nats, "user.suspended", suspended, user_id)
    assert await _refused_within(gateway, headers, 1.0) < 1.0


@pytest.fixture(params=["memory", "redis"])
async def revocation_store(request: pytest.FixtureRequest):
    """Each revocation store: in-process, and Redis (skipped without REDIS_URL)."""
    if request.param == "memory":
        yield MemoryRevocationStore()
        return
    client = connect_redis(request.getfixturevalue("redis_url"), timeout_seconds=1.0)
    yield RedisRevocationStore(client)
    await client.aclose()


def _claims(user_id: uuid.UUID, session_id: uuid.UUID, issued_at: float) -> AccessClaims:
    return AccessClaims(
        user_id=user_id,
        session_id=session_id,
        roles=frozenset(),
        permissions=frozenset(),
        issued_at=issued_at,
        expires_at=issued_at + 900,
        token_id=uuid.uuid4().hex,
    )


async def test_revocation_stores_refuse_revoked_sessions_and_older_tokens(revocation_store):
    user, session, other_session = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = time.time()
    assert not await revocation_store.is_revoked(_claims(user, session, now))
    await revocation_store.revoke_session(str(session))
    assert await revocation_store.is_revoked(_claims(user, session, now))
    assert not await revocation_store.is_revoked(_claims(user, other_session, now))

    await revocation_store.revoke_user_before(str(user), now + 10.5)
    await revocation_store.revoke_user_before(str(user), now + 5)  # an older event arrives late
    assert await revocation_store.is_revoked(_claims(user, other_session, now + 10.4))
    assert not await revocation_store.is_revoked(_claims(user, other_session, now + 10.6))
    assert not await revocation_store.is_revoked(_claims(uuid.uuid4(), other_session, now))
