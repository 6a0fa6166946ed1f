"""Result folders, written atomically and read back only when complete.

Every command that writes results (``sim run``, ``compare``, ``attribute``, ``experiment``)
fills a fresh staging folder beside its target, lists the files it wrote in the folder's
index (``summary.json``, ``compare.json``, ...: key ``outputs``, with each file's size and
SHA-256 and ``complete: true``) and then replaces the target in one rename. The target
therefore holds either the old complete results or the new complete results, whatever
happens meanwhile (an interrupt, a kill, a full disk), and never a file of an older run:

- the swap is one ``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere the old folder is
  renamed aside first, so a kill between the two renames leaves the target missing (its
  old contents are in ``.NAME.old-*`` beside it), never mixed;
- staging and old folders left by a killed run are removed by the next write to the
  same target (only those of processes that are gone);
- symbolic links are never followed: a target that is a link is refused, and the old
  folder's contents (links included) are removed without following them;
- a target that exists and holds anything but results of this tool is refused, so that
  ``--out ~`` cannot wipe a home folder.

A run stopped early (an invariant breach under ``--check``, an interrupt) keeps what it
computed in ``TARGET.partial`` (a folder beside the target, never in the results' place),
with ``complete: false``, the reason in the index and a ``NOTE.txt``. :func:`read_index`
refuses incomplete or damaged folders unless asked for a partial one.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import hashlib
import json
import math
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable

# the index file of each kind of result folder (the first one found names the kind)
INDEX_FILES = ("summary.json", "compare.json", "attribution.json", "experiment.json", "analysis.json")
NOTE = "NOTE.txt"
PARTIAL_SUFFIX = ".partial"


class OutputError(Exception):
    """A result folder that cannot be written where asked, or read as asked."""


class IncompleteResults(OutputError):
    """A folder that holds no complete set of results (missing, partial, or damaged)."""


def partial_path(target: str | Path) -> Path:
    """Where a run that stopped early keeps what it computed: ``TARGET.partial``."""
    target = _absolute(target)
    return target.with_name(target.name + PARTIAL_SUFFIX)


def _absolute(path: str | Path) -> Path:
    # abspath, not resolve: a link in the last component must stay visible to be refused
    return Path(os.path.abspath(os.fspath(path)))


def _is_results(folder: Path) -> bool:
    return any((folder / name).is_file() and not (folder / name).is_symlink() for name in INDEX_FILES)


def check_target(target: str | Path, what: str = "--out") -> Path:
    """Check, before any work, that ``target`` can be replaced by a result folder; returns its
    absolute path. Raises :class:`OutputError` naming the problem (``what`` names the option):
    a link, a file, a folder of other files, or a place where nothing can be written."""
    target = _absolute(target)
    if target.is_symlink():
        raise OutputError(f"{what} {target}: is a symbolic link; give the folder itself (links are not followed)")
    if target.exists():
        if not target.is_dir():
            raise OutputError(f"{what} {target}: exists and is not a folder")
        try:
            empty = not any(target.iterdir())
        except OSError as err:
            raise OutputError(f"{what} {target}: cannot be read ({err.strerror})") from None
        if not empty and not _is_results(target):
            raise OutputError(f"{what} {target}: holds files that are not results of sim (no "
                              f"{' or '.join(INDEX_FILES)}); give a new or empty folder, so that nothing "
                              f"else is replaced")
    ancestor = target.parent
    while not ancestor.exists() and not ancestor.is_symlink() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{what} {target}: {ancestor} is not a folder")
    try:   # a dry run of the first step of writing: a folder beside the target
        probe = tempfile.mkdtemp(prefix=".sim-probe-", dir=ancestor)
        os.rmdir(probe)
    except OSError as err:
        raise OutputError(f"{what} {target}: cannot write in {ancestor} ({err.strerror})") from None
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_leftovers(parent: Path, name: str) -> None:
    """Remove the staging and old folders of ``name`` that killed runs left in ``parent``."""
    prefixes = (f".{name}.staging-", f".{name}.old-")
    for left in parent.iterdir():
        prefix = next((p for p in prefixes if left.name.startswith(p)), None)
        if prefix is None:
            continue
        pid = left.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            _remove(left)


def _remove(path: Path) -> None:
    """Remove a folder (or a file or link) without following any link."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def _sync_folder(path: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk, where the file system allows."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sha256(path: Path, *, sync: bool) -> str:
    """The SHA-256 of a file's contents (``sync``: flushed to disk too)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
        if sync:
            os.fsync(fh.fileno())
    return digest.hexdigest()


def _manifest(folder: Path, index: str) -> dict:
    """``{name: {bytes, sha256}}`` of every file in the staging ``folder`` (the index is written
    after it), each synced to disk on the way."""
    if (folder / index).exists():
        raise ValueError(f"the files written hold {index}: publish writes the index itself")
    files = {}
    for path in sorted(folder.iterdir()):
        if not stat.S_ISREG(path.lstat().st_mode):
            raise OutputError(f"{path}: a result folder holds regular files only")
        files[path.name] = {"bytes": path.stat().st_size, "sha256": _sha256(path, sync=True)}
    return files


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where it is not supported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap_in(staging: Path, target: Path) -> None:
    """Put ``staging`` in ``target``'s place in one step; the old contents are removed."""
    try:   # nothing there (or an empty folder): one plain rename
        os.rename(staging, target)
        _sync_folder(target.parent)
        return
    except OSError as err:
        if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    if _exchange(staging, target):
        _sync_folder(target.parent)
        _remove(staging)   # it holds the old contents now
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
    os.rename(target, old)
    os.rename(staging, target)
    _sync_folder(target.parent)
    _remove(old)


