"""Link candidates over the real exports in ../shared/data: ACLED's Burkina Faso and UCDP's
Central African Republic imported together share no event, so no pair is suggested — not
even at score 0, where every pair within the windows would be listed."""

import json

from click.testing import CliRunner

from api.cli import main


def test_two_countries_give_no_cross_country_candidates(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'x'}.sqlite")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    runner = CliRunner()
    for args in (["import", "acled", str(shared_data / "acled_Burkina_Faso.csv")],
                 ["import", "ucdp", "--release", "23.1",
                  str(shared_data / "ucdp_ged_CAR_sample.csv")]):
        assert runner.invoke(main, args, catch_exceptions=False).exit_code == 0
    out = runner.invoke(main, ["link", "suggest", "--min-score", "0", "--km", "500",
                               "--days", "31", "--json"], catch_exceptions=False)
    data = json.loads(out.output)
    assert data["records"] == 2980 + 250
    assert data["candidates"] == []
