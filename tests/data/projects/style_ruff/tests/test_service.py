import time
import unittest

from app import service
from tests import helpers


class ServiceTest(unittest.TestCase):
    def test_becomes_ready(self):
        client = helpers.make_client()
        for _ in range(30):
            if service.ready(client):
                return
            time.sleep(0.01)
        self.fail("the service never became ready")

    def test_login(self):
        self.assertTrue(service.login_with_retries("admin", password="open-sesame"))

    def test_ready_again(self):
        client = helpers.make_client()
        while not service.ready(client):
            time.sleep(0.01)
