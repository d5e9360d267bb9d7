"""gRPC handlers of unpuzzle.user.v1: map, call the use case, map back."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from kernel.grpc_server import Context
from kernel.security import current_caller
from services.user import mappers
from services.user.domain.model import ClientInfo
from services.user.service_layer import accounts, admin, auth
from services.user.service_layer.commands import SessionCommand
from services.user.service_layer.ports import Dependencies
from services.user.service_layer.unit_of_work import UserUnitOfWork
from unpuzzle.user.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    auth_service_pb2,
    auth_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

UnitOfWorkFactory = Callable[..., UserUnitOfWork]


def _client(context: Context) -> ClientInfo:
    metadata = {
        key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)
    }
    return mappers.client_info(metadata, context.peer())


class AuthServicer(auth_service_pb2_grpc.AuthServiceServicer):
    """Thin adapter: every method is protobuf in, use case, protobuf out."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, deps: Dependencies, jwks: list[dict[str, str]]
    ) -> None:
        self._uow = uow_factory
        self._deps = deps
        self._jwks = mappers.jwks_response(jwks)

    async def Register(
        self, request: auth_service_pb2.RegisterRequest, context: Context
    ) -> auth_service_pb2.RegisterResponse:
        """Create an account and sign it in."""
        command = mappers.register_command(request, _client(context))
        signed_in = await auth.register(command, self._uow(), current_caller(), self._deps)
        return mappers.register_response(signed_in)

    async def Login(
        self, request: auth_service_pb2.LoginRequest, context: Context
    ) -> auth_service_pb2.LoginResponse:
        """Sign in with email and password."""
        command = mappers.login_command(request, _client(context))
        signed_in = await auth.login(command, self._uow(), current_caller(), self._deps)
        return mappers.login_response(signed_in)

    async def Refresh(
        self, request: auth_service_pb2.RefreshRequest, context: Context
    ) -> auth_service_pb2.RefreshResponse:
        """Rotate a refresh token."""
        command = mappers.refresh_command(request, _client(context))
        tokens = await auth.refresh(command, self._uow(), current_caller(), self._deps)
        return mappers.refresh_response(tokens)

    async def Logout(
        self, request: auth_service_pb2.LogoutRequest, context: Context
    ) -> auth_service_pb2.LogoutResponse:
        """End the current session."""
        command = SessionCommand(client=_client(context))
        await auth.logout(command, self._uow(), current_caller(), self._deps)
        return auth_service_pb2.LogoutResponse()

    async def ListSessions(
        self, request: auth_service_pb2.ListSessionsRequest, context: Context
    ) -> auth_service_pb2.ListSessionsResponse:
        """The caller's live sessions."""
        listed = await auth.list_sessions(self._uow(read_only=True), current_caller(), self._deps)
        return auth_service_pb2.ListSessionsResponse(
            sessions=[mappers.session_message(session, current) for session, current in listed]
        )

    async def RevokeSession(
        self, request: auth_service_pb2.RevokeSessionRequest, context: Context
    ) -> auth_service_pb2.RevokeSessionResponse:
        """End one of the caller's sessions."""
        command = mappers.revoke_session_command(request, _client(context))
        await auth.revoke_session(command, self._uow(), current_caller(), self._deps)
        return auth_service_pb2.RevokeSessionResponse()

    async def RevokeOtherSessions(
        self, request: auth_service_pb2.RevokeOtherSessionsRequest, context: Context
    ) -> auth_service_pb2.RevokeOtherSessionsResponse:
        """End every other session of the caller."""
        command = SessionCommand(client=_client(context))
        count = await auth.revoke_other_sessions(command, self._uow(), current_caller(), self._deps)
        return auth_service_pb2.RevokeOtherSessionsResponse(revoked_count=count)

    async def ChangePassword(
        self, request: auth_service_pb2.ChangePasswordRequest, context: Context
    ) -> auth_service_pb2.ChangePasswordResponse:
        """Change the caller's password."""
        command = mappers.change_password_command(request, _client(context))
        await auth.change_password(command, self._uow(), current_caller(), self._deps)
        return auth_service_pb2.ChangePasswordResponse()

    async def RequestPasswordReset(
        self, request: auth_service_pb2.RequestPasswordResetRequest, context: Context
    ) -> auth_service_pb2.RequestPasswordResetResponse:
        """Issue a reset token if the email belongs to an active account."""
        command = mappers.request_reset_command(request, _client(context))
        await auth.request_password_reset(command, self._uow(), current_caller(), self._deps)
        return auth_service_pb2.RequestPasswordResetResponse()

    async def ResetPassword(
        self, request: auth_service_pb2.ResetPasswordRequest, context: Context
    ) -> auth_service_pb2.ResetPasswordResponse:
        """Set a new password with a reset token."""
        command = mappers.reset_password_command(request, _client(context))
        await auth.reset_password(command, self._uow(), current_caller(), self._deps)
        return auth_service_pb2.ResetPasswordResponse()

    async def GetJwks(
        self, request: auth_service_pb2.GetJwksRequest, context: Context
    ) -> auth_service_pb2.GetJwksResponse:
        """The public keys of the access tokens."""
        return self._jwks


