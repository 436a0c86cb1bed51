"""Spreadsheets in and out for contact import and export (D4).

Reading gives a header and rows of strings, whatever the file: CSV in UTF-8 (with or without a BOM), UTF-16 (Excel's
"Unicode text") or Big5 (older Traditional Chinese Excel), or XLSX streamed with openpyxl's read-only mode, so a
large workbook never sits in memory. Writing gives CSV with a UTF-8 BOM (Excel then opens Chinese correctly) or a
write-only XLSX.
"""

import codecs
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterator

from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError

MAX_FILE_BYTES = 50 * 1024 * 1024  # 100,000 rows of a dozen columns are about 10 MB as XLSX, 15 MB as CSV
MAX_ROWS = 200_000  # data rows (after the header); a larger list is split into several files
SNIFF_BYTES = 64 * 1024
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,}$")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _file_error(message) -> ServiceError:
    return ServiceError(message, field="file")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: how spreadsheets name columns (CSV files open in them too)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_text(value) -> str:
    """A cell as the text a person typed: whole numbers without ".0", dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value).strip()


def _headers(cells: list[str]) -> list[str]:
    """Column names from the first row: blanks are named by their letter, repeats get " (2)", " (3)"…"""
    names: list[str] = []
    for index, cell in enumerate(cells):
        name = cell.strip() or _("Column %(letter)s") % {"letter": column_letter(index)}
        base, n = name, 2
        while name in names:
            name = f"{base} ({n})"
            n += 1
        names.append(name)
    return names


def _check_header(cells: list[str]) -> None:
    looks_like_data = [c for c in cells if _EMAIL_LIKE.match(c) or _PHONE_LIKE.match(c)]
    if looks_like_data:
        raise _file_error(_("The first row must name the columns (for example name, phone, email), but it holds "
                            "data such as “%(value)s”. Add a header row and upload the file again.")
                          % {"value": looks_like_data[0]})


class Table:
    """An opened spreadsheet: `headers`, and `rows()` yielding (row number as the spreadsheet shows it, cells)."""

    kind = ""

    def __init__(self):
        self.headers: list[str] = []
        self.header_row = 1

    def _raw_rows(self) -> Iterator[list[str]]:
        raise NotImplementedError

    def _start(self) -> None:
        """Find the header: the first row with anything in it."""
        self._iter = self._numbered()
        for number, cells in self._iter:
            if any(cells):
                _check_header([c for c in cells if c])
                self.headers = _headers(cells)
                self.header_row = number
                return
        raise _file_error(_("The file is empty: it needs a header row and at least one row of contacts."))

    def _numbered(self) -> Iterator[tuple[int, list[str]]]:
        for number, cells in enumerate(self._raw_rows(), start=1):
            yield number, cells

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Data rows after the header, blank rows skipped, each padded or cut to the header's width."""
        width = len(self.headers)
        for number, cells in self._iter:
            if not any(cells):
                continue
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            yield number, cells[:width]

    def estimated_rows(self) -> int | None:
        """The number of data rows when the file says so without reading it all (XLSX dimensions), else None."""
        return None

    def close(self) -> None:
        pass


class CsvTable(Table):
    kind = "csv"

    def __init__(self, file, encoding: str, dialect):
        super().__init__()
        self.encoding = encoding
        self._text = io.TextIOWrapper(file, encoding=encoding, newline="")
        self._reader = csv.reader(self._text, dialect)
        self._start()

    def _raw_rows(self):
        try:
            for cells in self._reader:
                yield [c.strip() for c in cells]
        except UnicodeDecodeError:
            raise _file_error(_("Row %(row)s is not readable text (the file mixes encodings). Save it again as "
                                "“CSV UTF-8” and upload it.") % {"row": self._reader.line_num + 1}) from None
        except csv.Error as exc:
            raise _file_error(_("Row %(row)s could not be read as CSV: %(problem)s")
                              % {"row": self._reader.line_num, "problem": exc}) from None

    def close(self):
        self._text.detach()


