"""Starting Django from the `paydesk` command: settings module, data directory, migrations."""

from __future__ import annotations

import os
from pathlib import Path


def setup(data_dir: str | Path | None = None) -> None:
    if data_dir is not None:
        os.environ["PAYDESK_DATA_DIR"] = str(Path(data_dir).resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paydesk.web.settings")
    import django

    django.setup()


def migrate(*, verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
