"""Checkpoints, proofs and citations over HTTP, and the CLI commands printing the same."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import main
from api.routes import transparency as routes
from tracker.citation_verify import leaf_hash, verify_citation, verify_inclusion
from tracker.transparency import SigningKeyError, Transparency, generate_signer, write_keys


@pytest.fixture
def signer():
    return generate_signer("tracker.test")


def sign(app, signer):
    return Transparency(app.extensions["tracker"].tracker.recorder).checkpoint(signer)


def test_checkpoints_are_served_latest_first(app, seeded_api, public, signer):
    assert public.get("/checkpoint").status_code == 404
    first = sign(app, signer)
    app.extensions["tracker"].record_report({
        "report": "extra-1", "source": {"name": "X", "kind": "media"},
        "facts": [{"fact": "incident", "id": "x-1", "date": "2020-11-20", "type": "battle",
                   "location": {"name": "Gao", "country": "Mali"}}]}, "test")
    second = sign(app, signer)
    latest = public.get("/checkpoint")
    assert latest.status_code == 200 and latest.json == second
    assert latest.json["text"].startswith(f"tracker.test\n{second['size']}\n")
    listed = public.get("/checkpoints").json
    assert [c["size"] for c in listed["checkpoints"]] == [second["size"], first["size"]]
    page = public.get("/checkpoints?limit=1").json
    assert page["next"] == second["id"]
    assert public.get(f"/checkpoints?limit=1&before={page['next']}").json[
        "checkpoints"] == [first]


def test_inclusion_and_consistency_proofs_verify(app, seeded_api, public, signer):
    cp = sign(app, signer)
    proof = public.get(f"/proof/inclusion?position=5&size={cp['size']}").json
    assert proof["root"] == cp["root"]
    assert verify_inclusion(proof["index"], cp["size"], bytes.fromhex(proof["leaf"]),
                            [bytes.fromhex(p) for p in proof["proof"]],
                            bytes.fromhex(cp["root"]))
    consistency = public.get(f"/proof/consistency?from=7&to={cp['size']}").json
    assert consistency["to_root"] == cp["root"] and consistency["from"] == 7
    from tracker.citation_verify import verify_consistency
    assert verify_consistency(7, cp["size"], [bytes.fromhex(p) for p in consistency["proof"]],
                              bytes.fromhex(consistency["from_root"]),
                              bytes.fromhex(cp["root"]))
    assert leaf_hash(b"") != bytes.fromhex(proof["leaf"])


@pytest.mark.parametrize("query, field", [
    ("/proof/inclusion?position=0", "position"),
    ("/proof/inclusion?position=abc", "position"),
    ("/proof/inclusion", "position"),
    ("/proof/inclusion?position=100000", "position"),
    ("/proof/inclusion?position=3&size=100000", "size"),
    ("/proof/inclusion?position=9&size=4", "size"),
    ("/proof/consistency?from=5&to=2", "from"),
    ("/proof/consistency?from=-1", "from"),
    ("/proof/consistency?from=2&to=100000", "to"),
    ("/cite?view=casualties", "by"),
    ("/cite?view=casualties&by=planet", "by"),
    ("/cite?view=leadership", "view"),
    ("/cite?view=incident", "id"),
    ("/cite?view=casualties&by=country&key=Atlantis", "key"),
    ("/checkpoints?limit=0", "limit"),
])
def test_bad_parameters_are_422_naming_them(seeded_api, public, query, field):
    response = public.get(query)
    assert response.status_code == 422, response.json
    assert field in json.dumps(response.json["errors"]), response.json


def test_cite_over_http_verifies_offline(app, seeded_api, public, signer):
    refused = public.get("/cite?view=casualties&by=country&key=Mali")
    assert refused.status_code == 409 and "tracker checkpoint" in refused.json["message"]
    cp = sign(app, signer)
    citation = public.get("/cite?view=casualties&by=country&country=Mali").json
    assert citation["checkpoint"]["size"] == cp["size"]
    assert citation["query"] == {"view": "casualties", "by": "country", "country": "Mali"}
    view = public.get("/casualties?by=country&country=Mali").json
    assert citation["answer"] == view
    assert verify_citation(citation, signer.verifier_key).ok
    one = public.get("/cite?view=incident&id=niaki-battle-2020-11").json
    assert one["answer"]["id"] == "niaki-battle-2020-11"
    result = verify_citation(one, signer.verifier_key)
    assert result.ok and any("['killed']" in c for c in result.checked)
    again = public.get(f"/cite?view=casualties&by=country&key=Mali&since={cp['size'] - 3}")
    assert again.json["consistency"]["from"] == cp["size"] - 3


def test_every_view_says_its_position_and_the_latest_checkpoint(app, seeded_api, public,
                                                                signer):
    head = app.extensions["tracker"].tracker.max_position()
    before = public.get("/casualties?by=country")
    assert before.headers["X-Tracker-Position"] == str(head)
    assert "X-Tracker-Checkpoint" not in before.headers
    cp = sign(app, signer)
    app.extensions["tracker_latest_checkpoint"]["at"] = -routes.LATEST_TTL  # expired
    after = public.get("/incidents/niaki-battle-2020-11")
    assert after.headers["X-Tracker-Checkpoint"] == f"{cp['size']} {cp['root']}"
    past = public.get("/casualties?by=country&as_of=2000-01-01")
    assert past.headers["X-Tracker-Position"] == "0"


def test_the_cli_signs_proves_cites_and_verifies(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'events.sqlite'}")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    monkeypatch.delenv("TRACKER_SIGNING_KEY", raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["seed"]).exit_code == 0
    out = runner.invoke(main, ["keygen", "--out", str(tmp_path / "keys"), "--name", "t.test"])
    assert out.exit_code == 0, out.output
    key, pub = tmp_path / "keys" / "tracker.key", tmp_path / "keys" / "tracker.key.pub"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert runner.invoke(main, ["keygen", "--out", str(tmp_path / "keys")]).exit_code == 1
    missing = runner.invoke(main, ["checkpoint"])
    assert missing.exit_code == 1 and "TRACKER_SIGNING_KEY" in missing.output
    monkeypatch.setenv("TRACKER_SIGNING_KEY", str(key))
    signed = runner.invoke(main, ["checkpoint"])
    assert signed.exit_code == 0 and signed.output.startswith("t.test\n")
    (tmp_path / "kept.checkpoint").write_text(signed.output)
    proof = json.loads(runner.invoke(main, ["proof", "inclusion", "--position", "3"]).output)
    assert proof["position"] == 3 and proof["proof"]
    bad = runner.invoke(main, ["proof", "consistency", "--from", "99999"])
    assert bad.exit_code == 1 and "from" in bad.output
    cited = runner.invoke(main, ["cite", "casualties", "--by", "country", "--row", "Mali",
                                 "--since", str(tmp_path / "kept.checkpoint")])
    assert cited.exit_code == 0, cited.output
    (tmp_path / "mali.json").write_text(cited.output)
    ok = runner.invoke(main, ["verify-citation", str(tmp_path / "mali.json"), "--key", str(pub),
                              "--since", str(tmp_path / "kept.checkpoint")])
    assert ok.exit_code == 0 and "citation verified" in ok.output
    # One row cited: the CLI says, as the standalone verifier does, what it does not cover.
    assert "not covered: total" in ok.output and "(only the figures listed as ok)" in ok.output
    listed = json.loads(runner.invoke(main, ["verify-citation", str(tmp_path / "mali.json"),
                                             "--key", str(pub), "--json"]).output)
    assert listed["ok"] and listed["uncovered"] == ["total"]
    citation = json.loads(cited.output)
    citation["evidence"][0]["inclusion"][0]["proof"][0] = "00" * 32
    (tmp_path / "bad.json").write_text(json.dumps(citation))
    failed = runner.invoke(main, ["verify-citation", str(tmp_path / "bad.json"), "--key",
                                  str(pub)])
    assert failed.exit_code == 1 and "FAILED: inclusion" in failed.output


def test_keys_are_not_overwritten(tmp_path):
    write_keys(generate_signer(), tmp_path)
    with pytest.raises(Exception, match="not overwriting"):
        write_keys(generate_signer(), tmp_path)


def one_error_line(result: Any) -> str:
    """The one line a command that failed printed (exit 1, no traceback)."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    (line,) = result.output.splitlines()
    assert line.startswith("error: "), line
    return line


