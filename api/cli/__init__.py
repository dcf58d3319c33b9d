"""The `tracker` command (contract 2). Each command builds what it needs from the
environment's settings, calls the application service, and ends with one line,
or with JSON under --json. Commands live in writes.py, reads.py and admin.py; the group and
the helpers they share in common.py."""

from api.cli import admin, links, reads, transparency, writes  # noqa: F401 - each registers its commands
from api.cli.common import main

__all__ = ["main"]
