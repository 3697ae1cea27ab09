import unittest

from tests import credentials
from tests import polling


class DoubleTest(unittest.TestCase):
    def test_wait(self):
        flags = {"ready": True}

        def _poll():
            if flags["ready"]:
                return True

        polling.wait_until(_poll, timeout=10, interval=1, message="not ready")

    def test_login(self):
        self.assertTrue(dict(user="admin", password=credentials.PASSWORD))
        self.assertTrue(dict(user="root", api_token=credentials.API_TOKEN))
