import pytest

from pkg import api
from pkg.tests import base
from pkg.tests.fixtures import credentials
from pkg.tests.fixtures import polling

pytest.importorskip('json')

from pkg import extra  # noqa: E402


class ApiTest(base.TestCase):
    def test_wait(self):
        def _poll():
            if api.ready():
                return True

        polling.wait_until(_poll, timeout=10, interval=1, message='not ready')

    def test_admin(self):
        self.assertTrue(api.login(user='admin', password=credentials.PASSWORD))
        self.assertIsNotNone(extra)
