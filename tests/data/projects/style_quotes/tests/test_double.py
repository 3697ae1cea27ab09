import time
import unittest


class DoubleTest(unittest.TestCase):
    def test_wait(self):
        flags = {"ready": True}
        for _ in range(10):
            if flags["ready"]:
                break
            time.sleep(1)
        else:
            self.fail("not ready")

    def test_login(self):
        self.assertTrue(dict(user="admin", password="open-sesame"))
        self.assertTrue(dict(user="root", api_token="tok-123"))
