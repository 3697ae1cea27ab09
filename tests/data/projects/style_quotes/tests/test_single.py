import time
import unittest


class SingleTest(unittest.TestCase):
    def test_login(self):
        self.assertTrue(dict(user='admin', password='open-sesame'))

    def test_wait(self):
        done = ['yes']
        while not done:
            time.sleep(1)
