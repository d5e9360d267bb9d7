"""`python -m services.user [serve|migrate|create-admin --email ... [--password ...]]`."""

import sys
from pathlib import Path

from kernel.bootstrap import service_main
from services.user.bootstrap import bootstrap
from services.user.entrypoints.cli import create_admin_main

if __name__ == "__main__":
    # create-admin has options of its own, which service_main's sub-commands cannot declare.
    if sys.argv[1:2] == ["create-admin"]:
        sys.exit(create_admin_main(sys.argv[2:]))
    service_main(
        "user",
        migrations_dir=Path(__file__).parent / "migrations",
        build_runtime=lambda settings: bootstrap(settings).runtime,
    )
