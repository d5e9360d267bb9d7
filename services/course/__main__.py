"""`python -m services.course [serve|migrate]`."""

from pathlib import Path

from kernel.bootstrap import service_main
from services.course.bootstrap import bootstrap

if __name__ == "__main__":
    service_main(
        "course",
        migrations_dir=Path(__file__).parent / "migrations",
        build_runtime=lambda settings: bootstrap(settings).runtime,
    )
