"""The SQL upsert follows domain.model.apply_report exactly, on both backends."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.analytics.domain.model import EnrollmentStatus, ProgressReport, apply_report
from services.analytics.domain.replicas import CourseFacts, LessonFacts

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def test_random_reports_give_the_same_progress_in_sql_and_in_the_model(analytics):
    rng = random.Random(20261120)
    user, course = uuid.uuid4(), uuid.uuid4()
    durations = {uuid.uuid4(): duration for duration in (0, 60, 600)}
    async with analytics.uow() as uow:
        await uow.replicas.apply_course(CourseFacts(course, uuid.uuid4(), "C", "published"), 1)
        await uow.replicas.apply_lessons(
            [
                LessonFacts(lesson, course, None, n, duration, False, f"L{n}")
                for n, (lesson, duration) in enumerate(durations.items())
            ],
            T0,
        )
        await uow.replicas.apply_enrollment(user, course, EnrollmentStatus.ACTIVE, 1, T0)
        await uow.commit()
    model: dict[uuid.UUID, object] = {}
    for step in range(60):
        lesson = rng.choice(list(durations))
        position = rng.randint(0, 700)
        report = ProgressReport(
            lesson,
            position,
            position + rng.randint(0, 50),
            rng.randint(0, 700),
            T0 + timedelta(seconds=rng.randint(0, 300)),
            complete=rng.random() < 0.05,
        )
        now = T0 + timedelta(seconds=step)
        async with analytics.uow() as uow:
            [stored] = await uow.progress.record(user, [report], now)
            await uow.commit()
        expected = apply_report(
            model.get(lesson),  # type: ignore[arg-type]
            user_id=user,
            course_id=course,
            duration_seconds=durations[lesson],
            report=report,
            now=now,
        )
        model[lesson] = expected.progress
        assert stored == expected, f"step {step}: {report}"
