"""Reading a user's input files and showing their values in error messages.

Every bad input becomes a :class:`ConfigError` with a one-line message that names the file,
line or key path and the problem, before any simulated day; a message never echoes the
content of an arbitrary file (a network file, a file given where a scenario belongs), and
shows a value of our own keys short and on one line (:func:`show`). Input files are read
only when they are regular files of bounded size in UTF-8 (:func:`read_input_file`): a
directory, a FIFO (which would block an ``open``), a device, an oversized or an unreadable
file is refused by name.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A scenario or override that does not fit the parameter tree.

    Its message is one line: line breaks and other unprintable characters (from a file or
    key name, say) are shown escaped, as in a Python string literal."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(_one_line(str(message)), *args)


def _one_line(text: str) -> str:
    """``text`` with every unprintable character (line breaks, NUL, ...) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def finite_number(x: Any) -> bool:
    """An int or a float (not a bool) that a float holds: a finite float, or an int below 1e308
    (a huge TOML integer such as 10**400 would overflow ``float``)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    return math.isfinite(x) if isinstance(x, float) else abs(x) < 1e308


# --------------------------------------------------------------------------- showing input in messages


def show(value: Any, width: int = 60) -> str:
    """``value`` for an error message: one line, at most about ``width`` characters; lists
    and tables are described (kind and length), not printed."""
    if value is None or isinstance(value, (bool, float)):
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 100:   # str() of a huge int is slow or refused (over 4300 digits)
            return f"a {'negative ' if value < 0 else ''}{_digits(abs(value))}-digit integer"
        return repr(value)
    if isinstance(value, str):
        text = repr(value)   # escapes line breaks and other unprintable characters
        return text if len(text) <= width else text[:width - 4] + "...'"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        if len(value) <= 10 and all(v is None or isinstance(v, (bool, int, float)) for v in value):
            text = "[" + ", ".join(show(v, 24) for v in value) + "]"
            if len(text) <= width:
                return text
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _digits(n: int) -> int:
    """The number of decimal digits of ``n`` > 0 (without ``str``, which refuses over 4300)."""
    d = int(math.log10(n)) + 1
    while n >= 10 ** d:
        d += 1
    while d > 1 and n < 10 ** (d - 1):
        d -= 1
    return d


def show_key(key: str) -> str:
    """A key (a name a file or ``--set`` chose) for an error message: as it is when it is a
    plain name, else quoted and cut short (a quoted TOML key may hold anything)."""
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key):
        return key
    return show(str(key), 40)


# --------------------------------------------------------------------------- reading input files


def read_input_file(path: str | Path, what: str, limit: int, *, bom: bool = False) -> str:
    """The text of the input file ``path`` (``what`` names it in messages): a regular file of
    at most ``limit`` bytes of UTF-8 text. Anything else is a :class:`ConfigError` naming the
    file and the problem, never the file's content: a missing or unreadable file, a
    directory, a FIFO, device or socket (refused by ``os.stat`` before any ``open``, which
    would block on a FIFO), a file over ``limit`` (refused before it is read), bytes that are
    not UTF-8 (the message gives the line). A leading byte-order mark is dropped when ``bom``,
    else refused."""
    path = Path(path)
    check_input_path(path, what, limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)   # non-blocking: a file swapped for a FIFO since the stat cannot hang us
        with os.fdopen(fd, "rb") as handle:
            _check_file_type(path, os.fstat(handle.fileno()).st_mode, what)
            data = handle.read(limit + 1)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the {what} ({_reason(err)})") from None
    if len(data) > limit:
        raise ConfigError(f"{path}: the {what} is over the limit of {limit:,} bytes")
    if data.startswith(b"\xef\xbb\xbf"):
        if not bom:
            raise ConfigError(f"{path}: the {what} starts with a byte-order mark (U+FEFF); save it as UTF-8 "
                              f"without one")
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(f"{path}, line {line}: the {what} is not UTF-8 text") from None


def _check_file_type(path: Path, mode: int, what: str) -> None:
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{path}: is a directory, not {'an' if what[0] in 'aeiou' else 'a'} {what}")
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{path}: not a regular file (a FIFO, device or socket); the {what} must be a regular file")


def _reason(err: OSError) -> str:
    """Why the system refused a file, without the path or the content (``err.strerror``)."""
    if isinstance(err, PermissionError):
        return "permission denied"
    return (err.strerror or type(err).__name__).lower()


def check_input_path(path: str | Path, what: str, limit: int) -> None:
    """The checks of :func:`read_input_file` that need no reading (it exists, is a regular file,
    is not over ``limit``): a :class:`ConfigError` early, before a run starts."""
    path = Path(path)
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError(f"{path}: {what} not found") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the {what} ({_reason(err)})") from None
    except ValueError:   # an embedded NUL byte, or a path the system cannot encode
        raise ConfigError(f"{path}: not a valid file path for the {what}") from None
    _check_file_type(path, info.st_mode, what)
    if info.st_size > limit:
        raise ConfigError(f"{path}: the {what} is {info.st_size:,} bytes, over the limit of {limit:,} bytes")


def show_path(key: str) -> str:
    """A ``--set`` key path for an error message (:func:`show_key`, dots allowed)."""
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", key):
        return key
    return show(str(key), 60)


def parse_toml(text: str, where: str) -> dict:
    """``text`` read as TOML; any failure a :class:`ConfigError` starting with ``where``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: {_toml_error(err)}") from None
    except RecursionError:
        raise ConfigError(f"{where}: arrays or tables nested too deeply") from None
    except ValueError:   # an integer of over 4300 digits (Python's limit on reading one)
        raise ConfigError(f"{where}: a number with too many digits") from None


def _toml_error(err: tomllib.TOMLDecodeError) -> str:
    """tomllib's message (what and where), on one line and cut short: a few of its messages
    quote a key or a character of the file."""
    text = " ".join(str(err).split())
    where = re.search(r" \(at [^()]*\)$", text)
    what, at = (text[:where.start()], where.group(0)) if where else (text, "")
    return f"invalid TOML: {what if len(what) <= 80 else what[:77] + '...'}{at}"