class UserServicer(user_service_pb2_grpc.UserServiceServicer):
    """The caller's own account, public profiles, the role catalogue."""

    def __init__(self, uow_factory: UnitOfWorkFactory, deps: Dependencies) -> None:
        self._uow = uow_factory
        self._deps = deps

    async def GetMe(
        self, request: user_service_pb2.GetMeRequest, context: Context
    ) -> user_service_pb2.GetMeResponse:
        """The caller's account."""
        view = await accounts.get_me(self._uow(read_only=True), current_caller())
        return user_service_pb2.GetMeResponse(user=mappers.user_message(view))

    async def UpdateMe(
        self, request: user_service_pb2.UpdateMeRequest, context: Context
    ) -> user_service_pb2.UpdateMeResponse:
        """Change the caller's profile."""
        command = mappers.update_me_command(request, _client(context))
        view = await accounts.update_me(command, self._uow(), current_caller(), self._deps)
        return user_service_pb2.UpdateMeResponse(user=mappers.user_message(view))

    async def DeleteMe(
        self, request: user_service_pb2.DeleteMeRequest, context: Context
    ) -> user_service_pb2.DeleteMeResponse:
        """Deactivate and anonymise the caller's account."""
        command = SessionCommand(client=_client(context))
        await accounts.delete_me(command, self._uow(), current_caller(), self._deps)
        return user_service_pb2.DeleteMeResponse()

    async def GetPublicProfile(
        self, request: user_service_pb2.GetPublicProfileRequest, context: Context
    ) -> user_service_pb2.GetPublicProfileResponse:
        """Anyone's public profile."""
        user, stats = await accounts.get_public_profile(
            UUID(request.user_id), self._uow(read_only=True)
        )
        return user_service_pb2.GetPublicProfileResponse(
            profile=mappers.public_profile_message(user, stats)
        )

    async def ListRoles(
        self, request: user_service_pb2.ListRolesRequest, context: Context
    ) -> user_service_pb2.ListRolesResponse:
        """The role catalogue."""
        roles = await accounts.list_roles(self._uow(read_only=True), current_caller())
        return user_service_pb2.ListRolesResponse(
            roles=[mappers.role_message(role) for role in roles]
        )


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    """Account administration; the use cases check the permissions."""

    def __init__(self, uow_factory: UnitOfWorkFactory, deps: Dependencies) -> None:
        self._uow = uow_factory
        self._deps = deps

    async def ListUsers(
        self, request: admin_service_pb2.ListUsersRequest, context: Context
    ) -> admin_service_pb2.ListUsersResponse:
        """Search accounts."""
        page = await admin.list_users(
            mappers.list_users_command(request),
            self._uow(read_only=True),
            current_caller(),
            self._deps,
        )
        return admin_service_pb2.ListUsersResponse(
            users=[mappers.user_message(view) for view in page.items],
            pagination=mappers.pagination_message(page),
        )

    async def GetUser(
        self, request: admin_service_pb2.GetUserRequest, context: Context
    ) -> admin_service_pb2.GetUserResponse:
        """One account."""
        view = await admin.get_user(
            UUID(request.user_id), self._uow(read_only=True), current_caller()
        )
        return admin_service_pb2.GetUserResponse(user=mappers.user_message(view))

    async def UpdateUser(
        self, request: admin_service_pb2.UpdateUserRequest, context: Context
    ) -> admin_service_pb2.UpdateUserResponse:
        """Edit, suspend or reactivate an account."""
        command = mappers.update_user_command(request, _client(context))
        view = await admin.update_user(command, self._uow(), current_caller(), self._deps)
        return admin_service_pb2.UpdateUserResponse(user=mappers.user_message(view))

    async def GrantRole(
        self, request: admin_service_pb2.GrantRoleRequest, context: Context
    ) -> admin_service_pb2.GrantRoleResponse:
        """Grant a role."""
        command = mappers.change_role_command(request, _client(context))
        view = await admin.grant_role(command, self._uow(), current_caller(), self._deps)
        return admin_service_pb2.GrantRoleResponse(user=mappers.user_message(view))

    async def RevokeRole(
        self, request: admin_service_pb2.RevokeRoleRequest, context: Context
    ) -> admin_service_pb2.RevokeRoleResponse:
        """Revoke a role."""
        command = mappers.change_role_command(request, _client(context))
        await admin.revoke_role(command, self._uow(), current_caller(), self._deps)
        return admin_service_pb2.RevokeRoleResponse()

    async def ListAuditEvents(
        self, request: admin_service_pb2.ListAuditEventsRequest, context: Context
    ) -> admin_service_pb2.ListAuditEventsResponse:
        """Query the audit trail."""
        page = await admin.list_audit_events(
            mappers.list_audit_events_command(request),
            self._uow(read_only=True),
            current_caller(),
            self._deps,
        )
        return admin_service_pb2.ListAuditEventsResponse(
            events=[mappers.audit_message(entry) for entry in page.items],
            pagination=mappers.pagination_message(page),
        )
