"""Delivery of password-reset tokens. Only the development log exists so far."""

from __future__ import annotations

import logging
from datetime import datetime

_log = logging.getLogger(__name__)


class LoggingResetNotifier:
    """Writes the reset token to the log in development; elsewhere says it was not delivered.

    A token in a production log would let anyone who reads the logs take over the account.
    """

    def __init__(self, *, reveal_tokens: bool) -> None:
        self._reveal = reveal_tokens

    async def password_reset_requested(
        self, *, email: str, token: str, expires_at: datetime
    ) -> None:
        """Log the token (development) or the missing delivery (other environments)."""
        if self._reveal:
            _log.warning(
                "development: password-reset token for %s: %s (valid until %s)",
                email,
                token,
                expires_at.isoformat(),
            )
        else:
            _log.error(
                "a password reset was requested but no notifier delivers reset tokens",
                extra={"email": email},
            )
