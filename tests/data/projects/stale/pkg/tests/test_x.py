import time
import unittest


class Api:
    def __init__(self):
        self.calls = iter(['BUILD', ConnectionError(), 'ACTIVE'])

    def status(self):
        value = next(self.calls)
        if isinstance(value, Exception):
            raise value
        return value


class T(unittest.TestCase):

    def test_a(self):
        api = Api()
        for _ in range(10):
            try:
                status = api.status()
            except ConnectionError:
                pass  # transient: keep the last status
            if status == 'ACTIVE':
                break
            time.sleep(0.01)
        else:
            self.fail('never active')
