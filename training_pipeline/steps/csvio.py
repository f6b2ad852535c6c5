"""Reading and writing the step CSVs: header checks, explicit dtypes, row locations.

Rows are located as ``file:line`` (the header is line 1), so that a validation message points
at the place to fix in the input file.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

if __package__:  # see steps/__init__.py
    from . import schema
    from .errors import DataValidationError
else:
    import schema
    from errors import DataValidationError


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


def column_problems(columns: Sequence[str], where: str) -> list[str]:
    """Missing and unexpected columns, compared with the schema."""
    problems = []
    present = set(columns)
    missing = [c for c in schema.COLUMNS if c not in present]
    extra = [c for c in columns if c not in schema.COLUMNS]
    if missing:
        problems.append(f"{where} is missing column(s) {_quoted(missing)}")
    if extra:
        problems.append(f"{where} has unexpected column(s) {_quoted(extra)}")
    return problems


def read_csvs(paths: Sequence[Path]) -> tuple[pd.DataFrame, RowLocator]:
    """Read and concatenate CSVs with the schema's columns, in schema order.

    Numeric columns are parsed straight to float64. A file with a non-numeric cell is re-read
    with inferred dtypes, so the offending column arrives as strings and validation can name
    the cells; only that file pays for the slower read.
    """
    problems = []
    for path in paths:
        try:
            header = pd.read_csv(path, nrows=0).columns
        except pd.errors.EmptyDataError:
            problems.append(f"{path.name} is empty (no header row)")
            continue
        except UnicodeDecodeError:
            problems.append(f"{path.name} is not UTF-8 text")
            continue
        problems += column_problems(list(header), path.name)
    if problems:
        raise DataValidationError("; ".join(problems))

    frames = [_read_one(path) for path in paths]
    sizes = [len(f) for f in frames]
    if sum(sizes) == 0:
        names = ", ".join(p.name for p in paths)
        verb = "has" if len(paths) == 1 else "have"
        raise DataValidationError(f"no data rows: {names} {verb} only a header row")
    starts = tuple(int(s) for s in np.cumsum([0, *sizes[:-1]]))
    locator = RowLocator(tuple(p.name for p in paths), starts)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return frame, locator


def _read_one(path: Path) -> pd.DataFrame:
    # The header was checked, so every column is a schema column; no usecols, which would
    # silently drop the surplus fields of a malformed row instead of failing on it.
    dtypes = dict.fromkeys(schema.COLUMNS, "float64")
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
    if list(frame.columns) == schema.COLUMNS:
        return frame
    return frame[schema.COLUMNS]


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write with a header and no index; floats are written in their shortest exact form."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False, lineterminator="\n")
    return target


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)
