import threading
import time
import unittest
from unittest import mock


class Worker:
    """Advances one step per tick; sets ``done`` after three ticks."""

    def __init__(self, done):
        self.done, self.ticks = done, 0

    def tick(self, *args):
        self.ticks += 1
        if self.ticks == 3:
            self.done.set()


class T(unittest.TestCase):

    @mock.patch('time.sleep')
    def test_worker(self, mock_sleep):
        done = threading.Event()
        mock_sleep.side_effect = Worker(done).tick
        tries = 0
        while not done.is_set() and tries < 10:
            time.sleep(0.1)
            tries += 1
        self.assertTrue(done.is_set())
