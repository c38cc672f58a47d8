"""`--format sarif` through the real command line, checked against the official SARIF 2.1.0 schema
(with its `uri` / `uri-reference` formats checked by RFC 3986's grammar) and read back the way a
viewer would: URIs resolved against `originalUriBaseIds`, regions cut out of the source in the
declared `columnKind`, fixes applied to the file."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import jsonschema
import pytest

from initlint.rule import all_rules
from initlint.rules.il304_activated_logits import SIGMOID_BCE_LOGITS
from tests.cli.conftest import CLEAN, TWO_TOWER, TWO_TOWER_NOTEBOOK, TWO_TOWER_NOTEBOOK_AT, Run, write

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

# RFC 3986: a URI and a URI reference, by the ABNF of sections 3 and 4.2.
_PCT = r"%[0-9A-Fa-f]{2}"
_PLAIN = r"[A-Za-z0-9\-._~!$&'()*+,;=]"  # unreserved and sub-delims
_PCHAR = rf"(?:{_PLAIN}|{_PCT}|[:@])"
_SEGMENT_NC = rf"(?:{_PLAIN}|{_PCT}|@)+"  # a first segment of a relative path: no ':'
_AUTHORITY = rf"(?:{_PLAIN}|{_PCT}|[:@\[\]])*"
_TAIL = rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
_HIER = rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"
URI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:{_HIER}{_TAIL}")
RELATIVE_REF = re.compile(rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?|{_SEGMENT_NC}(?:/{_PCHAR}*)*|){_TAIL}")

FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("uri")(lambda value: not isinstance(value, str) or URI.fullmatch(value) is not None)
FORMATS.checks("uri-reference")(
    lambda value: not isinstance(value, str) or (URI.fullmatch(value) or RELATIVE_REF.fullmatch(value)) is not None
)

# A character outside the Basic Multilingual Plane before the finding: one code point, two UTF-16 units.
ASTRAL_LOSS = SIGMOID_BCE_LOGITS.replace("    loss = F.", '    note = "🔥"; loss = F.')
# The call ends left of where it starts.
MULTILINE_LOSS = SIGMOID_BCE_LOGITS.replace(
    "F.binary_cross_entropy_with_logits(torch.sigmoid(head(h)), y)",
    "F.binary_cross_entropy_with_logits(\n        torch.sigmoid(head(h)), y\n    )",
)
MULTILINE_CALL = "F.binary_cross_entropy_with_logits(\n        torch.sigmoid(head(h)), y\n    )"

ASTRAL_PATH = "my model é/100%, done.py"
MULTILINE_PATH = "dir,a:b%c/x.py"
BROKEN_PATH = "a:b/x.py"  # a first segment with ':' must not read as a scheme
TOWER_PATH = "models/tower.py"


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """(working directory, an absolute path outside it)."""
    cwd = tmp_path / "work"
    write(cwd, TOWER_PATH, TWO_TOWER)
    write(cwd, ASTRAL_PATH, ASTRAL_LOSS)
    write(cwd, MULTILINE_PATH, MULTILINE_LOSS)
    write(cwd, BROKEN_PATH, "import torch\ndef f(:\n")
    outside = write(tmp_path, "elsewhere é/tower model.py", TWO_TOWER)
    return cwd, outside


def run(initlint: Run, cwd: Path, *paths: str, status: int = 1) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The SARIF log and the JSON contract of the same run."""
    sarif = initlint("--format", "sarif", *paths, cwd=cwd)
    assert sarif.returncode == status, sarif.stderr
    contract = initlint("--format", "json", *paths, cwd=cwd)
    return json.loads(sarif.stdout), json.loads(contract.stdout)


def run_project(initlint: Run, project: tuple[Path, Path]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cwd, outside = project
    return run(initlint, cwd, "models", "my model é", "dir,a:b%c", "a:b", str(outside))


def schema_errors(log: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(SCHEMA)
    validator_class.check_schema(SCHEMA)
    validator = validator_class(SCHEMA, format_checker=FORMATS)
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log))


