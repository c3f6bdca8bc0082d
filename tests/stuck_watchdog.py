"""A pytest plugin (loaded by ``tests/conftest.py``): a test that runs for ``STUCK_SECONDS`` is
stuck, so every thread's stack is written to the terminal and the run ends.

Without it a test stuck in a wait that never ends (two threads each holding what the other needs)
keeps CI busy until its limit and leaves no trace of where. The slowest tests take ~30 s on a
loaded 2-core machine; ``CONVLAB_TEST_STUCK_SECONDS`` sets another limit.
"""

from __future__ import annotations

import faulthandler
import os
import sys

import pytest

STUCK_SECONDS = float(os.environ.get("CONVLAB_TEST_STUCK_SECONDS", "420"))


def _terminal_fd(config) -> int:
    """A descriptor of the real stderr: pytest's own copy, made before it captured fd 2."""
    try:
        from _pytest.faulthandler import fault_handler_stderr_fd_key

        return config.stash[fault_handler_stderr_fd_key]
    except (ImportError, KeyError):  # a pytest without it: the stacks go to the captured stderr
        return sys.__stderr__.fileno()


@pytest.fixture(autouse=True)
def _stuck_test_watchdog(request):
    """Armed for the test's setup, call and teardown (set up before, torn down after, the test's
    other function fixtures)."""
    faulthandler.dump_traceback_later(STUCK_SECONDS, exit=True, file=_terminal_fd(request.config))
    yield
    faulthandler.cancel_dump_traceback_later()
