"""The category tree: read by anyone, managed by admins."""

from __future__ import annotations

from kernel.security import Caller
from services.course.domain.errors import CategoryNotEmpty, CategoryNotFound
from services.course.domain.model import KEEP, Category, CategoryTree, first_free_slug, slugify
from services.course.service_layer.access import require_admin
from services.course.service_layer.commands import (
    CreateCategory,
    DeleteCategory,
    UpdateCategory,
)
from services.course.service_layer.unit_of_work import CourseUnitOfWork


async def category_tree(uow: CourseUnitOfWork) -> CategoryTree:
    """Every live category as a tree."""
    async with uow:
        return CategoryTree(await uow.categories.live())


async def create_category(
    command: CreateCategory, uow: CourseUnitOfWork, caller: Caller
) -> Category:
    """Add a category; the slug is derived from the name unless given."""
    user_id = require_admin(caller)
    async with uow:
        if command.parent_id is not None and await uow.categories.get(command.parent_id) is None:
            raise CategoryNotFound(command.parent_id)
        slug = command.slug
        if not slug:
            base = slugify(command.name, fallback="category")
            slug = first_free_slug(base, await uow.categories.slugs_like(base))
        category = Category.create(
            name=command.name,
            slug=slug,
            parent_id=command.parent_id,
            order=command.order,
            by=user_id,
        )
        await uow.categories.add(category)
        await uow.commit()
    return category


async def update_category(
    command: UpdateCategory, uow: CourseUnitOfWork, caller: Caller
) -> Category:
    """Rename, re-slug, move or re-order a category (never below itself)."""
    user_id = require_admin(caller)
    async with uow:
        categories = await uow.categories.live()
        tree = CategoryTree(categories)
        category = tree.by_id.get(command.category_id)
        if category is None:
            raise CategoryNotFound(command.category_id)
        category.expect_version(command.expected_version)
        parent_id = command.changes.parent_id
        if parent_id is not KEEP and parent_id is not None and parent_id not in tree.by_id:
            raise CategoryNotFound(parent_id)
        category.update(command.changes, tree, user_id)
        await uow.categories.save(category)
        await uow.commit()
    return category


async def delete_category(command: DeleteCategory, uow: CourseUnitOfWork, caller: Caller) -> None:
    """Soft-delete a category without subcategories or courses."""
    user_id = require_admin(caller)
    async with uow:
        tree = CategoryTree(await uow.categories.live())
        category = tree.by_id.get(command.category_id)
        if category is None:
            raise CategoryNotFound(command.category_id)
        category.expect_version(command.expected_version)
        if len(tree.subtree_ids(category.id)) > 1 or await uow.categories.has_courses(category.id):
            raise CategoryNotEmpty(category.id)
        category.soft_delete(user_id)
        await uow.categories.save(category)
        await uow.commit()
