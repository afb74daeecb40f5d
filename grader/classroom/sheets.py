"""CSV files an office can open safely: every CSV the kit writes goes through here.

A spreadsheet reads a cell that starts with `=`, `+`, `-` or `@` as a formula (and a tab or a
carriage return can hide one), so an entry named `=HYPERLINK(...)` or a note quoting student
code would run in the instructor's LibreOffice or Excel. OWASP's rule for CSV injection: such a
text cell gets a leading `'`, which spreadsheets show as text and never evaluate. Numbers are
written as numbers (a score of -2 stays a number). The file starts with a UTF-8 byte-order mark,
without which office suites guess a legacy encoding and show "José" as "JosÃ©".

    write_csv(path, header, rows)    # atomically, neutralised, with the mark
    read_csv(path) -> list of dicts  # the values as they were, the quotes taken off again
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

BOM = "\ufeff"
FORMULA_START = "=+-@\t\r"
# a text cell a spreadsheet would read as a formula; quotes already in front count too, so
# that taking one quote off on reading gives back exactly what was written
_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
_QUOTED = re.compile(r"'+[=+\-@\t\r]")

Cell = str | int | float | None


def neutralise(text: str) -> str:
    """`text` as a cell no spreadsheet evaluates: a `'` in front when it could start a formula."""
    return "'" + text if _NEEDS_QUOTE.match(text) else text


def restore(cell: str) -> str:
    """The text `neutralise` was given."""
    return cell[1:] if _QUOTED.match(cell) else cell


def cell(value: Cell) -> str:
    """A number as a number ("10", "-2.5"), None as a blank, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{value:g}"
    return neutralise(str(value))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """The CSV text, byte-order mark first; every cell through `cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, what office suites expect
    writer.writerow([cell(h) for h in header])
    writer.writerows([cell(v) for v in row] for row in rows)
    return BOM + out.getvalue()


def write_atomically(path: Path, text: str) -> None:
    """Write `path` so that it holds either the old text or the new, never part of one; with
    the permissions of any file the user writes (0644 under the usual umask 022, 0640 under
    027: the group reads the report), not the 0600 of mkstemp's temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it: put back at once
    os.umask(mask)
    return mask


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
    write_atomically(path, csv_text(header, rows))


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV (the kit's, or an instructor's: a byte-order mark or none, cells
    separated by commas, semicolons or tabs), each a dict keyed by the header; the neutralising
    quotes taken off. Raises ValueError when it is not UTF-8."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc}): save it as CSV UTF-8") from None
    first = text.split("\n", 1)[0]
    # a spreadsheet set to a European locale writes `;` between cells, some tools a tab
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = [[restore(c) for c in row] for row in reader]
    rows = [r for r in rows if any(c.strip() for c in r)]  # blank lines, trailing commas
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    return [dict(zip(header, r + [""] * (len(header) - len(r)))) for r in rows[1:]]
