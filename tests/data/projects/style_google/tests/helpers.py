"""Helpers of the tests."""


def ready():
    return True
