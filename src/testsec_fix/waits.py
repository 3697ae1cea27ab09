"""The wait helpers TSF101 adds to a project's test helpers, as source text.

Each mirrors the loops it replaces, so the rewrite keeps their timing: ``wait_until`` counts
its budget in sleeps (a loop counted in rounds), ``wait_until_deadline`` in wall-clock time
(a loop bounded by ``time.monotonic() < deadline``); the ``_async`` pair sleeps with
``asyncio.sleep`` and awaits a predicate that returns an awaitable.
"""
from __future__ import annotations

from typing import Dict, Tuple

from .model import ImportRequest

WAIT_UNTIL = '''\
def wait_until(predicate, timeout, interval, message):
    """Call ``predicate`` until it returns a truthy value; return that value.

    Sleeps ``interval`` seconds between calls and gives up after sleeping
    ``timeout`` seconds in all: the budget is counted in sleeps, as in the loop
    this replaced, so a slow ``predicate`` never shortens the wait. Then it
    fails the test with ``message``, a string or a callable returning one
    (called only on failure).
    """
    attempts = int(round(timeout / interval)) + 1 if interval > 0 else 1
    for attempt in range(max(attempts, 1)):
        result = predicate()
        if result:
            return result
        if attempt + 1 < attempts:
            time.sleep(interval)
    raise AssertionError(message() if callable(message) else message)
'''

WAIT_UNTIL_DEADLINE = '''\
def wait_until_deadline(predicate, timeout, interval, message=None,
                        error=AssertionError):
    """Call ``predicate`` until it returns a truthy value; return that value.

    Sleeps ``interval`` seconds between calls and gives up when a call made
    ``timeout`` seconds of wall-clock time (time.monotonic) or more after the
    start still returns a falsy value: the budget is a deadline, as in the loop
    this replaced. Then it raises ``error`` with ``message``, a string or a
    callable returning one (called only on failure, so it may raise itself);
    with ``message=None`` it returns that last falsy value instead.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if result or message is None:
        return result
    raise error(message() if callable(message) else message)
'''

WAIT_UNTIL_ASYNC = '''\
async def wait_until_async(predicate, timeout, interval, message=None,
                           error=AssertionError):
    """``wait_until`` for coroutines: await ``predicate()`` if it returns an
    awaitable, sleep with ``asyncio.sleep``. The budget is counted in sleeps
    (``timeout`` / ``interval`` of them); then it raises ``error`` with
    ``message`` (a string or a callable returning one, called only on failure),
    or with ``message=None`` returns the last falsy value.
    """
    attempts = int(round(timeout / interval)) + 1 if interval > 0 else 1
    for attempt in range(max(attempts, 1)):
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if attempt + 1 < attempts:
            await asyncio.sleep(interval)
    if message is None:
        return result
    raise error(message() if callable(message) else message)
'''

WAIT_UNTIL_DEADLINE_ASYNC = '''\
async def wait_until_deadline_async(predicate, timeout, interval, message=None,
                                    error=AssertionError):
    """``wait_until_deadline`` for coroutines: await ``predicate()`` if it
    returns an awaitable, sleep with ``asyncio.sleep``. Gives up when a call
    made ``timeout`` seconds (time.monotonic) or more after the start still
    returns a falsy value; then it raises ``error`` with ``message`` (a string
    or a callable returning one, called only on failure), or with
    ``message=None`` returns that last falsy value.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result or time.monotonic() >= deadline:
            break
        await asyncio.sleep(interval)
    if result or message is None:
        return result
    raise error(message() if callable(message) else message)
'''

# name -> (source, module-level imports it needs), by (wall clock?, async?)
HELPERS: Dict[Tuple[bool, bool], Tuple[str, str, Tuple[ImportRequest, ...]]] = {
    (False, False): ("wait_until", WAIT_UNTIL, (ImportRequest("time"),)),
    (True, False): ("wait_until_deadline", WAIT_UNTIL_DEADLINE, (ImportRequest("time"),)),
    (False, True): ("wait_until_async", WAIT_UNTIL_ASYNC,
                    (ImportRequest("asyncio"), ImportRequest("inspect"))),
    (True, True): ("wait_until_deadline_async", WAIT_UNTIL_DEADLINE_ASYNC,
                   (ImportRequest("asyncio"), ImportRequest("inspect"), ImportRequest("time"))),
}
