"""A workbook validated once is not read twice: ``validate`` (and ``import --dry-run``) leave
what they read and found, keyed by the file's content, for the ``import`` that follows.

Reading a 100,000-product workbook costs ~5 s (unzip, parse 180 MB of XML, convert 10 million
cells); the manager's loop is validate → fix → validate → import, so the same bytes are read
again and again. An entry holds the file as read (the parsed cells, column-wise) and the
validation report. It is used only when all of these hold, otherwise it is as if it were not
there:

* the file's bytes hash to the entry's name (SHA-256: any edit, even one of the same size and
  time, is a different file);
* the code that read and checked it is the same (a digest of this package's source and data
  files: an upgrade or a local change starts afresh);
* for the report, not just the parsed cells: it was reached in the same circumstances — the same
  store in the same state, the same export base, the same checks
  (:class:`~inventory_tools.checked_file.CheckKey`); otherwise the file is checked again, from the
  parsed cells.

Entries are pickles, so the folder must be this user's alone (not writable by others, as ssh
insists for its keys); otherwise it is neither read nor written. ``INVENTORY_TOOLS_CACHE_DIR``
names the folder (default ``$XDG_CACHE_HOME/inventory-tools``, i.e. ``~/.cache/inventory-tools``);
``off`` turns the cache off. The newest :data:`KEEP_ENTRIES` entries are kept; files of more
than :data:`MAX_ROWS` rows are not cached (an entry would take gigabytes of disk and memory).
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import pickle
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ._lazy import lazy_import

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)


CACHE_ENV = "INVENTORY_TOOLS_CACHE_DIR"
FORMAT = 2
KEEP_ENTRIES = 3
MAX_ROWS = 250_000
_SUFFIX = ".checked"
_LOCK = ".lock"
WAIT_SECONDS = 60.0  # the longest a command waits for an entry another one is still writing
_OFF = {"off", "0", "no", "false", "none"}


@dataclass
class Entry:
    """What is kept of a checked file: its table without the cell values (rebuilt from the
    factorised columns on demand) and the verdicts reached on it, by their CheckKey."""

    table: object  # reading.Table, raw cells dropped
    verdicts: dict  # CheckKey -> validation.ValidationReport (its frame as _FrameParts)


def cache_dir() -> Path | None:
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() in _OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "inventory-tools"


def _private(folder: Path, *, create: bool) -> bool:
    try:
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return False
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return False  # someone else could put an entry there, and entries are pickles
    return True


def digest_if_enabled(path) -> str | None:
    """The file's digest, or None when the cache is off or the file cannot be read (the reader
    then reports that properly)."""
    if cache_dir() is None:
        return None
    try:
        return file_digest(path)
    except OSError:
        return None


def file_digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """This package's source and data files (column table, templates), hashed."""
    from . import __version__
    from .resources import resource_path

    h = hashlib.sha256(f"{FORMAT}:{__version__}".encode())
    pkg = Path(__file__).resolve().parent
    roots = [pkg]
    for data in ("schemas", "templates"):
        try:
            roots.append(resource_path(data))
        except FileNotFoundError:
            pass
    for root in roots:
        for f in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                        and p.suffix != ".pyc" and not (root == pkg and "_data" in p.parts)):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _entry_path(folder: Path, digest: str) -> Path:
    return folder / f"{digest}{_SUFFIX}"


# -- the writer's lock: held from before the command exits until its entry is in place ------------
def _lock_path(folder: Path, digest: str) -> Path:
    return folder / f".{digest}{_LOCK}"


def _writer_lock(folder: Path, digest: str) -> int | None:
    """An exclusive lock on the entry's lock file (None where there are no such locks)."""
    try:
        import fcntl

        fd = os.open(_lock_path(folder, digest), os.O_RDWR | os.O_CREAT, 0o600)
    except (ImportError, OSError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:  # held by another writer of the same file, or no locks on this folder
        os.close(fd)
        if not isinstance(exc, BlockingIOError):  # (no locks at all: leave no lock file to wait on)
            with contextlib.suppress(OSError):
                os.unlink(_lock_path(folder, digest))
        return None  # this one writes without the lock
    return fd


def _release(lock: int | None) -> None:
    if lock is not None:
        os.close(lock)  # (the lock file stays: a reader may hold it open; pruned with the entries)


def settle(folder: Path | None = None, seconds: float | None = None) -> None:
    """Wait until no entry of the cache (``folder``: default this process's) is being written:
    what a benchmark's next step waits for."""
    folder = cache_dir() if folder is None else Path(folder)
    if folder is None or not folder.is_dir():
        return
    for lock in folder.glob(f".*{_LOCK}"):
        _wait_for_writer(folder, lock.name[1:-len(_LOCK)], seconds)


def _wait_for_writer(folder: Path, digest: str, seconds: float | None = None) -> None:
    """Until no process holds the entry's lock (at most ``seconds``, default :data:`WAIT_SECONDS`)."""
    try:
        import fcntl

        fd = os.open(_lock_path(folder, digest), os.O_RDONLY)
    except (ImportError, OSError):  # no lock file: nobody is writing it
        return
    try:
        deadline = time.monotonic() + (WAIT_SECONDS if seconds is None else seconds)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return
            except BlockingIOError:  # held: the writer is still at it
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.02)
            except OSError:  # no locks on this folder (ENOLCK...): nothing to wait for
                return
    finally:
        os.close(fd)