class XlsxTable(Table):
    kind = "xlsx"

    def __init__(self, file):
        super().__init__()
        import openpyxl

        try:
            self._book = openpyxl.load_workbook(file, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            raise _file_error(_("This is not a readable XLSX workbook. Open it in Excel, save it as .xlsx or .csv, "
                                "and upload it again.")) from None
        if not self._book.worksheets:
            raise _file_error(_("The workbook has no sheets."))
        self._sheet = self._book.worksheets[0]
        self._start()

    def _raw_rows(self):
        try:
            for cells in self._sheet.iter_rows(values_only=True):
                yield [cell_text(c) for c in cells]
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise _file_error(_("The workbook is damaged and could not be read to the end: %(problem)s")
                              % {"problem": exc}) from None

    def estimated_rows(self):
        """From the sheet's <dimension> (Excel writes it), else by counting <row> tags in the sheet's XML without
        parsing cells (openpyxl's write-only files, our own exports, have no dimension): a tenth of a full read.
        Rows with only formatting count too, so this is an upper bound."""
        max_row = self._sheet.max_row
        if max_row and max_row > 1:
            return max(max_row - self.header_row, 0)
        try:
            rows, tail = 0, b""
            with self._sheet._get_source() as xml:  # the zip member openpyxl itself streams the sheet from
                while chunk := xml.read(1 << 20):
                    data = tail + chunk  # a tag split across two chunks is whole here; one inside tail was counted
                    rows += len(_ROW_TAG.findall(data)) - len(_ROW_TAG.findall(tail))
                    tail = data[-16:]
            return max(rows - self.header_row, 0)
        except Exception:  # noqa: BLE001  (an unusual workbook: the caller counts by reading it)
            return None

    def close(self):
        self._book.close()


def _sniff_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise _file_error(_("This file is neither CSV nor XLSX. Save it from Excel as .xlsx or “CSV UTF-8”."))
    for encoding in ("utf-8", "cp950", "big5hkscs"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    raise _file_error(_("The text encoding of this CSV is not UTF-8 or Big5. Save it from Excel as “CSV UTF-8”."))


def _sniff_dialect(sample: str):
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def table_open(file) -> Table:
    """Open an uploaded CSV or XLSX (a binary, seekable file object). Whole-file problems are a ServiceError on
    field "file" that says what to do."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if not head:
        raise _file_error(_("The file is empty: it needs a header row and at least one row of contacts."))
    if head.startswith(b"PK\x03\x04"):
        return XlsxTable(file)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error(_("This is an old Excel .xls file. Open it in Excel and save it as .xlsx or “CSV UTF-8”."))
    encoding = _sniff_encoding(head)
    sample = codecs.getincrementaldecoder(encoding)(errors="ignore").decode(head, final=False)
    return CsvTable(file, encoding, _sniff_dialect(sample[:16 * 1024]))


def table_count(file) -> int:
    """How many data rows (non-blank, after the header) the file has, reading it all: the size check before
    anything is written, and the total the progress bar counts towards."""
    table = table_open(file)
    try:
        count = 0
        for _row in table.rows():
            count += 1
            if count > MAX_ROWS:
                break
        return count
    finally:
        table.close()
        file.seek(0)


# --- writing ---------------------------------------------------------------------------------------------------


_NUMBER_LIKE = re.compile(r"^[+-]?[\d\s().]*$")


def _inert(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection): a leading =, @, tab or CR, or a + or - that
    does not start a number or phone, gets a quote mark in front, which Excel shows as plain text."""
    if text and (text[0] in "=@\t\r" or (text[0] in "+-" and not _NUMBER_LIKE.match(text))):
        return "'" + text
    return text


class CsvWriter:
    """CSV with a UTF-8 byte order mark: Excel guesses the encoding from it, so Chinese names stay readable."""

    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def __init__(self, file):
        self._file = file
        self._text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._text)

    def row(self, cells: list) -> None:
        self._writer.writerow(["" if c is None else _inert(c) if isinstance(c, str) else c for c in cells])

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


class XlsxWriter:
    """A write-only workbook: rows go straight to the file instead of being held in memory."""

    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, file, *, title: str = "Contacts"):
        import openpyxl

        self._file = file
        self._book = openpyxl.Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title=title[:31])

    def row(self, cells: list) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        out = []
        for value in cells:
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters are not allowed in XLSX
            if isinstance(value, str) and value.startswith("="):
                value = WriteOnlyCell(self._sheet, value=value)
                value.data_type = "s"  # text, never a formula
            out.append(value)
        self._sheet.append(out)

    def close(self) -> None:
        self._book.save(self._file)


WRITERS = {"csv": CsvWriter, "xlsx": XlsxWriter}
