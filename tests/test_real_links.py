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


def test_a_ucdp_style_copy_of_the_real_export_is_found(shared_data, tmp_path):
    """ACLED's real Burkina Faso export and a UCDP-style copy of half its deadly events
    (bench.synthetic_links.ucdp_copy: other dates by a day, places 0-5 km away, UCDP's
    names and coding, other tolls): the default threshold finds the copies' rows with
    the precision and recall docs/linking.md states, and accepting them counts each
    cluster once."""
    from api.linking import link_report
    from api.services import Services
    from bench.synthetic_links import precision_recall, ucdp_copy
    from tracker.config import Settings
    from tracker.ingestion.importer import Importer

    export = shared_data / "acled_Burkina_Faso.csv"
    services = Services.from_settings(Settings(database_url=f"sqlite:///{tmp_path / 'e'}.sqlite"))
    try:
        Importer(services.tracker, "acled").run(export)
        copy = ucdp_copy(str(export))
        for report in copy.reports:
            services.tracker.record_report(report, recorded_by="test")
        services.runner.catch_up()
        with services.views(None) as views:
            found = views.link_candidates()
        pairs = [(c["incident"], c["other"]) for c in found["candidates"]]
        precision, recall = precision_recall(pairs, copy.true_pairs)
        assert precision >= 0.85 and recall >= 0.93, (precision, recall)
        # Every pair is across the two sources: a copy and an ACLED row.
        assert all({a.split(":")[0], b.split(":")[0]} == {"acled", "ucdp-copy"}
                   for a, b in pairs)
        services.tracker.record_report(link_report(found["candidates"], found["method"]),
                                       recorded_by="test")
        services.runner.catch_up()
        with services.views(None) as views:
            counted = sum(r["incidents"] for r in views.casualties("country")["rows"])
        clusters: dict[str, set[str]] = {}
        for a, b in pairs:
            merged = clusters.get(a, {a}) | clusters.get(b, {b})
            for member in merged:
                clusters[member] = merged
        merged_away = sum(len(c) - 1 for c in {id(c): c for c in clusters.values()}.values())
        assert counted == len(copy.a_ids) + len(copy.b_ids) - merged_away
    finally:
        services.close()