def load(digest: str, path) -> tuple[object, dict] | None:
    """(the table as read, its verdicts) for a file whose content hashes to ``digest`` (now at
    ``path``), or None."""
    folder = cache_dir()
    if folder is None or not _private(folder, create=False):
        return None
    entry_path = _entry_path(folder, digest)
    if not entry_path.exists():
        _wait_for_writer(folder, digest)  # the validate that just ended may still be writing it
    try:
        if hasattr(os, "getuid") and entry_path.stat().st_uid != os.getuid():
            return None
        with open(entry_path, "rb") as fh:
            head = pickle.load(fh)
            if head != (FORMAT, code_digest(), digest):
                return None
            entry = pickle.load(fh)
        os.utime(entry_path)  # recently used: pruned last
    except Exception:  # noqa: BLE001 - a missing, partial or foreign entry is simply a miss
        return None
    if not isinstance(entry, Entry) or not isinstance(entry.verdicts, dict):
        return None
    table = entry.table
    table.path = Path(path)
    # the cell values are rebuilt only if the file is checked again, and then only as needed
    for report in entry.verdicts.values():
        report.table = table
        if isinstance(report.frame, _FrameParts):
            report.frame = report.frame.rebuild()
    return table, entry.verdicts


def save(digest: str, table, verdicts: dict | None = None) -> bool:
    """Keep what was read (and found) for the file hashing to ``digest``. Never fails the
    command: a cache that cannot be written is skipped. Nothing passed in is modified.

    From the CLI the entry is written after the command has exited (:mod:`.afterwards`), under a
    lock that :func:`load` waits on: the import that follows at once still finds it."""
    folder = cache_dir()
    if folder is None or len(table.row_numbers) > MAX_ROWS or not _private(folder, create=True):
        return False
    if len(table.columns) != len(table.factors) or len(table.columns) and not table.factors:
        return False  # cells not held column-wise: nothing cheap to keep
    # the cells are rebuilt from the factorised columns on load (half the size, twice as fast);
    # likewise the checked values, from their categories. The lists are copied: the entry may be
    # written only at exit, and the command goes on with its own (an import adds problems).
    kept = dataclasses.replace(table, _cells=None, problems=list(table.problems), factors=dict(table.factors),
                               cell_flags=dict(table.cell_flags))
    stored = {key: dataclasses.replace(report, table=kept, frame=_frame_parts(report.frame, report.categorical),
                                       problems=list(report.problems))
              for key, report in (verdicts or {}).items()}
    lock = _writer_lock(folder, digest)

    def write() -> bool:
        try:
            return _write(folder, digest, kept, stored)
        finally:
            _release(lock)
    from . import afterwards

    return afterwards.later(write) or write()


def _write(folder: Path, digest: str, kept, stored: dict) -> bool:
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".part", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((FORMAT, code_digest(), digest), fh, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(Entry(kept, stored), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, _entry_path(folder, digest))
        tmp = None
    except Exception:  # noqa: BLE001 - disk full, permissions...: the command itself is unaffected
        return False
    finally:
        if tmp is not None:
            try:
                os.remove(tmp)
            except OSError:
                pass
    _prune(folder)
    return True


def _prune(folder: Path) -> None:
    """Keep the newest entries; drop partial files and locks a killed run left (older than an hour)."""
    try:
        entries = sorted(folder.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        stale = [p for pattern in (".*.part", f".*{_LOCK}") for p in folder.glob(pattern)
                 if time.time() - p.stat().st_mtime > 3600]
        for old in entries[KEEP_ENTRIES:] + stale:
            old.unlink()
    except OSError:
        pass


@dataclass
class _FrameParts:
    """A checked frame as stored: categorical columns as codes + categories, the rest as is."""
    order: list[str]
    categorical: dict[str, pd.Categorical]
    rest: pd.DataFrame

    def rebuild(self) -> pd.DataFrame:
        if len(self.rest.columns) == 0 and self.order:  # the usual case: one object block, as a reader builds it
            from .reading.build import cells_frame

            frame = cells_frame({name: (np.asarray(self.categorical[name].codes), self.categorical[name].categories)
                                 for name in self.order}, len(self.rest.index))  # (no blank code: see _frame_parts)
            frame.index = self.rest.index
            return frame
        data = {}
        for name in self.order:
            if name in self.categorical:
                cat = self.categorical[name]
                values = np.asarray(cat.categories, dtype=object)[np.asarray(cat.codes)]
                data[name] = pd.Series(values, index=self.rest.index, dtype=object, copy=False)
            else:
                data[name] = self.rest[name]
        return pd.DataFrame(data, index=self.rest.index)


def _frame_parts(frame: pd.DataFrame, categorical: dict) -> _FrameParts:
    """Checked columns kept as their categories' codes: validation builds each column and its
    categories from the same values (``validation.cells.canonical_column``; the rebuilt frame is compared
    with the original in ``test_checked_cache.py``); other columns are kept as they are."""
    parts = {}
    for name in frame.columns:
        cat = categorical.get(name)
        if cat is None or len(cat) != len(frame) or (np.asarray(cat.codes) < 0).any():
            continue
        parts[name] = cat  # the report's own object: pickled once for both
    return _FrameParts(list(frame.columns), parts, frame[[n for n in frame.columns if n not in parts]])
