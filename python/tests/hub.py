"""A real `minga-hub` process for the tests: administration through its command line (as a
supervisor would type it) and `serve` on a free loopback port, stopped with SIGTERM."""

import os
import pathlib
import subprocess
import threading

ROOT = pathlib.Path(__file__).resolve().parents[2]


def hub_binary():
    """The binary scripts/build-bindings built (MINGA_HUB_BIN, else the default target dir)."""
    binary = os.environ.get("MINGA_HUB_BIN") or str(ROOT / "target" / "debug" / "minga-hub")
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"no minga-hub at {binary}: run scripts/build-bindings (or set MINGA_HUB_BIN)")
    return binary


class Hub:
    def __init__(self, data_dir):
        self.binary = hub_binary()
        self.data = str(data_dir)
        self.process = None
        self.url = None
        self.log = []

    def admin(self, *args):
        """Runs one administration command and returns what it printed."""
        done = subprocess.run([self.binary, "--data", self.data, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{args}: {done.stderr}"
        return done.stdout

    def enrolment_code(self, project, role, name):
        printed = self.admin("device", "enrol", "--project", project, "--role", role, "--name", name)
        line = next(l for l in printed.splitlines() if l.startswith("Enrolment code"))
        return line.split(": ", 1)[1].strip()

    def device_id(self, name):
        listed = self.admin("device", "list")
        return next(l.split("\t")[0] for l in listed.splitlines() if l.split("\t")[3] == name)

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--data", self.data, "serve", "--listen", "127.0.0.1:0"],
            stderr=subprocess.PIPE, text=True, env={**os.environ, "RUST_LOG": "info"},
        )
        for line in self.process.stderr:
            self.log.append(line)
            if "addr=" in line:
                self.url = "http://" + line.split("addr=", 1)[1].split()[0]
                break
        else:
            raise RuntimeError("the hub exited before listening: " + "".join(self.log))
        # Keep reading its log, so that a full pipe never blocks the hub.
        threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True).start()
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
