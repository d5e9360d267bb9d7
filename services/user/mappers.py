"""The one translation between protobuf messages and the user domain."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from kernel.domain import RaisedEvent
from kernel.errors import FieldViolation, ValidationFailed
from kernel.outbox import EventPayload
from services.user.domain import events
from services.user.domain.model import (
    INSTRUCTOR,
    AuditEntry,
    ClientInfo,
    InstructorStats,
    ProfileChanges,
    RoleDefinition,
    Session,
    User,
    UserStatus,
    UserView,
)
from services.user.service_layer.auth import SignedIn, TokenPair
from services.user.service_layer.commands import (
    ChangePassword,
    ChangeRole,
    ListAuditEvents,
    ListUsers,
    Login,
    Refresh,
    Register,
    RequestPasswordReset,
    ResetPassword,
    RevokeSession,
    UpdateProfile,
    UpdateUser,
)
from services.user.service_layer.shared import Page
from unpuzzle.common.v1 import pagination_pb2
from unpuzzle.user.v1 import (
    admin_service_pb2,
    auth_service_pb2,
    user_events_pb2,
    user_pb2,
    user_service_pb2,
)

# ROLE_SUPER_ADMIN <-> "super_admin": the catalogue's names are the enum's words.
_ROLE_TO_PROTO: dict[str, user_pb2.Role.ValueType] = {
    name.removeprefix("ROLE_").lower(): number
    for name, number in user_pb2.Role.items()
    if number != user_pb2.ROLE_UNSPECIFIED
}
_ROLE_FROM_PROTO: dict[int, str] = {int(number): name for name, number in _ROLE_TO_PROTO.items()}
_STATUS_TO_PROTO = {
    UserStatus.ACTIVE: user_pb2.USER_STATUS_ACTIVE,
    UserStatus.SUSPENDED: user_pb2.USER_STATUS_SUSPENDED,
    UserStatus.DEACTIVATED: user_pb2.USER_STATUS_DEACTIVATED,
}
_STATUS_FROM_PROTO = {number: status for status, number in _STATUS_TO_PROTO.items()}


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _optional(message: Message, name: str) -> str | None:
    return getattr(message, name) if message.HasField(name) else None


def client_info(metadata: Mapping[str, str], peer: str) -> ClientInfo:
    """Client address and user agent: as forwarded by the gateway, else the gRPC peer's."""
    ip_address = metadata.get("x-client-ip", "")
    if not ip_address and peer.startswith(("ipv4:", "ipv6:")):
        ip_address = peer.split(":", 1)[1].rsplit(":", 1)[0].strip("[]")
    # gRPC replaces `user-agent` with its own; the gateway sends the browser's as x-user-agent.
    user_agent = metadata.get("x-user-agent") or metadata.get("user-agent", "")
    return ClientInfo(ip_address=ip_address, user_agent=user_agent)


def role_name(role: int, field: str = "role") -> str:
    """A Role enum value as the catalogue's name; VALIDATION_FAILED for UNSPECIFIED."""
    name = _ROLE_FROM_PROTO.get(role)
    if name is None:
        raise ValidationFailed([FieldViolation(field, "must be a role")])
    return name


# --------------------------------------------------------------------------------- requests


def register_command(request: auth_service_pb2.RegisterRequest, client: ClientInfo) -> Register:
    """RegisterRequest -> command."""
    return Register(
        email=request.email, password=request.password, full_name=request.full_name, client=client
    )


def login_command(request: auth_service_pb2.LoginRequest, client: ClientInfo) -> Login:
    """LoginRequest -> command."""
    return Login(email=request.email, password=request.password, client=client)


def refresh_command(request: auth_service_pb2.RefreshRequest, client: ClientInfo) -> Refresh:
    """RefreshRequest -> command."""
    return Refresh(refresh_token=request.refresh_token, client=client)


def revoke_session_command(
    request: auth_service_pb2.RevokeSessionRequest, client: ClientInfo
) -> RevokeSession:
    """RevokeSessionRequest (UUID already validated) -> command."""
    return RevokeSession(session_id=UUID(request.session_id), client=client)


def change_password_command(
    request: auth_service_pb2.ChangePasswordRequest, client: ClientInfo
) -> ChangePassword:
    """ChangePasswordRequest -> command."""
    return ChangePassword(
        current_password=request.current_password,
        new_password=request.new_password,
        client=client,
    )


def request_reset_command(
    request: auth_service_pb2.RequestPasswordResetRequest, client: ClientInfo
) -> RequestPasswordReset:
    """RequestPasswordResetRequest -> command."""
    return RequestPasswordReset(email=request.email, client=client)


def reset_password_command(
    request: auth_service_pb2.ResetPasswordRequest, client: ClientInfo
) -> ResetPassword:
    """ResetPasswordRequest -> command."""
    return ResetPassword(token=request.token, new_password=request.new_password, client=client)


