"""Account and session events reach JetStream, in order, once each."""

from __future__ import annotations

import pytest
from google.protobuf.message import Message
from nats.js.api import DeliverPolicy

from services.user.bootstrap import UserService
from services.user.tests.api import IdentityApi, bearer, ok
from tests.support import eventually
from unpuzzle.common.v1 import events_pb2
from unpuzzle.user.v1 import user_events_pb2

pytestmark = pytest.mark.integration

PAYLOADS: dict[str, type[Message]] = {
    "user.registered": user_events_pb2.UserRegistered,
    "user.profile_updated": user_events_pb2.UserProfileUpdated,
    "user.role_granted": user_events_pb2.UserRoleGranted,
    "user.role_revoked": user_events_pb2.UserRoleRevoked,
    "user.suspended": user_events_pb2.UserSuspended,
    "user.deleted": user_events_pb2.UserDeleted,
    "user.logged_in": user_events_pb2.UserLoggedIn,
    "session.revoked": user_events_pb2.SessionRevoked,
}


async def _events_of(service: UserService, user_id: str) -> list[tuple[str, str, str]]:
    """(subject, type, reason) of every published event about `user_id`, in stream order."""
    subscription = await service.infra.nats.js.subscribe(
        "unpuzzle.user.>", deliver_policy=DeliverPolicy.ALL, ordered_consumer=True
    )
    found = []
    try:
        while True:
            try:
                message = await subscription.next_msg(timeout=0.3)
            except TimeoutError:
                break
            envelope = events_pb2.EventEnvelope.FromString(message.data)
            payload = PAYLOADS[envelope.type]()
            assert envelope.payload.Unpack(payload)
            if getattr(payload, "user_id") == user_id:  # noqa: B009 - every payload has it
                found.append((message.subject, envelope.type, getattr(payload, "reason", "")))
    finally:
        await subscription.unsubscribe()
    return found


async def _wait_for(service: UserService, user_id: str, count: int) -> list[tuple[str, str, str]]:
    async def published() -> bool:
        return len(await _events_of(service, user_id)) >= count

    await eventually(published, timeout=10)
    return await _events_of(service, user_id)


async def test_the_life_of_an_account_is_published(api, settings, user_service):
    identity = IdentityApi(api)
    admin = bearer((await identity.admin(settings))["accessToken"])
    ada = await identity.register()
    user_id = ada["user"]["id"]
    ok(await api.patch("/api/v1/me", json={"bio": "hi"}, headers=bearer(ada["accessToken"])))
    again = await identity.login(ada["user"]["email"])
    ok(await api.post("/api/v1/auth/logout", json={}, headers=bearer(again["accessToken"])))
    # Admin actions last: they revoke every token the user held (see kernel.revocation_feed).
    roles = f"/api/v1/users/{user_id}/roles"
    ok(await api.post(roles, json={"role": "instructor"}, headers=admin))
    ok(await api.delete(f"{roles}/instructor", headers=admin))
    suspend = {"status": "suspended", "statusReason": "spam"}
    ok(await api.patch(f"/api/v1/users/{user_id}", json=suspend, headers=admin))
    expected = [
        ("unpuzzle.user.user.registered.v1", "user.registered", ""),
        ("unpuzzle.user.user.logged_in.v1", "user.logged_in", ""),
        ("unpuzzle.user.user.profile_updated.v1", "user.profile_updated", ""),
        ("unpuzzle.user.user.logged_in.v1", "user.logged_in", ""),
        ("unpuzzle.user.session.revoked.v1", "session.revoked", "logout"),
        ("unpuzzle.user.user.role_granted.v1", "user.role_granted", ""),
        ("unpuzzle.user.user.role_revoked.v1", "user.role_revoked", ""),
        ("unpuzzle.user.user.suspended.v1", "user.suspended", "spam"),
        ("unpuzzle.user.session.revoked.v1", "session.revoked", "user_suspended"),
    ]
    assert await _wait_for(user_service, user_id, len(expected)) == expected


async def test_deleting_an_account_is_published_with_its_sessions(api, user_service):
    identity = IdentityApi(api)
    ada = await identity.register()
    second = await identity.login(ada["user"]["email"])
    ok(await api.delete("/api/v1/me", headers=bearer(second["accessToken"])))
    published = await _wait_for(user_service, ada["user"]["id"], 6)
    assert [event_type for _, event_type, _ in published] == [
        "user.registered",
        "user.logged_in",
        "user.logged_in",
        "user.deleted",
        "session.revoked",
        "session.revoked",
    ]
    assert {reason for _, _, reason in published[-2:]} == {"user_deleted"}
