"""The password policy: long enough, not a common password, not the email."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import FieldViolation
from services.user.domain.errors import WeakPassword
from services.user.domain.model import normalize_email

MIN_LENGTH = 10


@dataclass(frozen=True)
class PasswordPolicy:
    """Checks a new password; the common-password list is given (loaded by an adapter)."""

    common_passwords: frozenset[str]
    min_length: int = MIN_LENGTH

    def violations(self, password: str, *, email: str, field: str) -> list[FieldViolation]:
        """Every rule the password breaks, reported on `field` (lowerCamelCase)."""
        problems = []
        if len(password) < self.min_length:
            problems.append(FieldViolation(field, f"must be at least {self.min_length} characters"))
        folded = password.strip().lower()
        if folded in self.common_passwords:
            problems.append(FieldViolation(field, "is too common; choose another password"))
        if folded == normalize_email(email):
            problems.append(FieldViolation(field, "must not be the email address"))
        return problems

    def check(self, password: str, *, email: str, field: str) -> None:
        """Raise WeakPassword listing every broken rule."""
        problems = self.violations(password, email=email, field=field)
        if problems:
            raise WeakPassword(problems)
