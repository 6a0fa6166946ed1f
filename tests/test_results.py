"""Result folders: written atomically, never mixed, never followed through a link, read back
only when whole; and the command line's exit statuses (README, "Exit statuses")."""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sim.results as results
from sim.cli import main
from sim.outputs import load_run
from sim.results import IncompleteResults, OutputError, check_target, partial_path, publish, read_index

SMALL = ["--consumers", "300", "--merchants", "6", "--days", "40", "--set", "run.burn_in_days=10", "--quiet"]
REPO = Path(__file__).resolve().parent.parent


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry of ``folder`` (names, links as links) with the SHA-256 of each file."""
    out = {}
    for path in sorted(folder.iterdir()):
        if path.is_symlink():
            out[path.name] = "link -> " + os.readlink(path)
        else:
            out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def fill_with(files: dict[str, str], info: dict | None = None):
    def fill(folder: Path) -> dict:
        for name, text in files.items():
            (folder / name).write_text(text)
        return dict(info or {"run": "test"})
    return fill


def siblings(target: Path) -> list[str]:
    """Hidden staging or old folders of ``target`` left beside it."""
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


# --------------------------------------------------------------------------- publish


def test_publish_lists_every_file_with_size_and_hash(tmp_path):
    target = tmp_path / "out"
    staged = []

    def fill(folder: Path) -> dict:
        staged.append(folder)
        return fill_with({"a.csv": "x,y\n1,2\n", "b.txt": "hello"})(folder)

    info = publish(target, fill, "summary.json")
    # filled beside the target, under a name the next write recognises as this process's
    assert staged[0].parent == tmp_path and staged[0].name.startswith(f".out.staging-{os.getpid()}-")
    assert sorted(os.listdir(target)) == ["a.csv", "b.txt", "summary.json"]
    files = info["outputs"]["files"]
    assert files == {"a.csv": {"bytes": 8, "sha256": hashlib.sha256(b"x,y\n1,2\n").hexdigest()},
                     "b.txt": {"bytes": 5, "sha256": hashlib.sha256(b"hello").hexdigest()}}
    assert info["outputs"]["complete"] is True and info["outputs"]["index"] == "summary.json"
    assert json.loads((target / "summary.json").read_text()) == info
    assert read_index(target) == info
    assert siblings(target) == []
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~mask   # a folder like any other, not a private temporary one
    written = dt.datetime.fromisoformat(info["outputs"]["written"])
    assert written.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.timezone.utc) - written).total_seconds()) < 60
    assert (target / "summary.json").read_text().startswith('{\n  "run"')   # indented for people to read


def test_publish_makes_missing_parents_and_refuses_what_is_not_a_result_file(tmp_path):
    target = tmp_path / "a" / "b" / "out"
    publish(target, fill_with({"t.csv": "1"}), "summary.json")
    assert read_index(target)["outputs"]["files"].keys() == {"t.csv"}
    with pytest.raises(ValueError, match="index 'notes.json' is not one of"):
        publish(tmp_path / "x", fill_with({}), "notes.json")
    def with_folder(folder: Path) -> dict:
        (folder / "sub").mkdir()
        return {}
    with pytest.raises(OutputError, match="sub: a result folder holds regular files only"):
        publish(target, with_folder, "summary.json")
    with pytest.raises(ValueError, match="publish writes the index itself"):
        publish(target, fill_with({"summary.json": "{}"}), "summary.json")
    assert read_index(target)["outputs"]["files"].keys() == {"t.csv"} and siblings(target) == []


def test_a_second_write_leaves_only_its_own_files(tmp_path):
    target = tmp_path / "out"
    publish(target, fill_with({"panel.parquet": "old", "dashboard.png": "old", "t.csv": "old"}), "summary.json")
    publish(target, fill_with({"t.csv": "new"}), "summary.json")
    assert sorted(os.listdir(target)) == ["summary.json", "t.csv"]
    assert (target / "t.csv").read_text() == "new"
    assert siblings(target) == []


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
                         ids=["full disk", "interrupt"])
def test_a_write_that_fails_or_is_interrupted_leaves_the_old_results_untouched(tmp_path, failure):
    target = tmp_path / "out"
    publish(target, fill_with({"t.csv": "old"}), "summary.json")
    before = snapshot(target)

    def failing(folder: Path) -> dict:
        (folder / "t.csv").write_text("new, half written")
        raise failure

    with pytest.raises(type(failure)):
        publish(target, failing, "summary.json")
    assert snapshot(target) == before
    assert siblings(target) == []    # the staging folder is gone too


def test_links_in_the_old_folder_are_removed_not_followed(tmp_path):
    target = tmp_path / "out"
    publish(target, fill_with({"t.csv": "old"}), "summary.json")
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    (target / "dashboard.png").symlink_to(precious)
    (target / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    publish(target, fill_with({"dashboard.png": "new"}), "summary.json")
    assert precious.read_text() == "keep me"
    assert not (target / "dashboard.png").is_symlink() and (target / "dashboard.png").read_text() == "new"
    assert not (target / "linked_dir").exists() and precious.exists()


def test_without_an_atomic_exchange_the_fallback_still_replaces_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "_exchange", lambda a, b: False)   # e.g. macOS, or an old kernel
    target = tmp_path / "out"
    publish(target, fill_with({"old.csv": "old"}), "summary.json")
    publish(target, fill_with({"new.csv": "new"}), "summary.json")
    assert sorted(os.listdir(target)) == ["new.csv", "summary.json"] and siblings(target) == []


def test_the_exchange_swaps_two_folders_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "from_a").write_text("a")
    (b / "from_b").write_text("b")
    if not results._exchange(a, b):
        pytest.skip("reason: this kernel or file system has no renameat2(RENAME_EXCHANGE); the fallback is tested")
    assert os.listdir(a) == ["from_b"] and os.listdir(b) == ["from_a"]


def test_the_exchange_reports_real_errors_and_declines_where_unsupported(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    if not results._exchange(tmp_path / "a", tmp_path / "a"):
        pytest.skip("reason: this kernel or file system has no renameat2(RENAME_EXCHANGE)")
    with pytest.raises(FileNotFoundError) as err:      # a missing side is an error, not "unsupported"
        results._exchange(tmp_path / "a", tmp_path / "missing")
    assert err.value.errno == errno.ENOENT and err.value.filename == str(tmp_path / "missing")
    assert err.value.strerror == os.strerror(errno.ENOENT)

    class Libc:   # a C library whose renameat2 says "not supported here"
        @staticmethod
        def renameat2(*args):
            ctypes.set_errno(errno.EINVAL)
            return -1
    monkeypatch.setattr(results.ctypes, "CDLL", lambda *a, **k: Libc())
    assert results._exchange(tmp_path / "a", tmp_path / "b") is False
    monkeypatch.setattr(results.ctypes, "CDLL", lambda *a, **k: object())   # no renameat2 at all
    assert results._exchange(tmp_path / "a", tmp_path / "b") is False


def test_a_process_we_may_not_signal_is_alive(monkeypatch):
    def denied(pid, sig):
        raise PermissionError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(results.os, "kill", denied)
    assert results._process_alive(12345) is True


def test_leftovers_of_killed_runs_are_removed_but_not_those_of_live_ones(tmp_path):
    target = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])   # a run still writing
    try:
        for name in (f".out.staging-{dead.pid}-abc", f".out.old-{dead.pid}-def", f".out.staging-{live.pid}-ghi"):
            (tmp_path / name).mkdir()
            (tmp_path / name / "t.csv").write_text("left")
        keep = tmp_path / "keep"
        keep.mkdir()
        (keep / "k.txt").write_text("keep me")
        (tmp_path / f".out.staging-{dead.pid}-link").symlink_to(keep, target_is_directory=True)
        (tmp_path / f".out.old-{dead.pid}-file").write_text("a stray file")
        (tmp_path / f".outer.staging-{dead.pid}-x").mkdir()   # another target's: not ours to remove
        publish(target, fill_with({"t.csv": "new"}), "summary.json")
        assert siblings(target) == [f".out.staging-{live.pid}-ghi"]
        assert (tmp_path / f".outer.staging-{dead.pid}-x").exists()
        assert live.poll() is None   # looked at, not signalled
        assert (keep / "k.txt").read_text() == "keep me"   # the link was removed, not followed
    finally:
        live.kill()
        live.wait()


def test_non_finite_figures_are_written_as_json_null(tmp_path):
    target = tmp_path / "out"
    info = {"x": float("nan"), "y": (1.0, float("inf")), "n": np.int64(3), "f": np.float32("nan"),
            "b": np.bool_(True), "z": np.float64(0.5), 7: "key", "d": dt.date(2026, 1, 2),
            "a": np.array([[1.0, np.nan], [2.0, 3.0]])}
    publish(target, fill_with({}, info), "summary.json")
    text = (target / "summary.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text)
    assert back["x"] is None and back["y"] == [1.0, None] and back["f"] is None
    assert back["n"] == 3 and type(back["n"]) is int and back["b"] is True and back["z"] == 0.5
    assert back["7"] == "key" and back["d"] == "2026-01-02" and back["a"] == [[1.0, None], [2.0, 3.0]]


# --------------------------------------------------------------------------- targets refused before any work


def test_unusable_targets_are_refused_by_name(tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_target(afile)
    with pytest.raises(OutputError, match="afile is not a folder"):
        check_target(afile / "sub" / "deeper")
    other = tmp_path / "home"
    other.mkdir()
    (other / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match=r"holds files that are not results of sim \(no summary.json or "
                                          r"compare.json or attribution.json or experiment.json or analysis.json\)"):
        check_target(other)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(OutputError, match="symbolic link"):
        check_target(link)
    # a place where nothing can be written (root writes everywhere, so the refusal is simulated)
    real_mkdtemp = results.tempfile.mkdtemp

    def refused(*args, dir=None, **kwargs):
        if Path(dir) == tmp_path:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkdtemp(*args, dir=dir, **kwargs)
    monkeypatch.setattr(results.tempfile, "mkdtemp", refused)
    with pytest.raises(OutputError, match=f"--out {tmp_path}/new: cannot write in {tmp_path} "
                                          r"\(Permission denied\)"):
        check_target(tmp_path / "new")
    monkeypatch.undo()
    real_iterdir = Path.iterdir

    def unreadable(self):
        if self == other:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_iterdir(self)
    monkeypatch.setattr(Path, "iterdir", unreadable)
    with pytest.raises(OutputError, match=r"home: cannot be read \(Permission denied\)"):
        check_target(other)


def test_an_empty_folder_or_a_new_path_is_a_fine_target(tmp_path):
    (tmp_path / "empty").mkdir()
    assert check_target(tmp_path / "empty") == tmp_path / "empty"
    assert check_target(tmp_path / "a" / "b" / "c") == tmp_path / "a" / "b" / "c"
    assert not (tmp_path / "a").exists()   # a dry check: it makes nothing


# --------------------------------------------------------------------------- reading back


def test_read_index_refuses_what_is_not_whole(tmp_path):
    target = tmp_path / "out"
    publish(target, fill_with({"t.csv": "1234", "u.csv": "abcd"}), "summary.json")
    read_index(target)
    (target / "u.csv").write_text("abcX")          # same size, other contents
    with pytest.raises(IncompleteResults, match="contents differ"):
        read_index(target)
    read_index(target, verify=False)               # sizes alone still match
    (target / "u.csv").write_text("abc")
    with pytest.raises(IncompleteResults, match="3 bytes, 4 listed"):
        read_index(target, verify=False)
    (target / "u.csv").unlink()
    with pytest.raises(IncompleteResults, match="u.csv: listed in summary.json but missing"):
        read_index(target)
    (target / "summary.json").write_text(json.dumps({"headline": {}}))   # an index from before the manifest
    with pytest.raises(IncompleteResults, match="lists no files"):
        read_index(target)
    (target / "summary.json").write_text("[1, 2]")
    with pytest.raises(IncompleteResults, match="lists no files"):
        read_index(target)
    (target / "summary.json").write_text("{truncat")
    with pytest.raises(IncompleteResults, match=r"summary.json: unreadable \(JSONDecodeError\)"):
        read_index(target)
    (target / "summary.json").unlink()
    with pytest.raises(IncompleteResults, match=r"no result index \(summary.json or compare.json or "
                                                r"attribution.json or experiment.json or analysis.json\); not a result folder"):
        read_index(target)


def test_partial_folders_are_read_only_on_request_and_a_complete_run_supersedes_them(tmp_path):
    target = tmp_path / "out"
    partial = partial_path(target)
    assert partial == tmp_path / "out.partial"
    publish(partial, fill_with({"t.csv": "some days"}), "summary.json", stopped="interrupted (SIGINT)")
    assert "interrupted (SIGINT)" in (partial / "NOTE.txt").read_text()
    with pytest.raises(IncompleteResults, match=r"partial results \(interrupted \(SIGINT\)\)"):
        read_index(partial)
    info = read_index(partial, partial=True)
    assert info["outputs"]["complete"] is False and info["outputs"]["stopped"] == "interrupted (SIGINT)"
    assert "NOTE.txt" in info["outputs"]["files"]
    index = json.loads((partial / "summary.json").read_text())
    del index["outputs"]["stopped"]
    (partial / "summary.json").write_text(json.dumps(index))
    with pytest.raises(IncompleteResults, match=r"partial results \(the run stopped early\)"):
        read_index(partial)
    publish(target, fill_with({"t.csv": "all days"}), "summary.json")
    assert not partial.exists()
    # what is not a partial folder of sim is left alone: a folder of other files, a link
    partial.mkdir()
    (partial / "mine.txt").write_text("mine")
    publish(target, fill_with({"t.csv": "again"}), "summary.json")
    assert (partial / "mine.txt").read_text() == "mine"
    (partial / "mine.txt").unlink()
    partial.rmdir()
    elsewhere = tmp_path / "elsewhere"
    publish(elsewhere, fill_with({"t.csv": "some days"}), "summary.json", stopped="interrupted (SIGINT)")
    partial.symlink_to(elsewhere, target_is_directory=True)
    publish(target, fill_with({"t.csv": "once more"}), "summary.json")
    assert partial.is_symlink() and read_index(elsewhere, partial=True)


# --------------------------------------------------------------------------- the command line


@pytest.fixture(scope="module")
def old_run(tmp_path_factory):
    """A complete run with the panel and the dashboard, to be replaced."""
    out = tmp_path_factory.mktemp("old") / "run"
    assert main(["run", "baseline", "--out", str(out), "--seed", "3", "--panel", "monthly", *SMALL]) == 0
    return out


def copy_of(folder: Path, tmp_path: Path) -> Path:
    import shutil
    dest = tmp_path / "run"
    shutil.copytree(folder, dest)
    return dest


def test_a_run_into_a_folder_of_another_run_leaves_only_its_own_files(old_run, tmp_path):
    out = copy_of(old_run, tmp_path)
    assert {"panel.parquet", "dashboard.png"} <= set(os.listdir(out))
    assert main(["run", "baseline", "--out", str(out), "--seed", "4", "--no-dashboard", *SMALL]) == 0
    files = set(os.listdir(out))
    assert files == {"summary.json", "timeseries.parquet", "limit_changes.parquet", "failures.parquet"}
    run = load_run(out)
    assert set(run["summary"]["outputs"]["files"]) == files - {"summary.json"}
    assert run["summary"]["seed"] == 4 and len(run["timeseries"]) == 40
    assert siblings(out) == []


def test_an_unusable_out_fails_before_the_simulation(tmp_path, monkeypatch, capsys):
    import sim.model

    def never(*args, **kwargs):
        raise AssertionError("the model was built although --out is unusable")
    monkeypatch.setattr(sim.model.CreditModel, "__init__", never)
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out in (afile, afile / "sub"):
        assert main(["run", "baseline", "--out", str(out), *SMALL]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("sim: --out ") and "Traceback" not in err
    assert main(["compare", "tightening", "--against", "baseline", "--seeds", "1", "--out", str(afile),
                 *SMALL, "--days", "365"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def breach_on_day(day: int, monkeypatch):
    """Break the books (money from nowhere) on ``day`` of a run under --check."""
    import sim.model
    real = sim.model.check_invariants

    def breaking(model, raise_on_breach=True):
        if model.t == day:
            model.consumers.cash[3] += 100.0
        return real(model, raise_on_breach)
    monkeypatch.setattr(sim.model, "check_invariants", breaking)


def test_a_breach_keeps_the_recorded_days_beside_the_results_not_in_their_place(old_run, tmp_path, monkeypatch,
                                                                               capsys):
    out = copy_of(old_run, tmp_path)
    before = snapshot(out)
    breach_on_day(12, monkeypatch)
    assert main(["run", "baseline", "--out", str(out), "--seed", "4", "--check", *SMALL]) == 3
    err = capsys.readouterr().err
    assert "accounting invariant broken on day 12" in err and "Traceback" not in err
    assert snapshot(out) == before                      # the old complete results, untouched
    partial = tmp_path / "run.partial"
    assert f"{partial}/" in err
    kept = load_run(partial, partial=True)
    assert len(kept["timeseries"]) == 12                # days 0..11 were recorded before the breach
    assert kept["summary"]["outputs"]["complete"] is False
    assert "invariant breach under --check" in kept["summary"]["outputs"]["stopped"]
    assert "12 days recorded, the last 2026-01-12" in (partial / "NOTE.txt").read_text()
    with pytest.raises(IncompleteResults):
        load_run(partial)


def test_a_full_disk_while_writing_is_exit_4_and_loses_nothing(old_run, tmp_path, monkeypatch, capsys):
    import sim.dashboard
    out = copy_of(old_run, tmp_path)
    before = snapshot(out)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(sim.dashboard, "plot_dashboard", full)
    assert main(["run", "baseline", "--out", str(out), "--seed", "4", *SMALL]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "untouched" in err
    assert snapshot(out) == before and siblings(out) == []


def test_an_internal_error_says_it_is_a_bug_and_writes_nothing(old_run, tmp_path, monkeypatch, capsys):
    import sim.model
    out = copy_of(old_run, tmp_path)
    before = snapshot(out)

    def broken(self, *args, **kwargs):
        raise ZeroDivisionError("a bug deep in the model")
    monkeypatch.setattr(sim.model.CreditModel, "run", broken)
    assert main(["run", "baseline", "--out", str(out), *SMALL]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (ZeroDivisionError: a bug deep in the model)" in err
    assert "this is a bug" in err and "--debug" in err and "Traceback" not in err
    assert snapshot(out) == before and not partial_path(out).exists()
    with pytest.raises(ZeroDivisionError):                 # --debug shows the real thing
        main(["run", "baseline", "--out", str(out), "--debug", *SMALL])
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "run", "baseline", "--out", str(out), *SMALL])


# --------------------------------------------------------------------------- kills and interrupts


# A run of `sim run` that kills itself (SIGKILL) at the K-th file-system event it makes under
# WATCH (a folder made, a file opened, renamed or removed, the exchange): K = 0 counts them.
HARNESS = r"""
import os, signal, sys
kill_at, watch = int(os.environ["KILL_AT"]), os.environ["WATCH"]
EVENTS = {"open", "os.rename", "os.replace", "os.mkdir", "os.remove", "os.rmdir", "os.chmod",
          "shutil.rmtree", "ctypes.call_function"}
