"""The watchdog of ``stuck_watchdog``: a stuck test ends the run with every thread's stack."""

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

STUCK = '''
import threading


def test_waits_for_what_never_comes():
    helper = threading.Thread(target=threading.Event().wait, name="convlab-stuck-helper", daemon=True)
    helper.start()
    threading.Event().wait()
'''


def test_a_stuck_test_ends_the_run_with_every_threads_stack(tmp_path):
    (tmp_path / "test_stuck.py").write_text(STUCK)
    env = dict(os.environ, CONVLAB_TEST_STUCK_SECONDS="1", PYTHONPATH=str(TESTS))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "stuck_watchdog", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_stuck.py")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Timeout (0:00:01)!" in out, out
    assert "test_waits_for_what_never_comes" in out  # the stuck test's own frame
    assert out.count("Thread 0x") >= 2  # and the helper it waits beside
