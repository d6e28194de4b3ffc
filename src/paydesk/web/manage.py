"""`paydesk manage ...`: Django's management commands with Paydesk's settings
(e.g. `paydesk manage createsuperuser`, `paydesk manage migrate`)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "django_args", nargs=argparse.REMAINDER, help="a Django management command and its arguments"
    )


def run(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    from paydesk.web.django_setup import setup

    setup()
    execute_from_command_line(["paydesk manage", *args.django_args])
    return 0
