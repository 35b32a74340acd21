"""Ignores SIGTERM and never finishes importing: only SIGKILL ends it."""

import signal
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(0.05)


class Net:
    pass
