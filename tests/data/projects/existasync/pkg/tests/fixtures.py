"""Shared fixtures: a wait_until of another kind (a coroutine function)."""


async def wait_until(predicate, timeout, interval, message):
    return await predicate()
