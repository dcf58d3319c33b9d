"""`tracker --help` and usage errors answer without loading the stores' libraries: what a
command needs is imported in its body (the wall time, ~0.05 s, is in the README; here the
imports are checked, in a fresh interpreter each time)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from projections.casualty_tallies import DIMENSIONS

ROOT = Path(__file__).resolve().parents[1]

# The libraries that make a start slow (SQLAlchemy alone ~0.3 s): none is needed to print
# help or a usage error.
HEAVY = ("sqlalchemy", "flask", "flask_smorest", "werkzeug", "eventsourcing", "psycopg",
         "psycopg_pool", "redis", "marshmallow", "orjson", "gunicorn", "api.services",
         "projections.readmodel", "tracker.application")

PROBE = """
import json, sys
from click.testing import CliRunner
from api.cli import main
result = CliRunner().invoke(main, sys.argv[1:])
print(json.dumps({"exit": result.exit_code, "output": result.output,
                  "modules": sorted(sys.modules)}))
"""


def run_cli(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# The help of the commands taking `--by` lists the tally dimensions, read from
# projections.casualty_tallies: it brings the event decoder (orjson, eventsourcing.utils),
# never a store (measured: `tracker query casualties --help` in ~0.09 s).
DECODER = ("orjson", "orjson.orjson", "eventsourcing", "eventsourcing.utils")


def heavy(modules: list[str], allowed: tuple[str, ...] = ()) -> list[str]:
    return [m for m in modules if m not in allowed
            and any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize("args", [
    ["--help"], [], ["query", "--help"], ["query", "casualties", "--help"],
    ["query", "changes", "--help"], ["import", "--help"], ["import", "acled", "--help"],
    ["serve", "--help"], ["token", "--help"], ["token", "create"], ["nosuch"],
    ["query", "casualties", "--by", "nope"], ["history", "planet", "x"], ["log", "--limit", "x"],
    ["cite", "--help"], ["keygen", "--help"], ["verify-citation", "--help"],
])
def test_help_and_usage_errors_load_no_store_library(args):
    result = run_cli(*args)
    assert result["exit"] in (0, 2), result["output"]
    assert "Usage:" in result["output"]
    allowed = DECODER if {"casualties", "changes"} & set(args) else ()
    assert heavy(result["modules"], allowed) == []


def test_the_tally_dimensions_still_show_in_help_and_errors():
    help_text = run_cli("query", "casualties", "--help")["output"]
    assert "[" + "|".join(DIMENSIONS) + "]" in help_text
    error = run_cli("query", "casualties", "--by", "nope")
    assert error["exit"] == 2
    assert "'nope' is not one of " + ", ".join(f"'{d}'" for d in DIMENSIONS) in error["output"]


def test_the_installed_entry_point_imports_no_store_library_for_help():
    """`python -m api.cli --help` as the console script runs it, seen by -X importtime."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "api.cli", "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Usage: " in done.stdout
    imported = [line.rpartition("|")[2].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")]
    assert "click" in imported
    assert heavy(imported) == []


def test_a_command_still_loads_what_it_needs(tmp_path):
    """The lazy imports are in the commands' bodies: a real command runs end to end."""
    env_db = f"sqlite:///{tmp_path / 'events.sqlite'}"
    done = subprocess.run([sys.executable, "-m", "api.cli", "query", "casualties", "--by",
                           "country", "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin",
                                            "TRACKER_DATABASE_URL": env_db})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == []
