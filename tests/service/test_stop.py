"""A stop always finishes: the service's loops end when cancelled, whatever they were waiting for."""

from __future__ import annotations

import asyncio

from listserv.service import cancel_all, wait_until_set


async def waiting_loop(event: asyncio.Event) -> None:
    while True:
        await wait_until_set(event, 10)


def test_a_loop_woken_and_cancelled_at_the_same_moment_stops():
    """On Python 3.11 asyncio.wait_for returns the event's result and swallows a cancellation
    that arrives with it; the loops would then run forever and `serve` would never stop."""

    async def scenario() -> bool:
        event = asyncio.Event()
        task = asyncio.create_task(waiting_loop(event))
        await asyncio.sleep(0.01)
        event.set()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
        task.cancel()
        return bool(done)

    assert asyncio.run(scenario())


def test_cancel_all_cancels_again_a_task_that_swallowed_its_cancellation():
    async def stubborn() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass  # as a library's wait_for may do
        await asyncio.sleep(10)

    async def scenario() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        tasks = [asyncio.create_task(stubborn()), asyncio.create_task(waiting_loop(asyncio.Event()))]
        await asyncio.sleep(0.01)
        began = loop.time()
        await cancel_all(tasks, 5)
        return all(task.done() for task in tasks), loop.time() - began

    stopped, seconds = asyncio.run(scenario())
    assert stopped and seconds < 2