def publish(target: str | Path, fill: Callable[[Path], dict], index: str, *,
            stopped: str | None = None) -> dict:
    """Write a result folder at ``target`` atomically and return its index.

    ``fill(folder)`` writes the result files into a fresh staging folder and returns the index
    (a JSON-able dict) that is written last as ``folder/index``, with an ``outputs`` entry: the
    files and their sizes and SHA-256, ``complete`` (False with a ``stopped`` reason, for a
    partial folder, which also gets a ``NOTE.txt``) and the time written. Then the staging
    folder replaces ``target`` in one rename. If anything fails or is interrupted before
    that, the staging folder is removed and ``target`` is untouched.
    """
    if index not in INDEX_FILES:
        raise ValueError(f"index {index!r} is not one of {INDEX_FILES}")
    target = check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(target.parent, target.name)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-{os.getpid()}-", dir=target.parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())   # mkdtemp makes it private; a result folder is not
        info = fill(staging)
        if stopped is not None:
            (staging / NOTE).write_text(f"This folder holds partial results: the run stopped early.\n"
                                        f"Why: {stopped}\nThey are not the results of a whole run.\n")
        outputs = {"complete": stopped is None, "index": index, "files": _manifest(staging, index),
                   "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        if stopped is not None:
            outputs["stopped"] = stopped
        info = {**info, "outputs": outputs}
        with open(staging / index, "w") as fh:
            fh.write(json.dumps(_json_safe(info), indent=2, default=str, allow_nan=False))
            fh.flush()
            os.fsync(fh.fileno())
        _sync_folder(staging)
        _swap_in(staging, target)
    except BaseException:
        with contextlib.suppress(OSError):
            _remove(staging)
        raise
    if stopped is None:   # a complete set supersedes what a stopped run kept
        partial = partial_path(target)
        if partial.is_dir() and not partial.is_symlink() and _is_results(partial):
            with contextlib.suppress(OSError):
                _remove(partial)
    return info


def _json_safe(obj):
    """``obj`` with numpy scalars and arrays as Python's, and every non-finite float as None
    (JSON has no NaN)."""
    if callable(getattr(obj, "tolist", None)):   # numpy scalars and arrays
        obj = obj.tolist()
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def read_index(folder: str | Path, *, partial: bool = False, verify: bool = True) -> dict:
    """The index of the result folder ``folder`` after checking that it is whole: the index says
    ``complete`` (or, with ``partial=True``, may be a stopped run's) and every file it lists is
    there with its size (and, with ``verify``, its SHA-256). Raises :class:`IncompleteResults`
    naming what is wrong. Readers of result folders (sweeps, the app, notebooks) go through it."""
    folder = _absolute(folder)
    names = [n for n in INDEX_FILES if (folder / n).is_file()]
    if not names:
        raise IncompleteResults(f"{folder}: no result index ({' or '.join(INDEX_FILES)}); not a result folder")
    try:
        info = json.loads((folder / names[0]).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IncompleteResults(f"{folder / names[0]}: unreadable ({type(err).__name__})") from None
    outputs = info.get("outputs") if isinstance(info, dict) else None
    if not isinstance(outputs, dict) or not isinstance(outputs.get("files"), dict):
        raise IncompleteResults(f"{folder / names[0]}: lists no files (written by an older version, or damaged)")
    if not outputs.get("complete") and not partial:
        raise IncompleteResults(f"{folder}: partial results ({outputs.get('stopped', 'the run stopped early')}); "
                                f"pass partial=True to read them")
    for name, meta in outputs["files"].items():
        path = folder / name
        if path.is_symlink() or not path.is_file():
            raise IncompleteResults(f"{path}: listed in {names[0]} but missing")
        if path.stat().st_size != meta.get("bytes"):
            raise IncompleteResults(f"{path}: {path.stat().st_size} bytes, {meta.get('bytes')} listed")
        if verify and _sha256(path, sync=False) != meta.get("sha256"):
            raise IncompleteResults(f"{path}: its contents differ from those listed in {names[0]}")
    return info
