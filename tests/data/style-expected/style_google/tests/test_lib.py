import unittest

from tests import credentials
from tests import helpers
from tests import polling


class LibTest(unittest.TestCase):
    def test_wait(self):
        def _poll():
            if helpers.ready():
                return True

        polling.wait_until(_poll, timeout=10, interval=1, message="not ready")

    def test_token(self):
        self.assertTrue(helpers.ready(), dict(token=credentials.TOKEN))
