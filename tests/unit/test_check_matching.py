"""How the checks read free text in five languages, with the demo company's catalogue: the labelled set's figures
(the targets of the issue, measured by bench/checks.py's own scoring), and single cases whose reason is plain."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from kam.catalogue import Catalogue
from kam.checks import concession_conflict, concession_words, is_framework_text
from kam.matching import Why, framework_words

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "checks"
CATALOGUE = Catalogue.load(ROOT / "deploy" / "services.example.yaml")


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_checks", ROOT / "bench" / "checks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_the_labelled_set_meets_the_targets_for_both_checks() -> None:
    scoring = bench()
    pairs = yaml.safe_load((DATA / "pairs.yaml").read_text(encoding="utf-8"))["pairs"]
    texts = yaml.safe_load((DATA / "framework_texts.yaml").read_text(encoding="utf-8"))
    languages = {p["languages"] for p in pairs}
    assert len(pairs) >= 60 and len(languages) >= 20, "five languages, many mixed pairs"
    assert len(texts["framework_agreements"]) >= 20 and len(texts["not_framework_agreements"]) >= 20
    misses: list[str] = []
    concessions = scoring.score_pairs(CATALOGUE, pairs, misses)
    agreements = scoring.score_frameworks(texts, misses)
    assert concessions.recall >= 0.95 and concessions.false_alarm_rate <= 0.05, misses
    assert agreements.recall >= 0.95 and agreements.false_alarm_rate <= 0.05, misses


def conflict(paid: str, given: str, *, ticked: bool = False, paid_service: str | None = None) -> Why | None:
    return concession_conflict(CATALOGUE, paid, paid_service, given, None, ticked=ticked)


def test_a_german_compound_and_an_english_paraphrase_are_one_service() -> None:
    why = conflict(
        "Vor-Ort-Schulung für 40 Laboranten", "Lab in Basel: on-site training for the new team free of charge"
    )
    assert why == Why("onsite-training", "Vor-Ort-Schulung", "on-site training")


def test_a_picked_service_matches_its_name_in_another_language() -> None:
    why = conflict("", "Linea 2: montaggio gratuito", paid_service="installation")
    assert why is not None and why.service == "installation" and why.second_words == "montaggio"


@pytest.mark.parametrize(
    ("paid", "given"),
    [
        ("On-site training for 12 operators", "Rotterdam: free parking at the site for all visitors"),
        ("Montage Förderanlage Halle 4", "Halle 4: Expresslieferung am Montag kostenlos"),  # Montag is a day
        ("Revisione pompe P-200", "Pompe P-200: pompa a noleggio gratuita durante la revisione"),  # the loan is free
        ("Calibration of the flow meters", "Flow meters: free express delivery of the spare parts"),
    ],
)
def test_shared_words_of_another_service_are_no_conflict(paid: str, given: str) -> None:
    assert conflict(paid, given) is None


def test_without_a_catalogue_service_the_topic_words_decide() -> None:
    assert conflict("Noise measurement at the Leipzig plant", "Noise measurements free of charge") == Why(
        None, "Noise, measurement", "Noise, measurements"
    )
    assert conflict("Noise measurement at the Leipzig plant", "Leipzig: free coffee machine for the office") is None


def test_a_discount_or_a_price_kept_is_not_a_service_given_away() -> None:
    assert conflict("Kalibrierung Werk Ulm", "Ulm: 5 % Rabatt auf die Kalibrierung", ticked=True) is None
    assert conflict("24/7 hotline, Monterrey", "Monterrey: the hotline price increase is waived") is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Eilversand der Ersatzteile berechnen wir nicht", "berechnen wir nicht"),
        ("Le visite di manutenzione non verranno fatturate", "non verranno fatturate"),
        ("Reparación del reductor sin cargo", "sin cargo"),
        ("Formation des opérateurs offerte", "offerte"),
        ("We waive the fee for the second visit", "waive"),
    ],
)
def test_concessions_are_recognised_in_each_language_with_their_words(text: str, words: str) -> None:
    assert concession_words(text) == words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Accordi quadro per i ricambi: avviata la trattativa", "Accordi quadro"),
        ("Konzern-Rahmenverträge für Pumpen verhandeln", "Rahmenverträge"),
        ("Contrat-cadre européen : première réunion", "Contrat-cadre"),
        ("We start talks on an MSA with the US entity", "MSA"),
        ("Global supply agreement for all hubs", "Global supply agreement"),
    ],
)
def test_framework_agreements_are_recognised_with_their_words(text: str, words: str) -> None:
    assert framework_words(text) == words


@pytest.mark.parametrize(
    "text",
    [
        "Abruf aus bestehendem Rahmenvertrag: 5 Pumpen bestellt",
        "Pedido bajo el acuerdo marco vigente: 4 repuestos",
        "Im Rahmen des Besuchs das Rahmenprogramm abgestimmt",
        "Quadro elettrico della linea 3 sostituito",
        "Regulatory framework for pharma pumps discussed",
    ],
)
def test_texts_that_only_look_like_a_framework_agreement_are_not_one(text: str) -> None:
    assert not is_framework_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "No framework agreement with them this year",
        "Rahmenvertrag nicht verlängert, Einzelbestellungen ab 2027",
        "RV-Pumpe P-12 getauscht",
    ],
)
def test_a_framework_agreement_refused_ended_or_only_a_pump_name_opens_none(text: str) -> None:
    assert not is_framework_text(text)


def test_an_adjective_ending_in_free_gives_nothing_away_and_a_full_discount_does() -> None:
    assert concession_words("Oil-free compressors for the clean room") is None
    assert conflict("Schulung der Bediener, Werk Ulm", "Ulm: Schulung mit 100 % Rabatt", ticked=True) is not None
    assert conflict("Schulung der Bediener, Werk Ulm", "Ulm: Schulung mit 10 % Rabatt", ticked=True) is None
