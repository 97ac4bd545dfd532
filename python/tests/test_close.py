"""Closing a store whose sync agent is running, then exiting: in every order the app may do it,
the process exits cleanly (status 0, no abort), each one a child process against a real hub."""

import pathlib
import subprocess
import sys

import pytest

from hub import Hub

PROJECT = "imbabura"
CHILD = pathlib.Path(__file__).with_name("agent_at_exit.py")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    running = Hub(tmp_path_factory.mktemp("hub"))
    running.admin("project", "create", PROJECT)
    running.start()
    yield running
    running.stop()


@pytest.mark.parametrize(
    "order",
    ["close", "close-then-stop", "stop-then-close", "close-twice", "cancel-then-close", "drop-the-store", "exit-without-close"],
)
def test_a_store_with_a_running_agent_closes_and_the_process_exits_cleanly(tmp_path, hub, order):
    code = hub.enrolment_code(PROJECT, "facilitator", f"ana-{order}")
    child = subprocess.run(
        [sys.executable, str(CHILD), hub.url, code, str(tmp_path / "phone.minga"), order],
        capture_output=True, text=True, timeout=120,
    )
    assert "FATAL" not in child.stderr, child.stderr
    assert child.returncode == 0, f"exit status {child.returncode}: {child.stderr}"
    assert child.stdout.strip() == f"done {order}"
