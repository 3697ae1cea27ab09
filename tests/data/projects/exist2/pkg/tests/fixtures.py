"""Shared fixtures."""
from pkg.tests.waiters import wait_until  # noqa
