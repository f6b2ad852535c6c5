"""Reading and writing the step CSVs: header checks, explicit dtypes, row locations.

Rows are located as ``file:line`` (the header is line 1), so that a validation message points
at the place to fix in the input file.
"""

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

if __package__:  # see steps/__init__.py
    from .errors import DataValidationError
    from .schema import Schema
else:
    from errors import DataValidationError
    from schema import Schema


@dataclass(frozen=True)
class RowLocator:
    """Maps a row position of the concatenated frame back to its file and line."""

    names: tuple[str, ...]
    starts: tuple[int, ...]  # position of each file's first data row in the concatenation

    def describe(self, positions: Sequence[int]) -> list[str]:
        """``file:line`` for each 0-based row position."""
        starts = np.asarray(self.starts)
        files = np.searchsorted(starts, positions, side="right") - 1
        return [
            f"{self.names[f]}:{int(p) - int(starts[f]) + 2}"
            for f, p in zip(files, positions, strict=True)
        ]


def list_csv_files(directory: str | Path) -> list[Path]:
    """Every ``*.csv`` file directly in ``directory``, sorted by name."""
    folder = Path(directory)
    if not folder.is_dir():
        raise DataValidationError(f"input folder {folder} does not exist")
    files = sorted(p for p in folder.glob("*.csv") if p.is_file())
    if not files:
        others = sorted(p.name for p in folder.iterdir())[:5]
        seen = f" (it holds: {', '.join(others)})" if others else " (it is empty)"
        raise DataValidationError(f"no *.csv files in {folder}{seen}")
    return files


def column_problems(columns: Sequence[str], where: str, schema: Schema) -> list[str]:
    """Duplicated, missing and unexpected columns, compared with the schema."""
    # A data row where the header should be: numbers and empty cells (no schema name is either).
    if columns and all(_is_number(c) or not c.strip() for c in columns):
        return [f"{where} has no header row (its first line is numbers)"]
    problems = []
    counts = Counter(columns)
    twice = [c for c, n in counts.items() if n > 1]
    if twice:
        problems.append(f"{where} has column(s) {_quoted(twice)} more than once")
    missing = [c for c in schema.columns if c not in counts]
    extra = [c for c in counts if c not in schema.columns]
    if missing:
        problems.append(f"{where} is missing column(s) {_quoted(missing)}")
    if extra:
        problems.append(f"{where} has unexpected column(s) {_quoted(extra)}")
    return problems


def header(path: Path) -> list[str]:
    """The names of a CSV's first non-blank line exactly as written (pandas skips blank lines
    and renames a repeated name)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next((row for row in csv.reader(handle) if row), [])


def read_csvs(paths: Sequence[Path], schema: Schema) -> tuple[pd.DataFrame, RowLocator]:
    """Read and concatenate CSVs with the schema's columns, in schema order.

    Numeric columns are parsed straight to float64. A file with a non-numeric cell is re-read
    with inferred dtypes, so the offending column arrives as strings and validation can name
    the cells; only that file pays for the slower read.
    """
    problems = []
    for path in paths:
        try:
            names = header(path)
        except UnicodeDecodeError:
            problems.append(f"{path.name} is not UTF-8 text")
            continue
        if not names:
            problems.append(f"{path.name} is empty (no header row)")
            continue
        problems += column_problems(names, path.name, schema)
    if problems:
        raise DataValidationError("; ".join(problems))

    frames = [_read_one(path, schema) for path in paths]
    sizes = [len(f) for f in frames]
    if sum(sizes) == 0:
        names = ", ".join(p.name for p in paths)
        verb = "has" if len(paths) == 1 else "have"
        raise DataValidationError(f"no data rows: {names} {verb} only a header row")
    starts = tuple(int(s) for s in np.cumsum([0, *sizes[:-1]]))
    locator = RowLocator(tuple(p.name for p in paths), starts)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return frame, locator


def _read_one(path: Path, schema: Schema) -> pd.DataFrame:
    # The header was checked, so every column is a schema column; no usecols, which would
    # silently drop the surplus fields of a malformed row instead of failing on it.
    dtypes = dict.fromkeys(schema.columns, "float64")
    try:
        try:
            frame = pd.read_csv(path, dtype=dtypes)
        except pd.errors.ParserError:
            raise
        except ValueError:  # a cell that is not a number: let validation name it
            frame = pd.read_csv(path, low_memory=False)
    except pd.errors.ParserError as error:
        message = str(error).strip()
        raise DataValidationError(f"{path.name} is not a well-formed CSV: {message}") from None
    except UnicodeDecodeError as error:
        raise DataValidationError(f"{path.name} is not UTF-8 text: {error}") from None
    _refuse_short_rows(path, frame)
    if list(frame.columns) == schema.columns:
        return frame
    return frame[schema.columns]


def _refuse_short_rows(path: Path, frame: pd.DataFrame) -> None:
    """A row with fewer fields than the header, which pandas pads with NaN, named as such.

    Only rows whose last field is empty can be short, so only their lines are read again.
    """
    suspects = np.flatnonzero(frame[frame.columns[-1]].isna().to_numpy())
    if not suspects.size:
        return
    wanted, width, short = set((suspects + 1).tolist()), len(frame.columns), []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        # Records as pandas counts them (empty lines skipped, quoted newlines inside a field),
        # each reported at the file line where it ends.
        reader = csv.reader(handle)
        records = ((reader.line_num, row) for row in reader if row)
        for index, (line, row) in enumerate(records):
            if index in wanted and len(row) < width:
                short.append(f"{path.name}:{line} ({len(row)} fields)")
    if short:
        raise DataValidationError(
            f"{path.name} has {len(short)} short row(s), with fewer fields than its header's "
            f"{width} (first at {', '.join(short[:5])})"
        )


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write with a header and no index; floats are written in their shortest exact form."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False, lineterminator="\n")
    return target


def _quoted(names: Sequence[str], most: int = 5) -> str:
    # A file with another table's header would otherwise list dozens of names on one line.
    shown = ", ".join(f"'{n}'" for n in names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
