"""The service catalogue as admins write it (YAML or Excel): read, and where it is wrong, said where; and
`kambot serve` stopping with that one line rather than starting without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from kam.catalogue import Catalogue, CatalogueError
from kam.topics import read

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "deploy" / "services.example.yaml"


def load_yaml(folder: Path, text: str) -> Catalogue:
    path = folder / "services.yaml"
    path.write_text(text, encoding="utf-8")
    return Catalogue.load(path)


def test_the_demo_catalogue_names_every_service_in_five_languages() -> None:
    catalogue = Catalogue.load(DEMO)
    assert catalogue.languages == ("en", "de", "fr", "it", "es")
    assert len(catalogue.services) >= 15
    training = catalogue.get("onsite-training")
    assert (
        training is not None
        and training.name("de-DE") == "Vor-Ort-Schulung"
        and training.name("pt") == "On-site training"
    )
    # Found in text in any of its languages and forms, with the words as written.
    found = {service for service, _ in catalogue.places(read("Zwei Vor-Ort-Schulungen und die Montage in Linz"))}
    assert found == {"onsite-training", "installation"}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("services: []", "services: list at least one service"),
        ("- just a list", "expected the sections languages and services"),
        (
            "services:\n  - id: On Site\n    names: {en: On-site}",
            "services[0].id: lower-case letters, digits and hyphens",
        ),
        ("services:\n  - id: a\n    names: {}", "services[0] (a).names: give at least one name"),
        ("services:\n  - id: a\n    names: {pt: Formação}", "services[0] (a).names.pt: not one of the languages"),
        (
            "languages: [en, de]\nservices:\n  - id: a\n    names: {en: Training}",
            "services[0] (a).names: no name in de (languages lists it)",
        ),
        (
            "services:\n  - {id: a, names: {en: Alpha}}\n  - {id: a, names: {en: Beta}}",
            "services[1]: the id 'a' is already used by services[0]",
        ),
        (
            "services:\n  - id: a\n    names: {en: Alpha}\n    synonyms: {en: ['']}",
            "services[0] (a).synonyms.en: empty",
        ),
        ("languages: [en, xx]\nservices: []", "languages: xx not one of en, de, fr, it, es"),
        ("services: [\n", "services.yaml: while parsing"),
        ("services:\n  - id: a\n    names: {en: Alpha, EN: Beta}", "services[0] (a).names.EN: en is given twice"),
        (
            "services:\n  - id: a\n    names: {en: Training}\n    synonyms: {en: [the]}",
            "services[0] (a).synonyms.en: 'the' has only common words or numbers",
        ),
    ],
)
def test_a_catalogue_that_cannot_be_used_says_where(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(CatalogueError) as error:
        load_yaml(tmp_path, text)
    assert where in str(error.value)


def test_an_excel_catalogue_reads_like_the_yaml_and_says_which_row_is_wrong(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["id", "name_en", "name_de", "synonyms_de"])
    sheet.append(["onsite-training", "On-site training", "Vor-Ort-Schulung", "Schulung; Einweisung"])
    sheet.append([None, None, None, None])  # an empty row in between is no service
    sheet.append(["calibration", "Calibration", "Kalibrierung", None])
    path = tmp_path / "services.xlsx"
    book.save(path)
    catalogue = Catalogue.load(path)
    assert [s.id for s in catalogue.services] == ["onsite-training", "calibration"]
    assert catalogue.get("onsite-training").synonyms == {"de": ("Schulung", "Einweisung")}  # type: ignore[union-attr]
    assert catalogue.languages == ("en", "de")

    sheet.append(["repair", "Repair", None, None])
    book.save(path)
    with pytest.raises(CatalogueError, match=r"row 5 \(repair\)\.names: no name in de"):
        Catalogue.load(path)
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(CatalogueError, match="not an Excel workbook"):
        Catalogue.load(tmp_path / "broken.xlsx")


def test_serve_with_a_catalogue_it_cannot_use_stops_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "services.yaml"
    bad.write_text("services:\n  - id: Bad Id\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "KAMBOT_SERVICES_FILE": str(bad), "KAMBOT_DATABASE_URL": "sqlite+aiosqlite://"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "KAMBOT_SERVICES_FILE cannot be used:" in output and "services[0].id: lower-case letters" in output
    assert "Traceback" not in output
