"""The progress rules and dashboard arithmetic, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from kernel.errors import ValidationFailed
from services.analytics.domain.events import CourseCompleted, CourseProgressUpdated
from services.analytics.domain.metrics import DayRange, current_streak, drop_off, week_start
from services.analytics.domain.model import (
    CourseProgress,
    Heartbeat,
    ProgressReport,
    apply_report,
    daily_activity,
    merge_heartbeats,
)

T0 = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
USER, COURSE, LESSON = uuid4(), uuid4(), uuid4()


def _apply(current, report, duration=100):
    return apply_report(
        current,
        user_id=USER,
        course_id=COURSE,
        duration_seconds=duration,
        report=report,
        now=T0,
    )


def test_merged_heartbeats_keep_the_maxima_and_the_newest_position():
    beats = [
        Heartbeat(LESSON, 50, 60, T0 + timedelta(seconds=60)),
        Heartbeat(LESSON, 10, 10, T0 + timedelta(seconds=10)),
        Heartbeat(LESSON, 20, 80, T0 + timedelta(seconds=90)),
    ]
    [merged] = merge_heartbeats(beats)
    assert merged == ProgressReport(LESSON, 20, 50, 80, T0 + timedelta(seconds=90))
    assert merge_heartbeats(reversed(beats)) == [merged]


def test_an_older_report_changes_neither_watched_time_nor_position():
    newer = _apply(None, ProgressReport(LESSON, 40, 40, 50, T0))
    older = _apply(newer.progress, ProgressReport(LESSON, 5, 5, 10, T0 - timedelta(minutes=1)))
    assert older.progress.watched_seconds == 50
    assert older.progress.position_seconds == 40
    assert older.watch_delta == 0
    assert older.progress.last_sent_at == T0


def test_completion_at_90_percent_is_reported_once_and_stays():
    almost = _apply(None, ProgressReport(LESSON, 89, 89, 89, T0))
    assert not almost.completed_now
    done = _apply(almost.progress, ProgressReport(LESSON, 90, 90, 90, T0))
    assert done.completed_now
    assert done.progress.completed_at == T0
    later = _apply(done.progress, ProgressReport(LESSON, 95, 95, 95, T0 + timedelta(seconds=5)))
    assert not later.completed_now
    assert later.progress.completed_at == T0


def test_a_lesson_without_duration_completes_only_explicitly():
    watched = _apply(None, ProgressReport(LESSON, 500, 500, 500, T0), duration=0)
    assert not watched.progress.completed
    explicit = _apply(watched.progress, ProgressReport.completion(LESSON, T0), duration=0)
    assert explicit.completed_now
    assert explicit.progress.watched_seconds == 500  # a completion moves nothing else


def test_watch_time_of_a_batch_counts_on_the_days_it_was_watched():
    beats = [
        Heartbeat(LESSON, 30, 30, T0 - timedelta(seconds=30)),
        Heartbeat(LESSON, 90, 90, T0 + timedelta(minutes=1)),
    ]
    [report] = merge_heartbeats(beats)
    change = _apply(None, report)
    rows = daily_activity(USER, beats, [change], T0.date())
    assert [(row.day, row.watch_seconds, row.lessons_completed) for row in rows] == [
        (T0.date(), 30, 0),
        (T0.date() + timedelta(days=1), 60, 1),
    ]


def test_course_progress_raises_updates_then_completion_with_growing_versions():
    progress = CourseProgress(user_id=USER, course_id=COURSE)
    progress.lessons_completed([LESSON], completed=1, total=2, at=T0)
    progress.lessons_completed([uuid4()], completed=2, total=2, at=T0)
    raised = progress.pull_events()
    assert [type(r.event).__name__ for r in raised] == [
        "LessonCompleted",
        "CourseProgressUpdated",
        "LessonCompleted",
        "CourseProgressUpdated",
        "CourseCompleted",
    ]
    assert [r.aggregate_version for r in raised] == [1, 2, 3, 4, 5]
    assert {r.aggregate_id for r in raised} == {f"{USER}:{COURSE}"}
    assert isinstance(raised[1].event, CourseProgressUpdated)
    assert raised[1].event.progress_percent == 50.0
    assert isinstance(raised[4].event, CourseCompleted)


def test_completion_is_sticky_when_lessons_are_added():
    progress = CourseProgress(user_id=USER, course_id=COURSE)
    progress.recount(completed=2, total=2, at=T0)
    assert progress.recount(completed=2, total=3, at=T0)
    assert progress.percent == 100.0
    assert not progress.recount(completed=2, total=3, at=T0)
    kinds = [type(r.event).__name__ for r in progress.pull_events()]
    assert kinds.count("CourseCompleted") == 1


def test_streak_counts_back_from_today_or_yesterday():
    today = date(2026, 11, 20)
    days = {today - timedelta(days=n) for n in (1, 2, 3, 5)}
    assert current_streak(days, today) == 3
    assert current_streak(days | {today}, today) == 4
    assert current_streak({today - timedelta(days=2)}, today) == 0
    assert week_start(today) == date(2026, 11, 16)


def test_drop_off_shares_sum_to_100():
    shares = drop_off({0: 1, 4: 1, 9: 2})
    assert shares == [25.0, 0, 0, 0, 25.0, 0, 0, 0, 0, 50.0]
    assert drop_off({}) == [0.0] * 10


def test_day_ranges_default_to_30_days_and_are_bounded():
    today = date(2026, 11, 30)
    default = DayRange.resolve("", "", today)
    assert (default.first, default.last) == (date(2026, 11, 1), today)
    assert len(default.days()) == 30
    for first, last in (("2026-11-30", "2026-11-01"), ("2025-01-01", "2026-11-30"), ("x", "")):
        with pytest.raises(ValidationFailed):
            DayRange.resolve(first, last, today)
