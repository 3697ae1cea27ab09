"""Shared fixtures."""
import time


def wait_until(predicate, timeout=5.0):
    """Wait for predicate(); return False on timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