def test_keygen_into_a_directory_that_cannot_be_made_says_which_and_why(tmp_path):
    runner = CliRunner()
    (tmp_path / "a-file").write_text("")
    cases = [(tmp_path / "a-file" / "keys", "Not a directory")]
    if Path("/proc/self").is_dir():  # Linux: nothing can be made in /proc
        cases.append((Path("/proc/nope"), "No such file or directory"))
    for out, reason in cases:
        line = one_error_line(runner.invoke(main, ["keygen", "--out", str(out)]))
        assert line == f"error: cannot write the key to {out}: {reason}"


def test_a_key_pair_that_cannot_be_written_whole_leaves_no_half(tmp_path, monkeypatch):
    def full(self: Path, *args: Any, **kwargs: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    with monkeypatch.context() as m:
        m.setattr(Path, "write_text", full)
        with pytest.raises(SigningKeyError) as raised:
            write_keys(generate_signer(), tmp_path)
    assert str(raised.value) == (f"cannot write the key to {tmp_path / 'tracker.key.pub'}: "
                                 f"{os.strerror(errno.ENOSPC)}")
    assert list(tmp_path.iterdir()) == []
    private, public = write_keys(generate_signer(), tmp_path)  # once there is room
    assert private.is_file() and public.is_file()


def test_a_file_a_command_cannot_read_is_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'events.sqlite'}")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    monkeypatch.delenv("TRACKER_SIGNING_KEY", raising=False)
    runner = CliRunner()
    missing, text = tmp_path / "missing", tmp_path / "notes.txt"
    text.write_text("not a key, a checkpoint or JSON\n")
    _, pub = write_keys(generate_signer("t.test"), tmp_path / "keys")
    cases = [
        (["cite", "incident", "x", "--since", str(missing)],
         f"error: cannot read {missing}: No such file or directory"),
        (["cite", "incident", "x", "--since", str(text)], f"error: --since {text}: "),
        (["checkpoint", "--key", str(missing)],
         f"error: cannot read the signing key {missing}: No such file or directory"),
        (["checkpoint", "--key", str(text)],
         f"error: the signing key {text}: not a tracker signing key"),
        (["verify-citation", str(missing), "--key", str(pub)],
         f"error: cannot read {missing}: No such file or directory"),
        (["verify-citation", str(text), "--key", str(pub)], f"error: {text}: not JSON: "),
        (["verify-citation", str(text), "--key", str(missing)],
         f"error: cannot read {missing}: No such file or directory"),
        (["verify-citation", str(text), "--key", str(pub), "--since", str(missing)],
         f"error: cannot read {missing}: No such file or directory"),
    ]
    for args, start in cases:
        line = one_error_line(runner.invoke(main, args))
        assert line.startswith(start), (args, line)


