"""The real third-party exports in ../shared/data (see its PROVENANCE.md)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

from click.testing import CliRunner

from api.cli import main


def cli_env(tmp_path, name):
    return {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / name}.sqlite"}


def run_cli(monkeypatch, tmp_path, name, *args):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / name}.sqlite")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_acled_burkina_faso_totals(shared_data, tmp_path, monkeypatch):
    summary = json.loads(run_cli(monkeypatch, tmp_path, "a", "import", "acled",
                                 str(shared_data / "acled_Burkina_Faso.csv"), "--json"))
    assert (summary["rows"], summary["new"], summary["rejected"]) == (2980, 2980, 0)
    data = json.loads(run_cli(monkeypatch, tmp_path, "a", "query", "casualties", "--by",
                              "country", "--json"))
    assert [(r["key"], r["incidents"], r["killed"]) for r in data["rows"]] == [
        ("Burkina Faso", 2980, {"best": 5242, "low": 5242, "high": 5242})]
    by_month = json.loads(run_cli(monkeypatch, tmp_path, "a", "query", "casualties", "--by",
                                  "month", "--from", "2019-01-01", "--to", "2019-12-31",
                                  "--json"))
    assert by_month["total"]["best"] == 2219
    # Each figure is published when ACLED last revised its row (`timestamp`, UTC).
    from datetime import UTC, datetime

    with open(shared_data / "acled_Burkina_Faso.csv", newline="", encoding="utf-8") as f:
        revised = {f"acled:{r['event_id_cnty']}":
                   datetime.fromtimestamp(int(r["timestamp"]), UTC).date().isoformat()
                   for r in csv.DictReader(f)}
    page = json.loads(run_cli(monkeypatch, tmp_path, "a", "query", "incidents", "--limit",
                              "200", "--json"))["incidents"]
    assert len(page) == 200
    assert {i["id"]: i["killed"]["basis"]["published"] for i in page} == {
        i["id"]: revised[i["id"]] for i in page}
    again = json.loads(run_cli(monkeypatch, tmp_path, "a", "import", "acled",
                               str(shared_data / "acled_Burkina_Faso.csv"), "--json"))
    assert (again["new"], again["events"]) == (0, 0)


def test_ucdp_car_totals(shared_data, tmp_path, monkeypatch):
    run_cli(monkeypatch, tmp_path, "u", "import", "ucdp", "--release", "23.1",
            str(shared_data / "ucdp_ged_CAR_sample.csv"))
    data = json.loads(run_cli(monkeypatch, tmp_path, "u", "query", "casualties", "--by",
                              "country", "--json"))
    assert [(r["key"], r["incidents"], r["killed"]) for r in data["rows"]] == [
        ("Central African Republic", 250, {"best": 1342, "low": 1299, "high": 2093})]
    # The civilian toll is tallied: the sum of the file's deaths_civilians, given by every
    # row (UCDP counts civilians in each event).
    with open(shared_data / "ucdp_ged_CAR_sample.csv", newline="", encoding="utf-8") as f:
        civilians = sum(int(row["deaths_civilians"] or 0) for row in csv.DictReader(f))
    assert civilians > 0 and data["rows"][0]["civilians"] == {"best": civilians,
                                                               "reported_by": 250}


def comparable_log(env):
    """The log without what differs between runs: record times and aggregate versions."""
    out = subprocess.run([sys.executable, "-m", "api.cli", "log", "--limit", "10000", "--json"],
                         env=env, check=True, capture_output=True, text=True).stdout
    events = json.loads(out)["events"]
    for e in events:
        e.pop("recorded")
        e["provenance"].pop("recorded_at")
    return events


def test_an_import_killed_part_way_then_rerun_equals_one_clean_import(shared_data, tmp_path):
    source = str(shared_data / "acled_Burkina_Faso.csv")
    clean, killed = cli_env(tmp_path, "clean"), cli_env(tmp_path, "killed")
    subprocess.run([sys.executable, "-m", "api.cli", "import", "acled", source,
                    "--batch-size", "100"], env=clean, check=True, capture_output=True)

    victim = subprocess.Popen([sys.executable, "-m", "api.cli", "import", "acled", source,
                               "--batch-size", "100"], env=killed,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import sqlite3
    deadline = time.monotonic() + 60
    landed = 0
    while time.monotonic() < deadline and victim.poll() is None:
        try:
            with sqlite3.connect(tmp_path / "killed.sqlite") as conn:
                landed = conn.execute("SELECT count(*) FROM stored_events").fetchone()[0]
        except sqlite3.OperationalError:
            landed = 0
        if landed > 1000:
            break
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert 1000 < landed < 6000, landed  # part-way: some batches landed, not all
    # Its view helper process does not outlive it.
    helper = f"--exit-with-parent {victim.pid}"
    deadline = time.monotonic() + 10
    while helper in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                   text=True).stdout:
        assert time.monotonic() < deadline, "the import's view helper outlived it"
        time.sleep(0.1)

    subprocess.run([sys.executable, "-m", "api.cli", "import", "acled", source,
                    "--batch-size", "100"], env=killed, check=True, capture_output=True)

    assert comparable_log(killed) == comparable_log(clean)
    views = [json.loads(subprocess.run(
        [sys.executable, "-m", "api.cli", "query", "casualties", "--by", by, "--json"],
        env=env, check=True, capture_output=True, text=True).stdout)
        for env in (killed, clean) for by in ("admin1",)]
    assert views[0] == views[1]


LABELS = {"1": "State forces", "2": "Rebel group", "3": "Political militia",
          "4": "Identity militia", "5": "Rioters", "6": "Protesters", "7": "Civilians",
          "8": "External/Other forces"}


def test_acled_burkina_faso_as_the_api_and_a_spreadsheet_give_it(shared_data, tmp_path,
                                                                  monkeypatch):
    """The same export as ACLED's API returns it (JSON pages, actor types as labels) and as
    a spreadsheet re-saves it (5-Aug-24 dates, CRLF): the same incidents and totals."""
    with open(shared_data / "acled_Burkina_Faso.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    api = []
    for row in rows:
        record = dict(row)
        record["inter1"], record["inter2"] = (LABELS.get(row["inter1"], ""),
                                              LABELS.get(row["inter2"], ""))
        api.append(record)
    pages = [{"status": 200, "success": True, "count": len(api[i:i + 1000]),
              "data": api[i:i + 1000]} for i in range(0, len(api), 1000)]
    (tmp_path / "api.json").write_text(json.dumps(pages))
    summary = json.loads(run_cli(monkeypatch, tmp_path, "j", "import", "acled",
                                 str(tmp_path / "api.json"), "--json"))
    assert (summary["format"], summary["rows"], summary["new"], summary["rejected"]) == (
        "json", 2980, 2980, 0)
    data = json.loads(run_cli(monkeypatch, tmp_path, "j", "query", "casualties", "--by",
                              "country", "--json"))
    assert data["rows"][0]["killed"]["best"] == 5242

    from datetime import date

    with open(tmp_path / "resaved.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            day = date.fromisoformat(run_date(row["event_date"]))
            writer.writerow({**row, "event_date": f"{day.day}-{day:%b}-{day:%y}"})
    again = json.loads(run_cli(monkeypatch, tmp_path, "j", "import", "acled",
                               str(tmp_path / "resaved.csv"), "--json"))
    assert (again["rows"], again["new"], again["corrected"], again["rejected"],
            again["events"]) == (2980, 0, 0, 0, 0)


def run_date(text: str) -> str:
    from tracker.ingestion.rows import parse_day

    return parse_day(text, "event_date")


def test_ucdp_car_as_the_web_explorer_downloads_it(shared_data, tmp_path, monkeypatch):
    """The real CAR sample in the explorer's layout (figures *_est, MM/DD/YYYY hh:mm:ss
    dates, active_year True/False, no gwnoa/gwnob): the same incidents and totals as the
    bulk CSV, published with the release."""
    with open(shared_data / "ucdp_ged_CAR_sample.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = {"best": "best_est", "low": "low_est", "high": "high_est"}
    explorer = []
    for row in rows:
        out = {names.get(k, k): v for k, v in row.items() if k not in ("gwnoa", "gwnob")}
        for column in ("date_start", "date_end"):
            day = run_date(row[column])
            out[column] = f"{day[5:7]}/{day[8:10]}/{day[:4]} 00:00:00"
        out["active_year"] = "True" if row["active_year"] == "1" else "False"
        explorer.append(out)
    path = tmp_path / "explorer.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(explorer[0]))
        writer.writeheader()
        writer.writerows(explorer)
    totals = []
    for name, source in (("bulk", shared_data / "ucdp_ged_CAR_sample.csv"), ("exp", path)):
        summary = json.loads(run_cli(monkeypatch, tmp_path, name, "import", "ucdp",
                                     "--release", "23.1", str(source), "--json"))
        assert (summary["new"], summary["rejected"], summary["published"]) == (
            250, 0, "2023-06-01")
        data = json.loads(run_cli(monkeypatch, tmp_path, name, "query", "casualties", "--by",
                                  "country", "--json"))
        totals.append([(r["key"], r["incidents"], r["killed"], r["civilians"])
                       for r in data["rows"]])
    assert totals[0] == totals[1]
    assert totals[1][0][:3] == ("Central African Republic", 250,
                                {"best": 1342, "low": 1299, "high": 2093})
    # Both in one store: the explorer's rows are the bulk CSV's incidents, nothing new.
    again = json.loads(run_cli(monkeypatch, tmp_path, "bulk", "import", "ucdp", "--release",
                               "23.1", str(path), "--json"))
    assert (again["unchanged"], again["events"]) == (250, 0)
    incidents = json.loads(run_cli(monkeypatch, tmp_path, "bulk", "query", "incidents",
                                   "--limit", "5", "--json"))
    assert {i["killed"]["basis"]["published"] for i in incidents["incidents"]} == {"2023-06-01"}
