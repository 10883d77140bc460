"""Files the commands write (export, ``import --results``, ``validate --report``): one rule for all.

A command never writes over the store, over a file it reads, or over a file it did not write.
An existing target is replaced only with ``--overwrite`` (export) or when its bytes are, SHA-256
for SHA-256, a file we wrote and nobody changed since (the store's state remembers the digest of
every file we write: :meth:`~inventory_tools.stores.state.LocalState.record_output`). Anything
that can be checked before the work starts is checked before it starts (:func:`check_target`):
the folder exists and takes a new file, the name fits the file system. A file is written under
a short temporary name beside the target and renamed into place only when complete; a failure
leaves no partial file and says why, with exit code 3, never a traceback.

Usage (the caller owns the timing)::

    target = check_target(path, what="report", reads=[file], store_path=store.path, ledger=store.state)
    ...the long work...
    with atomic_write(target, ledger=store.state, kind="report") as tmp:
        write_the_file(tmp)
"""
from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Protocol

from .errors import ToolError, UsageError

TEMP_PREFIX = ".invt-"  # short: a target whose name is near the file system's limit still fits
TEMP_SUFFIX = ".part"


class OutputError(ToolError):
    """A file could not be written (permissions, full disk, name too long...): exit 3."""


class OutputExists(UsageError):
    """The target exists and is not a file we wrote (unchanged): replacing it could lose data."""


class Ledger(Protocol):
    """Where the digests of the files we wrote are kept (a store's ``LocalState``)."""

    def wrote_output(self, sha256: str) -> dict | None: ...

    def record_output(self, sha256: str, path: str, kind: str, export_id: str | None = None,
                      db=None) -> None: ...


@dataclass(frozen=True)
class Target:
    path: Path  # where the file goes (a symlink followed to its file)
    given: str  # as the user wrote it
    what: str  # words for messages: "export", "results workbook", "report"
    replaces: bool  # a file is there now and will be replaced


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_target(path: str | os.PathLike, *, what: str, reads: Iterable[str | os.PathLike] = (),
                 store_path: str | os.PathLike | None = None, ledger: Ledger | None = None,
                 overwrite: bool = False, suffixes: tuple[str, ...] | None = None) -> Target:
    """Raise unless ``path`` may be written by a command that reads ``reads`` and uses the store
    at ``store_path``: :class:`~inventory_tools.errors.UsageError` (exit 2) for a target the
    command must not replace, :class:`OutputError` (exit 3) for one it cannot write."""
    given = str(path)
    p = Path(path).expanduser()
    if suffixes and p.suffix.lower() not in suffixes:
        raise UsageError(f"the {what} must be named *{' or *'.join(suffixes)}, not '{p.name}'",
                         f"for example: {p.with_suffix(suffixes[0]).name}")
    if not p.parent.is_dir():
        raise UsageError(f"folder {p.parent} does not exist (for the {what} {p.name})",
                         "create it first or choose another path")
    _name_fits(p, what)
    if p.is_symlink():
        p = p.resolve()
    _not_protected(p, what, reads, store_path)
    replaces = _may_replace(p, what, ledger, overwrite)
    _probe_folder(p, what)
    return Target(p, given, what, replaces)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _not_protected(p: Path, what: str, reads, store_path) -> None:
    for read in reads:
        if read is not None and _same_file(p, Path(read)):
            raise UsageError(f"the {what} would be written over {read}, the file this command reads",
                             f"choose another name for the {what}")
    if store_path is not None:
        store = Path(store_path)
        for part in (store, *(Path(f"{store}{s}") for s in ("-wal", "-shm", "-journal"))):
            if _same_file(p, part):
                raise UsageError(f"the {what} would be written over the store {os.path.abspath(store)}",
                                 f"choose another name for the {what}; the store was left untouched")