def test_checkpoint_every_signs_only_when_the_log_grew(tmp_path, monkeypatch):
    import time

    from api.services import build_tracker
    from tracker.config import Settings

    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    write_keys(generate_signer("t.test"), tmp_path)
    monkeypatch.setenv("TRACKER_SIGNING_KEY", str(tmp_path / "tracker.key"))
    runner = CliRunner()
    assert runner.invoke(main, ["seed"]).exit_code == 0
    seeded = build_tracker(Settings(database_url=url))
    first = seeded.max_position()
    seeded.close()
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 1:  # the log grows between the first two rounds
            tracker = build_tracker(Settings(database_url=url))
            tracker.record_report({
                "report": "later", "source": {"name": "X", "kind": "media"},
                "facts": [{"fact": "incident", "id": "x-9", "date": "2020-11-20",
                           "type": "battle", "location": {"name": "Gao", "country": "Mali"}}]})
            tracker.close()
        elif len(naps) == 3:
            raise SystemExit(0)

    monkeypatch.setattr(time, "sleep", nap)
    out = runner.invoke(main, ["checkpoint", "--every", "3600", "--json"])
    assert out.exit_code == 0, out.output
    assert naps == [3600, 3600, 3600]
    tracker = build_tracker(Settings(database_url=url))
    try:
        signed = Transparency(tracker.recorder).list()
        assert [c["size"] for c in signed] == [tracker.max_position(), first]
        assert tracker.max_position() > first
    finally:
        tracker.close()


def test_a_citation_past_the_evidence_limit_asks_to_narrow_it(app, seeded_api, public, signer,
                                                             monkeypatch):
    from api import citations

    sign(app, signer)
    monkeypatch.setattr(citations, "MAX_INCIDENTS", 2)
    refused = public.get("/cite?view=casualties&by=country")
    assert refused.status_code == 422 and "key=" in refused.json["message"]
    one = public.get("/cite?view=casualties&by=type&key=battle")
    assert one.status_code == 200, one.json
    assert verify_citation(one.json, signer.verifier_key).ok


def test_a_server_with_the_signing_key_signs_when_no_checkpoint_covers(app, seeded_api,
                                                                       public, tmp_path):
    signer = generate_signer("tracker.test")
    private, _ = write_keys(signer, tmp_path / "keys")
    app.config["SIGNING_KEY"] = str(private)
    citation = public.get("/cite?view=casualties&by=country&key=Mali")
    assert citation.status_code == 200, citation.json
    assert public.get("/checkpoint").json["size"] == citation.json["checkpoint"]["size"]
    assert verify_citation(citation.json, signer.verifier_key).ok
