"""The course service's cached views (kernel.cache namespaces) and what evicts them."""

from __future__ import annotations

from google.protobuf import wrappers_pb2

from kernel.cache import CacheNamespace, TwoLevelCache
from services.course.adapters.stale import StaleViews
from unpuzzle.course.v1 import course_pb2, course_service_pb2

CATEGORY_TREE_KEY = "tree"


class CourseCache:
    """Public course pages, slug -> id, catalogue list pages, the category tree, instructors.

    Course pages are cached without instructor and category names (only their ids) and without
    the caller's enrolment: those are attached per request from their own cached views, so that
    a profile or category change evicts one entry, not every course page.
    """

    def __init__(self, cache: TwoLevelCache) -> None:
        self.backend = cache
        self.courses: CacheNamespace[course_pb2.Course] = cache.namespace(
            "course.course", course_pb2.Course, ttl=300, l1_ttl=60
        )
        # Slugs never change once taken, so only unknown slugs (cached as not found) expire.
        self.slugs: CacheNamespace[wrappers_pb2.StringValue] = cache.namespace(
            "course.slug", wrappers_pb2.StringValue, ttl=3600
        )
        self.pages: CacheNamespace[course_service_pb2.ListCoursesResponse] = cache.namespace(
            "course.page", course_service_pb2.ListCoursesResponse, ttl=60, l1_ttl=30
        )
        self.categories: CacheNamespace[course_service_pb2.ListCategoriesResponse] = (
            cache.namespace("course.categories", course_service_pb2.ListCategoriesResponse, ttl=600)
        )
        self.instructors: CacheNamespace[course_pb2.InstructorSummary] = cache.namespace(
            "course.instructor", course_pb2.InstructorSummary, ttl=600
        )

    async def invalidate(self, stale: StaleViews) -> None:
        """Evict, on both levels and in every replica, what a committed unit of work changed."""
        if stale.course_ids:
            await self.courses.invalidate(*(str(course_id) for course_id in stale.course_ids))
        if stale.new_slugs:
            await self.slugs.invalidate(*stale.new_slugs)
        if stale.categories:
            await self.categories.invalidate(CATEGORY_TREE_KEY)
        if stale.instructor_ids:
            await self.instructors.invalidate(*(str(user_id) for user_id in stale.instructor_ids))
        if stale.lists:
            await self.pages.invalidate_all()
