"""In-memory adapters for unit tests of the analytics handlers.

`Store` plays the database (shared by every unit of work of a test); the fakes follow the SQL
adapters' rules, with the lesson rules taken from domain.model.apply_report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from uuid import UUID

from kernel.domain import RaisedEvent
from kernel.errors import DomainError
from kernel.uow import TrackingRepository
from services.analytics.domain.errors import LessonNotFound, NotEnrolled
from services.analytics.domain.metrics import DayRange
from services.analytics.domain.model import (
    ENROLLED,
    CourseProgress,
    DailyActivity,
    EnrollmentStatus,
    LessonProgress,
    ProgressChange,
    ProgressReport,
    apply_report,
)
from services.analytics.domain.replicas import Course, CourseFacts, Lesson, LessonFacts
from services.analytics.domain.views import (
    CourseInProgress,
    DailyCourseStats,
    DailyPlatformMetrics,
    ExportRow,
    PlatformStats,
    QuizTotals,
    RecentLesson,
)
from services.analytics.service_layer.unit_of_work import (
    AnalyticsUnitOfWork,
    CourseKpis,
    LessonWatch,
    ProgressRepository,
    ReplicaRepository,
    ReportQueries,
)


@dataclass
class FakeUser:
    """The users replica row."""

    roles: set[str] = field(default_factory=set)
    version: int = 0
    deleted: bool = False
    registered_on: date | None = None


@dataclass
class Store:
    """What the SQL tables hold."""

    courses: dict[UUID, Course] = field(default_factory=dict)
    course_versions: dict[UUID, int] = field(default_factory=dict)
    lessons: dict[UUID, LessonFacts] = field(default_factory=dict)
    enrollments: dict[tuple[UUID, UUID], tuple[EnrollmentStatus, int, date | None]] = field(
        default_factory=dict
    )
    progress: dict[tuple[UUID, UUID], LessonProgress] = field(default_factory=dict)
    course_progress: dict[tuple[UUID, UUID], CourseProgress] = field(default_factory=dict)
    daily: dict[tuple[UUID, date, UUID], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    quiz: dict[tuple[UUID, UUID], tuple[UUID, int, int]] = field(default_factory=dict)
    users: dict[UUID, FakeUser] = field(default_factory=dict)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    published: list[RaisedEvent] = field(default_factory=list)


def _copy(progress: CourseProgress) -> CourseProgress:
    return replace(progress)


class FakeProgress(ProgressRepository):
    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    async def record(
        self, user_id: UUID, reports: Sequence[ProgressReport], now: datetime
    ) -> list[ProgressChange]:
        changes = []
        for report in reports:
            lesson = self.store.lessons.get(report.lesson_id)
            if lesson is None or lesson.deleted:
                continue
            enrolled = self.store.enrollments.get((user_id, lesson.course_id))
            if enrolled is None or enrolled[0] not in ENROLLED:
                continue
            key = (user_id, report.lesson_id)
            change = apply_report(
                self.store.progress.get(key),
                user_id=user_id,
                course_id=lesson.course_id,
                duration_seconds=lesson.duration_seconds,
                report=report,
                now=now,
            )
            self.store.progress[key] = change.progress
            changes.append(change)
        return changes

    async def refusals(self, user_id: UUID, lesson_ids: Sequence[UUID]) -> dict[UUID, DomainError]:
        return {
            lesson_id: NotEnrolled()
            if lesson_id in self.store.lessons and not self.store.lessons[lesson_id].deleted
            else LessonNotFound(lesson_id)
            for lesson_id in lesson_ids
        }

    async def add_activity(self, rows: Sequence[DailyActivity]) -> None:
        for row in rows:
            totals = self.store.daily[(row.user_id, row.day, row.course_id)]
            totals[0] += row.watch_seconds
            totals[1] += row.lessons_completed

    async def course_progress(self, user_id: UUID, course_id: UUID) -> CourseProgress:
        stored = self.store.course_progress.setdefault(
            (user_id, course_id), CourseProgress(user_id=user_id, course_id=course_id)
        )
        progress: CourseProgress = self._track(_copy(stored))
        return progress

    async def progress_of_course(self, course_id: UUID) -> list[CourseProgress]:
        return [
            self._track(_copy(progress))
            for (_, course), progress in sorted(self.store.course_progress.items())
            if course == course_id
        ]

    async def completed_lessons(
        self, course_id: UUID, user_id: UUID | None = None
    ) -> dict[UUID, int]:
        counts: dict[UUID, int] = defaultdict(int)
        for (user, lesson_id), progress in self.store.progress.items():
            lesson = self.store.lessons[lesson_id]
            if (
                progress.course_id == course_id
                and progress.completed
                and not lesson.deleted
                and user_id in (None, user)
            ):
                counts[user] += 1
        return dict(counts)

    async def lesson_total(self, course_id: UUID) -> int:
        course = self.store.courses.get(course_id)
        return course.lesson_count if course else 0

    async def save(self, progress: Sequence[CourseProgress]) -> None:
        for item in progress:
            self.store.course_progress[(item.user_id, item.course_id)] = _copy(item)


class FakeReplicas(ReplicaRepository):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def apply_course(self, facts: CourseFacts, version: int) -> None:
        if self.store.course_versions.get(facts.course_id, 0) > version:
            return
        self.store.course_versions[facts.course_id] = version
        known = self.store.courses.get(facts.course_id) or Course(
            facts.course_id, facts.instructor_id, "", "draft", False, 0, 0.0, 0
        )
        self.store.courses[facts.course_id] = replace(
            known,
            instructor_id=facts.instructor_id,
            title=known.title if facts.title is None else facts.title,
            status=known.status if facts.status is None else facts.status,
            deleted=known.deleted if facts.deleted is None else facts.deleted,
        )

    async def apply_outline(
        self, course_id: UUID, lesson_count: int, duration_seconds: int, at: datetime
    ) -> bool:
        known = self.store.courses.get(course_id)
        if known is None:
            return False
        self.store.courses[course_id] = replace(known, lesson_count=lesson_count)
        return known.lesson_count != lesson_count

    async def apply_lessons(self, lessons: Sequence[LessonFacts], at: datetime) -> None:
        for lesson in lessons:
            known = self.store.lessons.get(lesson.lesson_id)
            title = lesson.title if lesson.title is not None else known.title if known else ""
            self.store.lessons[lesson.lesson_id] = replace(lesson, title=title)

    async def apply_enrollment(
        self, user_id: UUID, course_id: UUID, status: EnrollmentStatus, version: int, at: datetime
    ) -> None:
        known = self.store.enrollments.get((user_id, course_id))
        if known is not None and known[1] > version:
            return
        first_day = known[2] if known and known[2] else None
        if first_day is None and status == EnrollmentStatus.ACTIVE:
            first_day = at.date()
        self.store.enrollments[(user_id, course_id)] = (status, version, first_day)

    async def apply_rating(self, course_id: UUID, average: float, count: int, at: datetime) -> None:
        known = self.store.courses.get(course_id)
        if known is not None:
            self.store.courses[course_id] = replace(
                known, rating_average=average, rating_count=count
            )

    async def add_quiz_attempt(
        self, user_id: UUID, lesson_id: UUID, course_id: UUID, correct: bool, at: datetime
    ) -> None:
        _, attempts, right = self.store.quiz.get((user_id, lesson_id), (course_id, 0, 0))
        self.store.quiz[(user_id, lesson_id)] = (course_id, attempts + 1, right + int(correct))

    async def apply_user(
        self,
        user_id: UUID,
        version: int,
        at: datetime,
        *,
        roles: Iterable[str] = (),
        revoked: Iterable[str] = (),
        registered: bool = False,
        deleted: bool = False,
    ) -> None:
        user = self.store.users.setdefault(user_id, FakeUser())
        if registered:
            user.registered_on = user.registered_on or at.date()
        if user.version > version:
            return
        user.roles = (set(roles) if registered else user.roles | set(roles)) - set(revoked)
        user.version = version
        user.deleted = user.deleted or deleted


class FakeReports(ReportQueries):
    """The read models the handler tests need, computed from the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def course(self, course_id: UUID) -> Course | None:
        return self.store.courses.get(course_id)

    async def enrollment(self, user_id: UUID, course_id: UUID) -> EnrollmentStatus | None:
        known = self.store.enrollments.get((user_id, course_id))
        return known[0] if known else None

    async def course_progress(self, user_id: UUID, course_id: UUID) -> CourseProgress | None:
        stored = self.store.course_progress.get((user_id, course_id))
        return _copy(stored) if stored else None

    async def lesson_progress(self, user_id: UUID, course_id: UUID) -> list[LessonProgress]:
        return [
            p
            for (user, _), p in self.store.progress.items()
            if user == user_id and p.course_id == course_id
        ]

    async def quiz_of_student(self, user_id: UUID, course_id: UUID) -> dict[UUID, QuizTotals]:
        return {
            lesson: QuizTotals(attempts, correct)
            for (user, lesson), (course, attempts, correct) in self.store.quiz.items()
            if user == user_id and course == course_id
        }

    async def watch_by_day(self, user_id: UUID, since: date) -> dict[date, int]:
        days: dict[date, int] = defaultdict(int)
        for (user, day, _), (watched, _) in self.store.daily.items():
            if user == user_id and day >= since:
                days[day] += watched
        return dict(days)

    async def courses_in_progress(self, user_id: UUID, limit: int) -> list[CourseInProgress]:
        rows = []
        for (user, course_id), (status, _, _) in self.store.enrollments.items():
            progress = self.store.course_progress.get((user, course_id))
            if user != user_id or status != EnrollmentStatus.ACTIVE:
                continue
            if progress is not None and progress.completed_at is not None:
                continue
            course = self.store.courses.get(course_id)
            rows.append(
                CourseInProgress(
                    course_id,
                    course.title if course else "",
                    progress.percent if progress else 0.0,
                    progress.completed_lessons if progress else 0,
                    progress.total_lessons if progress else course.lesson_count if course else 0,
                    None,
                )
            )
        return rows[:limit]

    async def recent_lessons(self, user_id: UUID, limit: int) -> list[RecentLesson]:
        mine = [p for (user, _), p in self.store.progress.items() if user == user_id]
        mine.sort(key=lambda p: p.updated_at, reverse=True)
        return [RecentLesson(p, "", "") for p in mine[:limit]]

    async def course_kpis(self, course_id: UUID) -> CourseKpis:
        enrolled = [
            user
            for (user, course), (status, _, _) in self.store.enrollments.items()
            if course == course_id and status in ENROLLED
        ]
        progress = [self.store.course_progress.get((user, course_id)) for user in enrolled]
        return CourseKpis(
            len(enrolled),
            sum(1 for p in progress if p and p.completed_at),
            sum(p.percent if p else 0.0 for p in progress) / len(enrolled) if enrolled else 0.0,
        )

    async def active_students(self, course_id: UUID, since: date) -> int:
        return len(
            {
                user
                for (user, day, course) in self.store.daily
                if course == course_id and day >= since
            }
        )

    async def course_days(self, course_id: UUID, days: DayRange) -> dict[date, DailyCourseStats]:
        stats: dict[date, DailyCourseStats] = {}
        for (_, day, course), (watched, _) in self.store.daily.items():
            if course == course_id and days.first <= day <= days.last:
                known = stats.get(day, DailyCourseStats(day))
                stats[day] = replace(
                    known,
                    active_students=known.active_students + 1,
                    watch_seconds=known.watch_seconds + watched,
                )
        for (_, course), (_, _, enrolled_on) in self.store.enrollments.items():
            if course == course_id and enrolled_on and days.first <= enrolled_on <= days.last:
                known = stats.get(enrolled_on, DailyCourseStats(enrolled_on))
                stats[enrolled_on] = replace(known, enrollments=known.enrollments + 1)
        return stats

    async def lessons(self, course_id: UUID) -> list[Lesson]:
        return [
            Lesson(
                f.lesson_id, f.course_id, f.section_id, f.title or "", f.order, f.duration_seconds
            )
            for f in self.store.lessons.values()
            if f.course_id == course_id and not f.deleted
        ]

    async def lesson_watch(self, course_id: UUID) -> dict[UUID, LessonWatch]:
        watch: dict[UUID, LessonWatch] = {}
        for progress in self.store.progress.values():
            if progress.course_id != course_id:
                continue
            duration = self.store.lessons[progress.lesson_id].duration_seconds
            tenth = (
                9
                if duration <= 0 or progress.max_position_seconds >= duration
                else progress.max_position_seconds * 10 // duration
            )
            known = watch.get(progress.lesson_id) or LessonWatch(0, 0, 0, {})
            known.buckets[tenth] = known.buckets.get(tenth, 0) + 1
            watch[progress.lesson_id] = LessonWatch(
                known.views + 1,
                known.watched_seconds + progress.watched_seconds,
                known.completed + int(progress.completed),
                known.buckets,
            )
        return watch

    async def quiz_of_course(self, course_id: UUID) -> dict[UUID, QuizTotals]:
        totals: dict[UUID, QuizTotals] = {}
        for (_, lesson), (course, attempts, correct) in self.store.quiz.items():
            if course == course_id:
                known = totals.get(lesson, QuizTotals())
                totals[lesson] = QuizTotals(known.attempts + attempts, known.correct + correct)
        return totals

    async def export_rows(self, course_id: UUID) -> list[ExportRow]:
        rows = []
        for (user, course), (status, _, day) in self.store.enrollments.items():
            if course != course_id:
                continue
            progress = self.store.course_progress.get((user, course))
            rows.append(
                ExportRow(
                    student_id=user,
                    enrollment_status=status,
                    enrolled_on=day,
                    progress_percent=progress.percent if progress else 0.0,
                    completed_lessons=progress.completed_lessons if progress else 0,
                    total_lessons=progress.total_lessons if progress else 0,
                    time_spent_seconds=sum(
                        p.watched_seconds for p in await self.lesson_progress(user, course)
                    ),
                    quiz=QuizTotals(),
                    last_activity_at=None,
                    completed_at=progress.completed_at if progress else None,
                )
            )
        return rows

    async def platform_stats(self) -> PlatformStats:
        live = [user for user in self.store.users.values() if not user.deleted]
        published = [
            c for c in self.store.courses.values() if c.status == "published" and not c.deleted
        ]
        return PlatformStats(
            total_courses=len(published),
            total_students=sum(1 for user in live if "student" in user.roles),
            total_instructors=sum(1 for user in live if "instructor" in user.roles),
            total_enrollments=sum(
                1 for status, _, _ in self.store.enrollments.values() if status in ENROLLED
            ),
            average_rating=0.0,
        )

    async def platform_days(self, days: DayRange) -> dict[date, DailyPlatformMetrics]:
        found: dict[date, DailyPlatformMetrics] = {}
        for (_, day, _), (_, completed) in self.store.daily.items():
            if days.first <= day <= days.last:
                known = found.get(day, DailyPlatformMetrics(day))
                found[day] = replace(known, lessons_completed=known.lessons_completed + completed)
        return found


class FakeUnitOfWork(AnalyticsUnitOfWork):
    """Writes go straight to the store; events are published on commit, dropped otherwise."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()
        self.progress = FakeProgress(self.store)
        self.replicas = FakeReplicas(self.store)
        self.reports = FakeReports(self.store)
        self._staged: list[RaisedEvent] = []
        self.commits = 0

    def repositories(self) -> Iterable[TrackingRepository]:
        return (self.progress,)

    async def claim_event(self, consumer: str, event_id: str, event_type: str) -> bool:
        if (consumer, event_id) in self.store.inbox:
            return False
        self.store.inbox.add((consumer, event_id))
        return True

    async def _begin(self) -> None:
        self.progress.seen.clear()
        self._staged = []

    async def _stage(self, events: list[RaisedEvent]) -> None:
        self._staged = events

    async def _commit(self) -> None:
        self.store.published.extend(self._staged)
        self.commits += 1

    async def rollback(self) -> None:
        self._staged = []
