"""A phone app's last moments, run as its own process by test_close.py: enrols with a hub, starts
a sync agent with a sync observer and the network up, waits until the agent's thread is inside
the observer (which runs for a while), then ends in the order argv names and exits. The process
must exit with status 0 whatever the order."""

import gc
import sys
import threading
import time

import minga  # the installed package, as the app has it

hub_url, code, store_path, order = sys.argv[1:5]

phone = minga.Store.open_unencrypted(store_path, "phone-1", "ana")
phone.create_submission(minga.FormRef(form_id="minga_stakeholder_dialogue", form_version="1", project_id=None))
in_observer = threading.Event()


def busy_observer(event):
    """Runs Python for a second on the first event: the agent's thread then asks for the GIL
    every few milliseconds, so an interpreter finalising meanwhile is sure to catch it."""
    if in_observer.is_set():
        return
    in_observer.set()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        pass


handle = minga.observe_sync(phone, busy_observer)
agent = phone.start_sync_agent(minga.enrol(hub_url, code))
agent.network_available(True)
if not in_observer.wait(timeout=60):
    sys.exit("the agent never called its observer")

if order == "close":
    phone.close()
elif order == "close-then-stop":
    phone.close()
    agent.stop()
elif order == "stop-then-close":
    agent.stop()
    phone.close()
elif order == "close-twice":
    phone.close()
    phone.close()
elif order == "cancel-then-close":
    handle.cancel()
    phone.close()
elif order == "drop-the-store":
    del phone
    gc.collect()
elif order == "exit-without-close":
    pass
else:
    sys.exit(f"unknown order {order}")
print("done", order, flush=True)
