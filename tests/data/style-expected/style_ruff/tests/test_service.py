import unittest

from app import service
from tests import credentials, helpers, polling


class ServiceTest(unittest.TestCase):
    def test_becomes_ready(self):
        client = helpers.make_client()

        def _poll():
            if service.ready(client):
                return True

        polling.wait_until(
            _poll, timeout=0.3, interval=0.01, message="the service never became ready")

    def test_login(self):
        self.assertTrue(service.login_with_retries("admin", password=credentials.PASSWORD))

    def test_ready_again(self):
        client = helpers.make_client()
        polling.wait_until(
            lambda: service.ready(client), timeout=60, interval=0.01,
            message="Timed out after 60 s waiting for: service.ready(client)")
