"""The export generator and the importer are independent: the generator imports nothing of
the product, and a wrong name in the importer's table makes the generator-based checks
fail (so they can catch a wrong translation)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from nunis_ingest.usecases.bulk_export import csv_headers
from strava_sandbox.export import write_export
from tests.export.helpers import ANCHOR, Duck, check_import

SANDBOX = Path(__file__).resolve().parents[2] / "strava_sandbox"
GENERATOR = ("export.py", "export_facts.py", "export_files.py", "export_platforms.py",
             "fit_writer.py")  # fmt: skip


@pytest.mark.parametrize("module", GENERATOR)
def test_the_generator_imports_nothing_of_the_product(module):
    tree = ast.parse((SANDBOX / module).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not [name for name in imported if name.split(".")[0] == "nunis_ingest"]


def _table_with(monkeypatch, language: str, local: str, english: str | None) -> None:
    """The importer's table with one header name changed (or removed)."""
    folded = {k: dict(v) for k, v in csv_headers._FOLDED.items()}
    if english is None:
        folded[language].pop(local.casefold())
    else:
        folded[language][local.casefold()] = english
    monkeypatch.setattr(csv_headers, "_FOLDED", folded)


@pytest.mark.parametrize(
    ("generation", "language", "local", "english"),
    [
        # the German date column under the wrong name: what the first importer shipped
        ("de92", "de", "Aktivitätsdatum", None),
        # the French moving time taken for the elapsed time
        ("fr103", "fr", "Durée de déplacement", "Elapsed Time"),
        # the English metres column read as the display distance
        ("en94", "en", "Distance", "Max Speed"),
    ],
)
def test_one_wrong_header_name_in_the_importer_fails_the_checks(
    tmp_path, monkeypatch, generation, language, local, english
):
    truth = write_export(
        tmp_path / "export.zip", activities=20, anchor=ANCHOR, generation=generation, damage=False
    )
    check_import(Duck(tmp_path / "right"), Duck(tmp_path / "right").run(tmp_path / "export.zip"),
                 truth)  # fmt: skip
    _table_with(monkeypatch, language, local, english)
    wrong = Duck(tmp_path / "wrong")
    report = wrong.run(tmp_path / "export.zip")
    with pytest.raises(AssertionError):
        check_import(wrong, report, truth)
