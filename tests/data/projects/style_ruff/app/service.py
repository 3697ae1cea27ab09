"""A service the tests wait for."""

CALLS = []


def ready(client):
    CALLS.append(client)
    return len(CALLS) > 2


def login(user, password):
    return bool(user and password)


def login_with_retries(user, password, retries=0):
    return bool(user and password)
