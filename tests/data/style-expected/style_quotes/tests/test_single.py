import unittest

from tests import credentials
from tests import polling


class SingleTest(unittest.TestCase):
    def test_login(self):
        self.assertTrue(dict(user='admin', password=credentials.PASSWORD))

    def test_wait(self):
        done = ['yes']
        polling.wait_until(
            lambda: done, timeout=60, interval=1,
            message='Timed out after 60 s waiting for: done')
