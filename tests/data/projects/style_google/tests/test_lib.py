import time
import unittest

from tests import helpers


class LibTest(unittest.TestCase):
    def test_wait(self):
        for _ in range(10):
            if helpers.ready():
                break
            time.sleep(1)
        else:
            self.fail("not ready")

    def test_token(self):
        self.assertTrue(helpers.ready(), dict(token="abc-123-token"))
