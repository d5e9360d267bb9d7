"""Login throttling: failed attempts counted per account and per client address.

After `limit` failures without a pause of `window`, the key is locked for `base_lock`, doubling
with each further failure up to `max_lock`. Locked attempts are refused before the password is
checked, so a lock reveals nothing, and it applies to unknown emails exactly like known ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LoginLimits:
    """Thresholds of the login throttle."""

    account_failures: int = 5
    ip_failures: int = 20
    window: timedelta = timedelta(minutes=15)
    base_lock: timedelta = timedelta(seconds=30)
    max_lock: timedelta = timedelta(minutes=15)

    @staticmethod
    def account_key(email_normalized: str) -> str:
        """Throttle key of an account (known or not: unknown emails are throttled alike)."""
        return f"account:{email_normalized}"

    def keys(self, email_normalized: str, ip_address: str) -> dict[str, int]:
        """Throttle keys of one login attempt and the failure limit of each."""
        keys = {self.account_key(email_normalized): self.account_failures}
        if ip_address:
            keys[f"ip:{ip_address}"] = self.ip_failures
        return keys


@dataclass
class ThrottleState:
    """Failures of one key (an account or an address)."""

    key: str
    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until attempts are accepted again (0 when not locked)."""
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return max(1, math.ceil((self.locked_until - now).total_seconds()))

    def record_failure(self, now: datetime, limit: int, limits: LoginLimits) -> None:
        """Count a failure; lock once the limit is reached, longer with every further one."""
        if self.last_failure_at is None or now - self.last_failure_at >= limits.window:
            self.failures = 0
        self.failures += 1
        self.last_failure_at = now
        if self.failures >= limit:
            lock = limits.base_lock * 2 ** min(self.failures - limit, 16)
            self.locked_until = now + min(lock, limits.max_lock)
