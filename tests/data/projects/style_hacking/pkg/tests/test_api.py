import time

import pytest

from pkg import api
from pkg.tests import base

pytest.importorskip('json')

from pkg import extra  # noqa: E402


class ApiTest(base.TestCase):
    def test_wait(self):
        for _ in range(10):
            if api.ready():
                break
            time.sleep(1)
        else:
            self.fail('not ready')

    def test_admin(self):
        self.assertTrue(api.login(user='admin', password='hunter2-admin'))
        self.assertIsNotNone(extra)