def _profile_changes(
    request: user_service_pb2.UpdateMeRequest | admin_service_pb2.UpdateUserRequest,
) -> ProfileChanges:
    return ProfileChanges(
        full_name=_optional(request, "full_name"),
        display_name=_optional(request, "display_name"),
        username=_optional(request, "username"),
        avatar_url=_optional(request, "avatar_url"),
        bio=_optional(request, "bio"),
        timezone=_optional(request, "timezone"),
        language=_optional(request, "language"),
    )


def update_me_command(
    request: user_service_pb2.UpdateMeRequest, client: ClientInfo
) -> UpdateProfile:
    """UpdateMeRequest (only present fields) -> command."""
    return UpdateProfile(
        changes=_profile_changes(request),
        expected_version=request.version if request.HasField("version") else None,
        client=client,
    )


def update_user_command(
    request: admin_service_pb2.UpdateUserRequest, client: ClientInfo
) -> UpdateUser:
    """UpdateUserRequest -> command; status may only be active or suspended."""
    status = None
    if request.HasField("status"):
        status = _STATUS_FROM_PROTO.get(request.status)
        if status not in {UserStatus.ACTIVE, UserStatus.SUSPENDED}:
            raise ValidationFailed([FieldViolation("status", "must be active or suspended")])
    return UpdateUser(
        user_id=UUID(request.user_id),
        changes=_profile_changes(request),
        status=status,
        status_reason=request.status_reason.strip(),
        expected_version=request.version if request.HasField("version") else None,
        client=client,
    )


def change_role_command(
    request: admin_service_pb2.GrantRoleRequest | admin_service_pb2.RevokeRoleRequest,
    client: ClientInfo,
) -> ChangeRole:
    """GrantRoleRequest or RevokeRoleRequest -> command."""
    return ChangeRole(user_id=UUID(request.user_id), role=role_name(request.role), client=client)


def list_users_command(request: admin_service_pb2.ListUsersRequest) -> ListUsers:
    """ListUsersRequest -> command (UNSPECIFIED role or status: no filter)."""
    return ListUsers(
        q=request.q,
        role=_ROLE_FROM_PROTO.get(request.role),
        status=_STATUS_FROM_PROTO.get(request.status),
        page_size=request.page_size,
        page_token=request.page_token,
    )


def _moment(value: str, field: str, violations: list[FieldViolation]) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        violations.append(FieldViolation(field, "must be an RFC 3339 timestamp"))
        return None
    if moment.tzinfo is None:
        violations.append(FieldViolation(field, "must include a timezone (Z or +hh:mm)"))
        return None
    return moment.astimezone(UTC)


def list_audit_events_command(
    request: admin_service_pb2.ListAuditEventsRequest,
) -> ListAuditEvents:
    """ListAuditEventsRequest -> command; `from` and `to` are RFC 3339 strings."""
    violations: list[FieldViolation] = []
    occurred_from = _moment(request.from_time, "from", violations)
    occurred_to = _moment(request.to_time, "to", violations)
    if violations:
        raise ValidationFailed(violations)
    return ListAuditEvents(
        user_id=UUID(request.user_id) if request.user_id else None,
        type=request.type,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        page_size=request.page_size,
        page_token=request.page_token,
    )


# -------------------------------------------------------------------------------- responses


def user_message(view: UserView) -> user_pb2.User:
    """The full account resource (never credentials)."""
    user = view.user
    return user_pb2.User(
        id=str(user.id),
        email=user.email,
        username=user.username or "",
        full_name=user.full_name,
        display_name=user.display_name,
        avatar_url=user.avatar_url,
        bio=user.bio,
        timezone=user.timezone,
        language=user.language,
        status=_STATUS_TO_PROTO[user.status],
        email_verified=user.email_verified,
        roles=[_ROLE_TO_PROTO[role] for role in sorted(user.roles) if role in _ROLE_TO_PROTO],
        permissions=sorted(view.permissions),
        last_login_at=_timestamp(user.last_login_at),
        version=user.version,
        created_at=_timestamp(user.created_at),
        updated_at=_timestamp(user.updated_at),
        created_by=str(user.created_by or ""),
        updated_by=str(user.updated_by or ""),
    )


def public_profile_message(user: User, stats: InstructorStats | None) -> user_pb2.PublicProfile:
    """What anyone may see of an account (instructors: with their teaching stats)."""
    return user_pb2.PublicProfile(
        id=str(user.id),
        display_name=user.display_name,
        username=user.username or "",
        avatar_url=user.avatar_url,
        bio=user.bio,
        is_instructor=INSTRUCTOR in user.roles,
        created_at=_timestamp(user.created_at),
        instructor_stats=None
        if stats is None
        else user_pb2.InstructorStats(
            published_courses=stats.published_courses,
            total_students=stats.total_students,
            rating_average=stats.rating_average,
            rating_count=stats.rating_count,
        ),
    )


