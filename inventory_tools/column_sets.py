"""``export --columns``: a named column set from ``templates/columns/`` (one small text file per
set: one column name per line, ``#`` notes, ``@required`` for the column table's required
columns), the path of such a file, or a comma list of column names.

ProductCode always comes first and Name second; the other columns keep the order given.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from . import columns as cols
from .errors import UsageError
from .resources import resource_path
from .values import fold

SETS_FOLDER = ("templates", "columns")
REQUIRED = "@required"
ALWAYS_FIRST = (cols.KEY, "Name")


@dataclass(frozen=True)
class ColumnChoice:
    """The columns an export writes, and how they were asked for (for the manifest)."""

    names: tuple[str, ...]
    set_name: str  # "all", a set's name, a file's path, or "list"

    @property
    def is_all(self) -> bool:
        return self.set_name == "all"


def all_columns() -> ColumnChoice:
    return ColumnChoice(tuple(cols.names()), "all")


def set_names() -> list[str]:
    """The shipped column sets, by name."""
    return sorted(p.stem for p in resource_path(*SETS_FOLDER).glob("*.txt"))


def set_path(name: str) -> Path | None:
    folder = resource_path(*SETS_FOLDER)
    for p in folder.glob("*.txt"):
        if fold(p.stem) == fold(name):
            return p
    return None


def choose(spec: str | None) -> ColumnChoice:
    """``--columns`` → the columns to write (every column when ``spec`` is empty)."""
    if spec is None or not spec.strip():
        return all_columns()
    spec = spec.strip()
    if "," not in spec:
        found = set_path(spec)
        if found is not None:
            return ColumnChoice(_ordered(read_set(found), f"column set {found.stem}"), found.stem)
        as_file = Path(spec).expanduser()
        if as_file.suffix.lower() == ".txt" or "/" in spec or "\\" in spec:
            if not as_file.is_file():
                raise UsageError(f"--columns {spec}: no such column set file",
                                 f"give a set ({', '.join(set_names())}), a file of column names, "
                                 "or a comma list such as --columns PriceTier1,Status")
            return ColumnChoice(_ordered(read_set(as_file), f"{as_file}"), str(as_file))
        if _match(spec) is None:
            raise UsageError(f"--columns {spec}: not a column set or a column name", _suggest(spec))
    names = [part.strip() for part in spec.split(",") if part.strip()]
    return ColumnChoice(_ordered(names, "--columns"), "list")


def read_set(path: Path) -> list[str]:
    """The column names a set file lists (``@required`` expanded), in its order."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read column set {path}: {exc}", "check the file; it is one column name per line")
    names: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if fold(line) == REQUIRED:
            names += cols.required_when_active()
        else:
            names.append(line)
    return names


def _ordered(names: list[str], where: str) -> tuple[str, ...]:
    """Canonical names, ProductCode and Name first, each once; unknown names are a usage error."""
    canonical = []
    for typed in names:
        name = _match(typed)
        if name is None:
            raise UsageError(f"{where}: {typed!r} is not a column", _suggest(typed))
        canonical.append(name)
    rest = [n for n in dict.fromkeys(canonical) if n not in ALWAYS_FIRST]
    return (*ALWAYS_FIRST, *rest)


def _match(typed: str) -> str | None:
    """A column name as typed (any case, surrounding spaces) → its canonical name."""
    return {fold(n): n for n in cols.names()}.get(fold(typed))


def _suggest(typed: str) -> str:
    options = {fold(n): n for n in cols.names()}
    options.update({fold(s): f"the column set {s}" for s in set_names()})
    close = difflib.get_close_matches(fold(typed), list(options), n=1, cutoff=0.6)
    head = f"did you mean {options[close[0]]}? " if close else ""
    return (head + f"column sets: {', '.join(set_names())}; or column names separated by commas "
            "(see the header of a full export)")
