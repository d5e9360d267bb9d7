"""Start-up job of the service: warm the password hasher, then seed the super admin once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from kernel.errors import DomainError
from kernel.settings import Settings
from services.user.adapters.passwords import Argon2PasswordHasher
from services.user.domain.errors import EmailAlreadyRegistered
from services.user.service_layer.ports import Dependencies
from services.user.service_layer.seeding import AdminOutcome, seed_super_admin
from services.user.service_layer.unit_of_work import UserUnitOfWork

_log = logging.getLogger(__name__)


class StartupJob:
    """Background job of the runtime; readiness waits for it, so the admin exists when ready."""

    def __init__(
        self,
        settings: Settings,
        uow_factory: Callable[[], UserUnitOfWork],
        deps: Dependencies,
        hasher: Argon2PasswordHasher,
    ) -> None:
        self._settings = settings
        self._uow = uow_factory
        self._deps = deps
        self._hasher = hasher
        self._done = asyncio.Event()

    async def done(self) -> bool:
        """Readiness check: waits (within the probe's timeout) until the job has finished."""
        await self._done.wait()
        return True

    async def run(self) -> None:
        """Warm up, seed (retrying while the database is unreachable), then report ready."""
        try:
            await self._hasher.warm_up()
            await self._seed()
        finally:
            self._done.set()

    async def _seed(self) -> None:
        settings = self._settings
        if settings.uses_development_admin and settings.environment != "development":
            _log.error(
                "UNPUZZLE_ADMIN_PASSWORD is the development default outside development: "
                "no super admin is seeded; set UNPUZZLE_ADMIN_EMAIL and UNPUZZLE_ADMIN_PASSWORD"
            )
            return
        delay = 0.2
        while True:
            try:
                outcome = await seed_super_admin(
                    settings.admin_email, settings.admin_password, self._uow(), self._deps
                )
                break
            except EmailAlreadyRegistered:
                outcome = AdminOutcome.SUPER_ADMIN_EXISTS  # another replica seeded it just now
                break
            except DomainError as error:
                _log.error("the configured super admin cannot be seeded: %s", error.message)
                return
            except Exception:
                _log.warning("seeding the super admin failed; retrying", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        if outcome is AdminOutcome.CREATED:
            _log.info("seeded the super admin %s", settings.admin_email)
        if settings.uses_development_admin:
            _log.warning(
                "development super admin %s / %s is in use: production must set "
                "UNPUZZLE_ADMIN_EMAIL and UNPUZZLE_ADMIN_PASSWORD",
                settings.admin_email,
                settings.admin_password,
            )
