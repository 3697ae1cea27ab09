"""Shared fixtures."""
import time


def wait_for_file(path):
    for _ in range(10):
        if path.exists():
            break
        time.sleep(1)
    else:
        raise AssertionError('no file')


def wait_for_ready(api):
    while not api.ready():
        time.sleep(1)
