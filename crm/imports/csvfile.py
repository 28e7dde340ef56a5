"""Reading an uploaded CSV file: its encoding, its delimiter, its rows with their line numbers.

What spreadsheets write: UTF-8 with or without a byte order mark (Excel's "CSV UTF-8"),
Windows-1252 (Excel's plain "CSV" on a German Windows), UTF-16 (Excel's "Unicode text"), and a
``;`` as delimiter where the decimal separator is a comma (German Excel), else ``,`` or a tab.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import gettext as _

DELIMITERS = (";", ",", "\t")
_SAMPLE_LINES = 20


class FileError(ValueError):
    """The file cannot be read as a CSV table; the message says why, for the user."""


@dataclass(frozen=True)
class Table:
    text: str
    encoding: str
    delimiter: str
    header: list[str]
    rows: int


def decode(data: bytes) -> tuple[str, str]:
    """The text of the file and the name of its encoding."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise FileError(_("The file says it is UTF-8 but is not.")) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise FileError(_("The file says it is UTF-16 but is not.")) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        raise FileError(_("The file's encoding is not known. Save it as “CSV UTF-8”.")) from None


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same, largest number of columns."""
    sample = "\n".join(text.splitlines()[:_SAMPLE_LINES])
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not widths:
            continue
        consistent = sum(1 for w in widths if w == widths[0])
        score = (widths[0], consistent) if widths[0] > 1 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-empty data row; the header is line 1. A quoted cell may
    span lines: the number is that of the row's first line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for i, cells in enumerate(reader):
            line, start = start, reader.line_num + 1
            if i == 0 or not any(c.strip() for c in cells):
                continue
            yield line, cells
    except csv.Error as err:
        raise FileError(_("Line %(n)d cannot be read: %(e)s", n=reader.line_num, e=str(err))) from None


def read(data: bytes, max_rows: int) -> Table:
    """Decode and check a file: a header with at least one named column, at least one data row,
    at most ``max_rows`` of them."""
    if not data.strip():
        raise FileError(_("The file is empty."))
    text, encoding = decode(data)
    text = text.replace("\x00", "")
    delimiter = sniff_delimiter(text)
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except (StopIteration, csv.Error):
        raise FileError(_("The file has no header line.")) from None
    header = [h.strip() for h in header]
    if not any(header):
        raise FileError(_("The first line must name the columns."))
    count = 0
    for _line, _cells in rows(text, delimiter):
        count += 1
        if count > max_rows:
            raise FileError(_("The file has more than %(n)s rows. Split it into smaller files.", n=f"{max_rows:,}"))
    if not count:
        raise FileError(_("The file has a header but no rows."))
    return Table(text, encoding, delimiter, header, count)