def _name_fits(p: Path, what: str) -> None:
    try:
        limit = os.pathconf(p.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    if len(os.fsencode(p.name)) > limit:
        raise OutputError(f"the name of the {what} is too long: {len(os.fsencode(p.name))} bytes, "
                          f"the file system in {p.parent} allows {limit}", "choose a shorter name")


def _may_replace(p: Path, what: str, ledger: Ledger | None, overwrite: bool) -> bool:
    try:
        info = p.stat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise write_error(exc, p, what) from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{p} is a folder", f"give a file name for the {what}")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{p} is not a regular file (a device, pipe or socket): it is never replaced",
                         f"give a file name for the {what}")
    if overwrite:
        return True
    try:
        ours = ledger.wrote_output(sha256_file(p)) if ledger is not None else None
    except OSError as exc:
        raise write_error(exc, p, what) from None
    if ours is None:
        hint = ("import it first if it holds edits, choose another name, or add --overwrite to replace it"
                if what == "export" else "choose another name, or move that file away first")
        raise OutputExists(f"{p} already exists and is not a file inventory-tools wrote "
                           "(or it was changed since): it was left untouched", hint)
    return True


def _probe_folder(p: Path, what: str) -> None:
    """Create and remove a temporary file beside the target: permissions, a read-only or
    immutable folder show up now, before any work is done."""
    try:
        tmp = temp_beside(p)
    except OSError as exc:
        raise write_error(exc, p, what) from None
    remove_quietly(tmp)


def temp_beside(path: str | os.PathLike) -> str:
    """A new empty file in the target's folder (so the final rename is atomic) with a short name
    and the permissions of any new file."""
    folder = Path(path).parent
    for _ in range(20):
        tmp = folder / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
        except FileExistsError:
            continue
        os.close(fd)
        return str(tmp)
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def remove_quietly(path: str | os.PathLike | None) -> None:
    if path is None:
        return
    try:
        os.unlink(path)
    except OSError:
        pass


_REASONS = {
    errno.ENOSPC: ("the disk is full", "free some space or choose another disk"),
    errno.EDQUOT: ("the disk quota is used up", "free some space or choose another disk"),
    errno.EACCES: ("permission denied", "choose a folder you can write to, or close the file if another "
                                        "program has it open"),
    errno.EPERM: ("the operation is not permitted (a protected or immutable file or folder?)",
                  "choose a folder you can write to"),
    errno.EROFS: ("the file system is read-only", "choose a folder on a writable disk"),
    errno.ENAMETOOLONG: ("the file name is too long", "choose a shorter name"),
    errno.EISDIR: ("a folder has that name", "choose another name"),
}


def write_error(exc: OSError, path: str | os.PathLike, what: str) -> OutputError:
    """A clear message for an OSError met while writing ``what`` at ``path``."""
    reason, hint = _REASONS.get(exc.errno, (exc.strerror or str(exc), "check the folder, the disk and permissions"))
    if exc.strerror and exc.strerror.lower() != reason.lower():
        reason += f" ({exc.strerror})"
    return OutputError(f"could not write the {what} {path}: {reason}", f"{hint}; no file was left half-written")


@contextmanager
def atomic_write(target: Target, *, ledger: Ledger | None = None, kind: str | None = None,
                 tmp: str | None = None) -> Iterator[str]:
    """Yield a temporary path to write; once the block ends, rename it to the target and record
    its digest in ``ledger``. On any failure the temporary file is removed (an OSError becomes
    an :class:`OutputError`). ``tmp``: a file already being written (e.g. in the background)."""
    tmp = tmp or _temp_or_fail(target)
    try:
        yield tmp
        finish(tmp, target, ledger=ledger, kind=kind)
    except OSError as exc:
        remove_quietly(tmp)
        raise write_error(exc, target.path, target.what) from None
    except BaseException:
        remove_quietly(tmp)
        raise


def _temp_or_fail(target: Target) -> str:
    try:
        return temp_beside(target.path)
    except OSError as exc:
        raise write_error(exc, target.path, target.what) from None


def finish(tmp: str, target: Target, *, ledger: Ledger | None = None, kind: str | None = None,
           export_id: str | None = None, db=None) -> str:
    """Rename a complete ``tmp`` to the target, recording its digest first (so a file under the
    target's name is always known to be ours). Returns the digest."""
    digest = sha256_file(tmp)
    if ledger is not None:
        ledger.record_output(digest, str(target.path), kind or target.what, export_id, db)
    os.replace(tmp, target.path)
    return digest
