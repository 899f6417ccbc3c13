"""The one text cleaning every free-text field gets: a property test and an exhaustive one."""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from kam.text import clean_text, one_line

DROPPED = {"Cc", "Cf", "Cs"}
KEPT_CONTROLS = {"\n", "\t", "\r", "\x85"}  # line breaks and tabs are normalised, not dropped


def test_every_format_control_and_surrogate_code_point_is_dropped() -> None:
    """Over all of Unicode: the written-out class matches what unicodedata says is invisible."""
    missed, dropped_too_much = [], []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        kept = clean_text(f"a{char}b")
        if category in DROPPED and char not in KEPT_CONTROLS and kept != "ab":
            missed.append(f"U+{code:04X} {category}")
        visible = category not in DROPPED and category != "Cn" and not char.isspace()  # spaces stay, ends trimmed
        if visible and kept == "ab":
            dropped_too_much.append(f"U+{code:04X} {category}")
    assert not missed, missed[:20]
    assert not dropped_too_much, dropped_too_much[:20]


@given(st.text())
def test_cleaned_text_holds_nothing_invisible_and_cleaning_twice_changes_nothing(text: str) -> None:
    cleaned = clean_text(text)
    assert not [c for c in cleaned if unicodedata.category(c) in DROPPED and c != "\n"]
    assert "\r" not in cleaned and "\t" not in cleaned and "\u2028" not in cleaned
    assert clean_text(cleaned) == cleaned
    assert cleaned == cleaned.strip()
    one = one_line(text)
    assert "\n" not in one and "  " not in one and one_line(one) == one


@given(st.text(alphabet=st.characters(categories=["L", "N", "P", "S", "Zs"])))
def test_what_people_write_is_kept_as_written(text: str) -> None:
    assert clean_text(text) == text.strip()


def test_a_name_written_backwards_or_with_hidden_text_is_read_as_it_shows() -> None:
    assert clean_text("Dr.\u202e regreB annaH\u202c") == "Dr. regreB annaH"
    assert clean_text("Pay\u200bable\ufeff in\u2066 full\U000e0041") == "Payable in full"
    assert clean_text("one\r\ntwo\rthree\u2028four") == "one\ntwo\nthree\nfour"
    assert one_line("  Contoso\n\tPharma  ") == "Contoso Pharma"
