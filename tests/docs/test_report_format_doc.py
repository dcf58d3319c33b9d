"""docs/report-format.md matches the fact catalogue: an example of every fact type, each
one valid for its type's schema."""

import json
import re
from pathlib import Path

from tracker.facts import FACT_TYPES
from tracker.reports import parse_report

DOC = Path(__file__).resolve().parents[2] / "docs" / "report-format.md"


def examples() -> list[dict]:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(), flags=re.S)
    decoder, found = json.JSONDecoder(), []
    for block in blocks:
        if "…" in block:
            continue
        at = 0
        while (at := _skip_space(block, at)) < len(block):
            value, at = decoder.raw_decode(block, at)
            if isinstance(value, dict) and "fact" in value:
                found.append(value)
    return found


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def test_the_report_format_page_shows_a_valid_example_of_every_fact_type():
    found = examples()
    assert {e["fact"] for e in found} == set(FACT_TYPES)
    report = parse_report({"report": "doc", "source": {"name": "doc", "kind": "other"},
                           "facts": found})
    assert [f.type for f in report.facts] == [e["fact"] for e in found]


def test_the_page_names_the_required_fields_of_each_fact_type():
    text = DOC.read_text()
    for name, fact_type in FACT_TYPES.items():
        section = re.search(rf"^### .*`{name}`.*?(?=^### |^## |\Z)", text, flags=re.S | re.M)
        assert section, f"no section for {name}"
        for field in fact_type.required():
            assert f'"{field}"' in section.group(0) or f"`{field}`" in section.group(0), \
                (name, field)


def test_the_page_lists_what_a_correction_may_change():
    from tracker.facts import CORRECTABLE

    text = DOC.read_text()
    listed = text[text.index("Correctable fields:"):text.index("### `retraction`")]
    for kind, names in CORRECTABLE.items():
        part = listed[listed.index(f"{kind} `"):]
        part = part[:part.index(";")] if ";" in part else part
        for name in names:
            shown = "location.*" if name.startswith("location.") else name
            assert f"`{shown}`" in part, (kind, name)
