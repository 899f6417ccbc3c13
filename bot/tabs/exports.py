"""The Log tab's exports: files that open safely in Excel, whatever its language.

A cell a spreadsheet reads as a formula (`=`, `+`, `-`, `@`, tab, CR at its start) can
run commands or leak data when opened. The .xlsx export writes every cell as a string
(it cannot be a formula). The CSV quotes every field and puts a `'` before anything that
would start a cell like a formula: the text's start, and whatever follows a `,` or `;`
in it. Excel splits on `,` in English and on `;` in German, and a German Excel opening a
comma file starts a new cell after each `;` the text holds, quotes or not.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING, Cell, WriteOnlyCell

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and their full-width forms


_AFTER_A_SEPARATOR = re.compile('([,;][\\s"\u00a0]*)(?=[' + re.escape("".join(FORMULA_STARTS)) + "])")


def guarded(text: str) -> str:
    """User text that no spreadsheet runs: a formula-like start (after blanks, and after each
    separator in it) gets a `'` before it."""
    text = _AFTER_A_SEPARATOR.sub(lambda m: m.group(1) + "'", text)
    return "'" + text if text.lstrip(' \u00a0"')[:1] in FORMULA_STARTS or text[:1] in FORMULA_STARTS else text


def log_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows([guarded(cell) for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel reads UTF-8 then


def log_xlsx(header: Sequence[str], rows: Sequence[Sequence[str]], title: str) -> bytes:
    book = Workbook()
    sheet = book.worksheets[0]
    sheet.title = title[:31] or "Log"
    for row, values in enumerate((header, *rows), start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column)
            cell.value = value
            cell.data_type = TYPE_STRING  # openpyxl would make a formula of "=..."; a string is never run
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_xlsx(header: Sequence[str], rows: Sequence[Sequence[str | float | int]], title: str) -> bytes:
    """A sheet of figures, written as it streams: a number stays a number, any text is written as a string
    (never a formula)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31] or "Sheet")
    for values in (header, *rows):
        sheet.append([_cell(sheet, value) for value in values])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(sheet: Any, value: str | float | int) -> Cell | float | int:
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = TYPE_STRING
    return cell