def physical_locations(result: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for location in result["locations"] + result.get("relatedLocations", []):
        yield location["physicalLocation"]


def resolve(the_run: dict[str, Any], artifact: dict[str, Any]) -> str:
    """The absolute URI a viewer opens (SARIF §3.4.4)."""
    uri = artifact["uri"]
    if "uriBaseId" not in artifact:
        return str(uri)
    assert urlsplit(uri).scheme == "", uri  # relative to the base, never a URI of its own
    return urljoin(str(the_run["originalUriBaseIds"][artifact["uriBaseId"]]["uri"]), str(uri))


def offset(text: str, line: int, column: int, column_kind: str) -> int:
    """The string index of a 1-based SARIF (line, column) in `text`."""
    lines = text.splitlines(keepends=True)
    start = sum(len(previous) for previous in lines[: line - 1])
    if column_kind == "unicodeCodePoints":
        return start + column - 1
    units = lines[line - 1].encode("utf-16-le")[: 2 * (column - 1)]  # utf16CodeUnits, SARIF's default
    return start + len(units.decode("utf-16-le"))


def region_text(text: str, region: dict[str, int], column_kind: str) -> str:
    start = offset(text, region["startLine"], region["startColumn"], column_kind)
    end = offset(text, region["endLine"], region["endColumn"], column_kind)
    return text[start:end]


def column_kind(the_run: dict[str, Any]) -> str:
    return str(the_run.get("columnKind", "utf16CodeUnits"))


def test_the_log_validates_against_the_official_schema(initlint: Run, project: tuple[Path, Path]) -> None:
    log, contract = run_project(initlint, project)
    assert schema_errors(log) == []
    (the_run,) = log["runs"]
    results = the_run["results"]
    # The log exercises every part the schema has to check.
    assert {r["ruleId"] for r in results} == {"IL001", "IL101", "IL304"}
    assert any("relatedLocations" in r for r in results) and any("fixes" in r for r in results)
    assert any("uriBaseId" not in loc["artifactLocation"] for r in results for loc in physical_locations(r))
    assert len(results) == len(contract)
    # Every rule is described, fired or not, and each result points at its own.
    rules = the_run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in all_rules()]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_artifact_uris_are_encoded_and_resolve_to_the_files(initlint: Run, project: tuple[Path, Path]) -> None:
    cwd, outside = project
    log, contract = run_project(initlint, project)
    (the_run,) = log["runs"]
    assert Path(unquote(urlsplit(the_run["originalUriBaseIds"]["%SRCROOT%"]["uri"]).path)) == cwd
    for result, expected in zip(the_run["results"], contract):
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        path = Path(expected["path"])
        if path.is_absolute():
            assert path == outside
            assert artifact == {"uri": outside.as_uri()}
        else:
            assert artifact["uriBaseId"] == "%SRCROOT%"
        related = [loc["physicalLocation"]["artifactLocation"] for loc in result.get("relatedLocations", [])]
        assert len(related) == len(expected["related"])
        changes = [change["artifactLocation"] for fix in result.get("fixes", []) for change in fix["artifactChanges"]]
        places = [(expected["path"], artifact), *((r["path"], a) for r, a in zip(expected["related"], related))]
        places += [(expected["path"], change) for change in changes]
        for where, art in places:
            assert FORMATS.conforms(art["uri"], "uri-reference"), art["uri"]
            assert Path(unquote(urlsplit(resolve(the_run, art)).path)) == cwd / where
    uris = {loc["artifactLocation"]["uri"] for r in the_run["results"] for loc in physical_locations(r)}
    assert {"a%3Ab/x.py", "dir%2Ca%3Ab%25c/x.py", "my%20model%20%C3%A9/100%25%2C%20done.py"} <= uris


