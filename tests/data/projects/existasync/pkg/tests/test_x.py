import time
import unittest


class T(unittest.TestCase):

    def test_a(self):
        for _ in range(10):
            if self.api.ready():
                break
            time.sleep(1)
        else:
            self.fail('a')
