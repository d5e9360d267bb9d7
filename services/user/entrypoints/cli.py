"""`python -m services.user create-admin`: make an administrator in production."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence

from kernel.errors import DomainError
from kernel.logs import configure_logging
from kernel.settings import Settings, load_settings
from services.user.bootstrap import bootstrap
from services.user.domain.model import SUPER_ADMIN
from services.user.service_layer.commands import CreateAdmin
from services.user.service_layer.seeding import create_admin


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.user create-admin",
        description="Create an administrator, or give an existing account the role.",
    )
    parser.add_argument("--email", required=True)
    parser.add_argument(
        "--password", help="the new account's password (asked on the terminal when omitted)"
    )
    parser.add_argument("--full-name", default="Administrator")
    parser.add_argument("--role", choices=[SUPER_ADMIN, "admin"], default=SUPER_ADMIN)
    return parser


async def _create(settings: Settings, command: CreateAdmin) -> str:
    service = bootstrap(settings)
    try:
        view, outcome = await create_admin(command, service.uow(), service.deps)
    finally:
        await service.infra.database.dispose()
        service.hasher.close()
    return f"{outcome.value}: {view.user.email} ({view.user.id}) roles {sorted(view.user.roles)}"


def create_admin_main(argv: Sequence[str]) -> int:
    """Run the command; the exit status is 0 on success, 1 on a refused request."""
    args = _parser().parse_args(argv)
    settings = load_settings()
    configure_logging("user", settings.log_level, settings.log_json)
    password = args.password or getpass.getpass(f"Password for {args.email}: ")
    command = CreateAdmin(
        email=args.email, password=password, role=args.role, full_name=args.full_name
    )
    try:
        print(asyncio.run(_create(settings, command)))
    except DomainError as error:
        details = "; ".join(f"{v.field}: {v.description}" for v in error.violations)
        print(f"refused: {error.message}{f' ({details})' if details else ''}", file=sys.stderr)
        return 1
    return 0
