"""Feeds every service's revocation store from the user service's events.

Each process replays the last access-token lifetime of user events at start-up and then follows
them live, so a token revoked anywhere is refused by every replica of every service within the
time it takes one event to cross NATS (well under a second).
"""

from __future__ import annotations

from datetime import timedelta

from kernel.auth import ACCESS_TOKEN_TTL_SECONDS, CLOCK_SKEW_SECONDS, RevocationStore
from kernel.consumers import ConsumedEvent, ReplayingSubscriber
from kernel.messaging import NatsClient
from unpuzzle.user.v1 import user_events_pb2

LOOKBACK = timedelta(seconds=ACCESS_TOKEN_TTL_SECONDS + 2 * CLOCK_SKEW_SECONDS)
# Events after which every token the user held before the event is refused.
_USER_WIDE = {
    "user.suspended": user_events_pb2.UserSuspended,
    "user.deleted": user_events_pb2.UserDeleted,
    "user.role_revoked": user_events_pb2.UserRoleRevoked,
}


class RevocationFeed:
    """Applies session.revoked and user-wide revocation events to a RevocationStore."""

    def __init__(self, store: RevocationStore) -> None:
        self._store = store

    async def apply(self, event: ConsumedEvent) -> None:
        """Update the store for one user event (other event types are ignored)."""
        envelope = event.envelope
        if envelope.type == "session.revoked":
            revoked = user_events_pb2.SessionRevoked()
            envelope.payload.Unpack(revoked)
            await self._store.revoke_session(revoked.session_id)
            return
        message_type = _USER_WIDE.get(envelope.type)
        if message_type is None:
            return
        payload = message_type()
        envelope.payload.Unpack(payload)
        # Tokens carry sub-second `iat`, so the exact moment refuses only tokens issued before it.
        moment = envelope.occurred_at.seconds + envelope.occurred_at.nanos / 1e9
        await self._store.revoke_user_before(payload.user_id, moment)

    def subscriber(self, nats_client: NatsClient) -> ReplayingSubscriber:
        """The per-process subscription that drives `apply`."""
        return ReplayingSubscriber(
            nats_client,
            subject="unpuzzle.user.>",
            handler=self.apply,
            lookback=LOOKBACK,
        )
