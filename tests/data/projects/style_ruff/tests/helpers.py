"""Helpers of the tests."""


def make_client():
    return object()
