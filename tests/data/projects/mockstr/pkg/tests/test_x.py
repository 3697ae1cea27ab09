import time
import unittest
from unittest import mock


class Api:
    def __init__(self):
        self.n = 0

    def ready(self):
        self.n += 1
        return self.n >= 3


class T(unittest.TestCase):

    def setUp(self):
        self.api = Api()

    def _wait(self):
        for _ in range(10):
            if self.api.ready():
                break
            time.sleep(1)
        else:
            self.fail('a')

    @mock.patch('pkg.tests.test_x.time.sleep')
    def test_a(self, mock_time):
        self._wait()
        self.assertEqual(2, mock_time.call_count)