def _signed_in_fields(signed_in: SignedIn) -> dict[str, Any]:
    tokens = signed_in.tokens
    return {
        "user": user_message(signed_in.view),
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_in": tokens.expires_in,
        "refresh_expires_in": tokens.refresh_expires_in,
    }


def register_response(signed_in: SignedIn) -> auth_service_pb2.RegisterResponse:
    """The new account and its tokens."""
    return auth_service_pb2.RegisterResponse(**_signed_in_fields(signed_in))


def login_response(signed_in: SignedIn) -> auth_service_pb2.LoginResponse:
    """The account and its tokens."""
    return auth_service_pb2.LoginResponse(**_signed_in_fields(signed_in))


def refresh_response(tokens: TokenPair) -> auth_service_pb2.RefreshResponse:
    """The rotated pair."""
    return auth_service_pb2.RefreshResponse(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        refresh_expires_in=tokens.refresh_expires_in,
    )


def session_message(session: Session, current: bool) -> user_pb2.Session:
    """One of the caller's sessions."""
    return user_pb2.Session(
        id=str(session.id),
        user_agent=session.user_agent,
        ip_address=session.ip_address,
        created_at=_timestamp(session.created_at),
        last_active_at=_timestamp(session.last_active_at),
        expires_at=_timestamp(session.expires_at),
        current=current,
    )


def role_message(role: RoleDefinition) -> user_pb2.RoleDefinition:
    """One role of the catalogue."""
    return user_pb2.RoleDefinition(
        role=_ROLE_TO_PROTO.get(role.name, user_pb2.ROLE_UNSPECIFIED),
        description=role.description,
        permissions=sorted(role.permissions),
    )


def audit_message(entry: AuditEntry) -> user_pb2.AuditEvent:
    """One audit-trail entry."""
    return user_pb2.AuditEvent(
        id=str(entry.id),
        type=entry.type.value,
        user_id=str(entry.user_id or ""),
        actor_id=str(entry.actor_id or ""),
        session_id=str(entry.session_id or ""),
        ip_address=entry.client.ip_address,
        user_agent=entry.client.user_agent,
        details=dict(entry.details),
        occurred_at=_timestamp(entry.occurred_at),
    )


def pagination_message(page: Page[UserView] | Page[AuditEntry]) -> pagination_pb2.Pagination:
    """meta.pagination of a list response."""
    return pagination_pb2.Pagination(
        page_size=page.page_size,
        next_page_token=page.next_page_token,
        total_size=page.total_size,
    )


def jwks_response(keys: list[dict[str, str]]) -> auth_service_pb2.GetJwksResponse:
    """The JWKS document as a message."""
    return auth_service_pb2.GetJwksResponse(keys=[user_pb2.JsonWebKey(**key) for key in keys])


# ----------------------------------------------------------------------------------- events


def event_payload(raised: RaisedEvent) -> EventPayload:
    """Domain event -> (event type, protobuf payload) for the outbox."""
    event = raised.event
    if isinstance(event, events.UserRegistered):
        return EventPayload(
            "user.registered",
            user_events_pb2.UserRegistered(
                user_id=str(event.user_id),
                email=event.email,
                display_name=event.display_name,
                roles=list(event.roles),
            ),
        )
    if isinstance(event, events.UserProfileUpdated):
        return EventPayload(
            "user.profile_updated",
            user_events_pb2.UserProfileUpdated(
                user_id=str(event.user_id),
                full_name=event.full_name,
                display_name=event.display_name,
                username=event.username,
                avatar_url=event.avatar_url,
                bio=event.bio,
            ),
        )
    if isinstance(event, events.UserRoleGranted):
        return EventPayload(
            "user.role_granted",
            user_events_pb2.UserRoleGranted(
                user_id=str(event.user_id), role=event.role, granted_by=str(event.granted_by or "")
            ),
        )
    if isinstance(event, events.UserRoleRevoked):
        return EventPayload(
            "user.role_revoked",
            user_events_pb2.UserRoleRevoked(
                user_id=str(event.user_id), role=event.role, revoked_by=str(event.revoked_by or "")
            ),
        )
    if isinstance(event, events.UserSuspended):
        return EventPayload(
            "user.suspended",
            user_events_pb2.UserSuspended(
                user_id=str(event.user_id),
                reason=event.reason,
                suspended_by=str(event.suspended_by or ""),
            ),
        )
    if isinstance(event, events.UserDeleted):
        return EventPayload("user.deleted", user_events_pb2.UserDeleted(user_id=str(event.user_id)))
    if isinstance(event, events.UserLoggedIn):
        return EventPayload(
            "user.logged_in",
            user_events_pb2.UserLoggedIn(
                user_id=str(event.user_id), session_id=str(event.session_id)
            ),
        )
    if isinstance(event, events.SessionRevoked):
        return EventPayload(
            "session.revoked",
            user_events_pb2.SessionRevoked(
                user_id=str(event.user_id), session_id=str(event.session_id), reason=event.reason
            ),
        )
    raise TypeError(f"no event mapping for {type(event).__name__}")