def test_regions_are_in_the_declared_column_kind(initlint: Run, project: tuple[Path, Path]) -> None:
    cwd, _ = project
    log, _ = run_project(initlint, project)
    (the_run,) = log["runs"]
    kind = column_kind(the_run)
    assert kind == "unicodeCodePoints"  # initlint counts Python characters
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in the_run["results"]}

    astral = by_uri["my%20model%20%C3%A9/100%25%2C%20done.py"]
    text = (cwd / ASTRAL_PATH).read_text(encoding="utf-8")
    primary, sigmoid = (loc["region"] for loc in physical_locations(astral))
    assert region_text(text, primary, kind) == "F.binary_cross_entropy_with_logits(torch.sigmoid(head(h)), y)"
    assert region_text(text, sigmoid, kind) == "torch.sigmoid(head(h))"

    multiline = by_uri["dir%2Ca%3Ab%25c/x.py"]
    text = (cwd / MULTILINE_PATH).read_text(encoding="utf-8")
    region = multiline["locations"][0]["physicalLocation"]["region"]
    assert region["endLine"] > region["startLine"] and region["endColumn"] < region["startColumn"]
    assert region_text(text, region, kind) == MULTILINE_CALL


def test_a_fix_becomes_a_sarif_fix_that_applies(initlint: Run, project: tuple[Path, Path]) -> None:
    cwd, _ = project
    log, contract = run_project(initlint, project)
    (the_run,) = log["runs"]
    fixed = {ASTRAL_PATH: ASTRAL_LOSS, MULTILINE_PATH: MULTILINE_LOSS}
    seen = 0
    for result, expected in zip(the_run["results"], contract):
        if expected["fix"] is None:
            assert "fixes" not in result
            continue
        (fix,) = result["fixes"]
        assert fix["description"] == {"text": expected["fix"]["message"]}
        (change,) = fix["artifactChanges"]
        assert change["artifactLocation"] == result["locations"][0]["physicalLocation"]["artifactLocation"]
        text = (cwd / expected["path"]).read_text(encoding="utf-8")
        spans = []
        for replacement in change["replacements"]:
            region = replacement["deletedRegion"]
            spans.append((
                offset(text, region["startLine"], region["startColumn"], column_kind(the_run)),
                offset(text, region["endLine"], region["endColumn"], column_kind(the_run)),
                replacement["insertedContent"]["text"],
            ))
        for start, end, inserted in sorted(spans, reverse=True):
            text = text[:start] + inserted + text[end:]
        # The rewrite drops the sigmoid and keeps its argument.
        assert text == re.sub(r"torch\.sigmoid\((head\(h\))\)", r"\1", fixed[expected["path"]])
        seen += 1
    assert seen == 2


def test_a_clean_run_is_a_valid_empty_log(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", CLEAN)
    log, contract = run(initlint, tmp_path, status=0)
    assert contract == []
    (the_run,) = log["runs"]
    assert the_run["results"] == []
    assert [r["id"] for r in the_run["tool"]["driver"]["rules"]] == [rule.code for rule in all_rules()]
    assert the_run["columnKind"] == "unicodeCodePoints"
    assert schema_errors(log) == []


def test_a_notebook_finding_names_its_cell_and_validates(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "nb.ipynb", TWO_TOWER_NOTEBOOK)
    log, contract = run(initlint, tmp_path, "nb.ipynb")
    assert schema_errors(log) == []
    [result] = log["runs"][0]["results"]
    [location] = result["locations"]
    cell, line, column = TWO_TOWER_NOTEBOOK_AT
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "nb.ipynb"
    region = location["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (line, column) == (contract[0]["line"], contract[0]["column"])
    assert location["properties"] == {"cell": cell} and location["message"] == {"text": f"cell {cell}"}
    assert result["relatedLocations"]
    for related in result["relatedLocations"]:
        assert related["properties"] == {"cell": cell} and related["message"]["text"].startswith(f"cell {cell}: ")
