"""The Log tab's exports: files that open safely in Excel, whatever its language.

A cell a spreadsheet reads as a formula (`=`, `+`, `-`, `@`, tab, CR at its start) can
run commands or leak data when opened. The .xlsx export writes every cell as a string
(it cannot be a formula). The CSV quotes every field, so that neither separator Excel
uses (`,` in English, `;` in German) can split a cell and make a formula of its rest,
and puts a `'` before a cell that starts like a formula (Excel shows the rest as text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and their full-width forms


def guarded(text: str) -> str:
    """User text that no spreadsheet runs: a formula-like start (after blanks) gets a leading `'`."""
    return "'" + text if text.lstrip(" \u00a0")[:1] in FORMULA_STARTS or text[:1] in FORMULA_STARTS else text


def log_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows([guarded(cell) for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel reads UTF-8 then


def log_xlsx(header: Sequence[str], rows: Sequence[Sequence[str]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31] or "Log"
    for row, values in enumerate((header, *rows), start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column)
            cell.value = value
            cell.data_type = TYPE_STRING  # openpyxl would make a formula of "=..."; a string is never run
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
