"""`python -m services.user [serve|migrate]`."""

from pathlib import Path

from kernel.bootstrap import service_main
from services.user.bootstrap import bootstrap

if __name__ == "__main__":
    service_main(
        "user",
        migrations_dir=Path(__file__).parent / "migrations",
        build_runtime=lambda settings: bootstrap(settings).runtime,
    )
