"""Calendar and distribution arithmetic behind the dashboards (pure functions)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from kernel.errors import FieldViolation, ValidationFailed
from services.analytics.domain.views import percent

DROP_OFF_BUCKETS = 10
DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 366


def week_start(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def current_streak(active_days: Collection[date], today: date) -> int:
    """Consecutive active days ending today, or yesterday when today has no activity yet."""
    day = today if today in active_days else today - timedelta(days=1)
    streak = 0
    while day in active_days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def drop_off(bucket_counts: Mapping[int, int]) -> list[float]:
    """Share (0 to 100) of viewers whose furthest position lies in each tenth of the video."""
    viewers = sum(bucket_counts.values())
    return [percent(bucket_counts.get(tenth, 0), viewers) for tenth in range(DROP_OFF_BUCKETS)]


@dataclass(frozen=True)
class DayRange:
    """Inclusive range of UTC days."""

    first: date
    last: date

    @classmethod
    def resolve(cls, first: str, last: str, today: date) -> DayRange:
        """From YYYY-MM-DD strings; the last 30 days when unset; at most 366 days."""
        violations: list[FieldViolation] = []
        end = _parse_day(last, "to", violations) or today
        start = _parse_day(first, "from", violations) or end - timedelta(
            days=DEFAULT_RANGE_DAYS - 1
        )
        if not violations and start > end:
            violations.append(FieldViolation("from", "must not be after to"))
        if not violations and (end - start).days + 1 > MAX_RANGE_DAYS:
            violations.append(
                FieldViolation("from", f"the range spans at most {MAX_RANGE_DAYS} days")
            )
        if violations:
            raise ValidationFailed(violations)
        return cls(start, end)

    def days(self) -> list[date]:
        """Every day of the range, in order."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def _parse_day(value: str, name: str, violations: list[FieldViolation]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        violations.append(FieldViolation(name, "must be a date such as 2026-11-30"))
        return None
