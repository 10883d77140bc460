"""What reading a file produces: a :class:`Table` of raw cells and the :class:`Problem` list."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._lazy import lazy_import

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)


@dataclass
class Problem:
    """One problem at one place. ``cell`` is ``G17`` (CSV: ``record 5 (line 6)``).

    ``message`` does not repeat the cell: show it as ``f"{p.ref}: {p.message}"``.
    """

    sheet: str | None
    row: int | None
    column: str | None
    cell: str
    value: Any
    rule: str
    message: str
    hint: str = ""
    index: int | None = None  # position of the row in Table.raw / report.frame (None: file-level)
    at: str | None = None  # the column whose cell is meant, when it differs from ``column``
    involves: tuple[str, ...] = ()  # every column a cross-field rule judged (default: ``column``)
    preexisting: bool = False  # an error already in the store, in cells the file did not change
    #: "error" | "warning": the rule's, from ``schemas/rules.csv``, the one place it is stated
    severity: str = field(init=False)

    def __post_init__(self) -> None:
        self.severity = rule_severity(self.rule)

    def to_json(self) -> dict:
        return self.to_dict()

    def to_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "cell": self.cell,
                "value": _jsonable(self.value), "rule": self.rule, "severity": self.severity,
                "preexisting": self.preexisting, "message": self.message, "hint": self.hint}

    @property
    def ref(self) -> str:
        """``Inventory List!G17`` (or just the cell for CSV)."""
        return f"{self.sheet}!{self.cell}" if self.sheet and self.cell else (self.cell or self.sheet or "")


_severity = None  # validation.rules.severity, once first needed (that package imports this one)


def rule_severity(rule: str) -> str:
    """:func:`inventory_tools.validation.rules.severity`: the severity ``schemas/rules.csv`` gives
    ``rule`` (a rule it lacks is a KeyError: every rule is listed there)."""
    global _severity
    if _severity is None:
        from ..validation.rules import severity

        _severity = severity
    return _severity(rule)


def _jsonable(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        if isinstance(value, float) and value != value:
            return None
        return value
    return str(value)


@dataclass
class Table:
    path: Path
    kind: str  # "xlsx" | "ods" | "csv"
    sheet: str | None
    row_numbers: list[int]
    column_letters: dict[str, str]
    manifest: dict | None = None
    problems: list[Problem] = field(default_factory=list)
    cell_flags: dict[tuple[int, str], str] = field(default_factory=dict)  # (row index, column) -> flag
    line_numbers: list[int] | None = None  # CSV: first physical line of each record
    header_row: int = 1
    sheet_names: list[str] = field(default_factory=list)
    extra_columns: dict[str, str] = field(default_factory=dict)  # header text -> letter (ignored)
    encoding: str | None = None
    # column → (codes, uniques) as pandas.factorize gives them for ``raw`` (blank = -1); lets
    # validation work once per distinct value. Kept in step with ``raw`` by this module.
    factors: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    reader: str = ""  # what read the cells: "fastexcel", "python-calamine (why)", "csv"
    _cells: pd.DataFrame | None = field(default=None, repr=False)  # ``raw``, once built or given

    @property
    def raw(self) -> pd.DataFrame:
        """The cells as an object frame (blank = None), one column per recognised column, built
        from ``factors`` on first use: validation reads the factorised columns and single cells
        (:meth:`cell`), so a checked file never pays for this frame (96 columns × 100,000 rows
        of object pointers, 0.2 s)."""
        if self._cells is None:
            from .build import cells_frame

            self._cells = cells_frame(self.factors, len(self.row_numbers))
        return self._cells

    @raw.setter
    def raw(self, frame: pd.DataFrame) -> None:
        self._cells = frame

    @property
    def columns(self) -> list[str]:
        """The recognised columns, in the file's order."""
        return list(self.factors) if self._cells is None else list(self._cells.columns)

    def cell(self, column: str, index: int):
        """The value of one cell as read (None: blank), row ``index`` of column ``column``."""
        held = self.factors.get(column)
        if held is not None and self._cells is None:
            code = held[0][index]
            return held[1][code] if code >= 0 else None
        return self.raw[column].iat[index]

    def blank_cell(self, index: int, column: str) -> None:
        """Read one cell as blank from here on (an error cell, a formula without a value)."""
        if column in self.factors:
            self.factors[column][0][index] = -1
        if self._cells is not None or column not in self.factors:
            self.raw.iat[index, self.raw.columns.get_loc(column)] = None

    def release_cells(self) -> None:
        """Drop the cell values (hundreds of MB for a big sheet) once they have been validated;
        the addresses (rows, letters) stay for reports."""
        self._cells = pd.DataFrame(columns=self.columns)
        self.factors = {}

    def cell_ref(self, index: int, column: str) -> str:
        """Where row ``index`` / ``column`` is in the file: ``G17`` or ``record 5 (line 6)``."""
        if self.kind == "csv":
            line = self.line_numbers[index] if self.line_numbers else None
            rec = self.row_numbers[index]
            return f"record {rec} (line {line})" if line else f"record {rec}"
        letter = self.column_letters.get(column, "")
        return f"{letter}{self.row_numbers[index]}"

    def sheet_cell(self, index: int, column: str) -> tuple[int, str] | None:
        """(row, letter) in a spreadsheet view of the file (CSV: record N is row N+1)."""
        letter = self.column_letters.get(column)
        if letter is None:
            return None
        return self.row_numbers[index] + (1 if self.kind == "csv" else 0), letter