count = 0
def hook(event, args):
    global count
    if event not in EVENTS:
        return
    if event != "ctypes.call_function":
        path = args[0]
        if isinstance(path, int) or not os.fsdecode(path).startswith(watch):
            return
    count += 1
    if count == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
sys.addaudithook(hook)
from sim.cli import main
code = main(sys.argv[1:])
print("events", count)
sys.exit(code)
"""


def harness(args: list[str], watch: Path, kill_at: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, KILL_AT=str(kill_at), WATCH=str(watch))
    return subprocess.run([sys.executable, "-c", HARNESS, *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_a_run_killed_at_any_point_while_writing_leaves_the_old_results(old_run, tmp_path):
    out = copy_of(old_run, tmp_path)
    before = snapshot(out)
    args = ["run", "baseline", "--seed", "5", "--no-dashboard", *SMALL]
    # count the events of a real replacement of another copy, then kill a run at each of them
    (tmp_path / "count").mkdir()
    counted = harness([*args, "--out", str(copy_of(old_run, tmp_path / "count"))], tmp_path / "count", 0)
    assert counted.returncode == 0, counted.stderr
    events = int(counted.stdout.split()[-1])
    assert events >= 8   # staging folder, files, index, syncs, the exchange, removal of the old
    states = []
    for k in range(1, events + 1):
        killed = harness([*args, "--out", str(out)], out.parent, k)
        assert killed.returncode == -signal.SIGKILL, (k, killed.stdout, killed.stderr)
        if snapshot(out) == before:
            states.append("old")
        else:   # killed after the exchange, while removing the old folder: the new results, whole
            new = load_run(out)
            assert new["summary"]["seed"] == 5 and "panel.parquet" not in os.listdir(out), k
            states.append("new")
    # the old results until the one-step exchange, the new ones after it: never a mixture
    assert states == sorted(states, key=["old", "new"].index) and states.count("old") >= events - 2, states
    done = harness([*args, "--out", str(out)], out.parent, 0)   # the next run cleans up what they left
    assert done.returncode == 0, done.stderr
    assert siblings(out) == [] and load_run(out)["summary"]["seed"] == 5


@pytest.mark.parametrize("signum, status, reason", [(signal.SIGINT, 130, "interrupted (SIGINT)"),
                                                     (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_a_signal_during_a_run_stops_cleanly_and_keeps_the_days_apart(old_run, tmp_path, signum, status, reason):
    out = copy_of(old_run, tmp_path)
    before = snapshot(out)
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", "baseline", "--out", str(out), "--seed", "6",
                             "--consumers", "300", "--merchants", "6", "--days", "5000", "--set",
                             "run.burn_in_days=0"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:       # the progress bar shows the days simulated
        chunk = os.read(proc.stderr.fileno(), 4096)
        seen += chunk
        if not chunk or any(int(n) > 0 for n in re.findall(rb"(\d+)/5000", seen)):
            break
    proc.send_signal(signum)
    rest_out, rest_err = proc.communicate(timeout=120)
    err = (seen + rest_err).decode()
    assert proc.returncode == status, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    messages = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("sim: ")]
    assert messages[0] == f"sim: {reason}", messages
    assert "partial results" in messages[1] and f"{out} is untouched" in messages[1]
    assert snapshot(out) == before
    kept = load_run(partial_path(out), partial=True)
    assert 0 < len(kept["timeseries"]) < 5000
    assert kept["summary"]["outputs"]["stopped"].startswith(reason)


def test_ctrl_c_during_a_comparison_with_workers_stops_them_and_writes_nothing(tmp_path):
    out = tmp_path / "cmp"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "compare", "tightening", "--against", "baseline",
                             "--seeds", "2", "--workers", "2", "--out", str(out), "--consumers", "300",
                             "--merchants", "6", "--days", "20000", "--quiet"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(8)                       # the workers are simulating by now
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    out_text, err_bytes = proc.communicate(timeout=60)
    err = err_bytes.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip() == "sim: interrupted (SIGINT); no results were written"
    assert not out.exists() and siblings(out) == []
