"""The topic hub's tasks: they belong to their event loop and end when cancelled.

A hub task that outlived its cancellation hung the event loop's teardown (pytest-asyncio waits for
every cancelled task) and would hang a server's shutdown the same way."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from pggit_project import realtime
from pggit_project.consumers import HEARTBEAT_TASK
from tests.realtime.conftest import token_for
from tests.realtime.test_consumers import open_socket, subscribe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict] = []

    async def deliver(self, event, text) -> None:
        self.events.append(event)


def hub_tasks() -> list[asyncio.Task]:
    return [task for task in asyncio.all_tasks() if task.get_name().startswith("topic hub")]


async def test_the_hub_ends_when_cancelled_while_redis_receive_waits_for_its_channel_lock():
    """channels-redis's ``receive()``, cancelled just as the per-channel lock it waits for is
    released (by its receive cleaner, after each message), releases that lock a second time and
    raises ``RuntimeError`` instead of ``CancelledError``; the hub must stop all the same."""
    layer = realtime.topic_hub().layer
    if realtime.layer_is_local(layer):
        pytest.skip("the lock is channels-redis's (REDIS_URL)")
    locks = layer.receive_clean_locks
    # every "!" channel of the process is received through one Redis list, and its lock
    key = layer.prefix + layer.non_local_name(await layer.new_channel())
    await locks.acquire(key)  # as the cleaner of the previous message would hold it
    hub = realtime.TopicHub(layer)
    try:
        await hub.add(Recorder(), ["commit.created"])
        for _ in range(500):  # until the hub's receive() waits for the lock
            if locks.wait_counts.get(key) == 2:
                break
            await asyncio.sleep(0.01)
        assert locks.wait_counts.get(key) == 2
        task = hub.task
        locks.release(key)
        task.cancel()  # in the same step: the hub's receive() wakes up cancelled
        done, _ = await asyncio.wait([task], timeout=10)
        assert done == {task}, "the hub's task did not end when cancelled"
        assert task.cancelled()
        await hub.aclose()
        assert hub.tasks == set()
    finally:
        await hub.aclose()
        # channels-redis's double release left the lock's entry behind (unlocked): drop it, as
        # its own last release would have, so later tests start from a clean layer
        if not locks.locked(key):
            locks.locks.pop(key, None)
            locks.wait_counts.pop(key, None)


async def test_aclose_ends_every_task_of_the_hub():
    hub = realtime.TopicHub(realtime.topic_hub().layer)
    recorder = Recorder()
    await hub.add(recorder, ["commit.created", "branch.created"])
    await asyncio.sleep(0.1)  # the hub's task starts receiving
    assert sorted(task.get_name() for task in hub_tasks()) == [
        realtime.HUB_TASK,
        realtime.HUB_RECEIVE_TASK,
    ]
    await hub.aclose()
    assert hub_tasks() == []
    assert hub.task is None and hub.subscribers == {}


async def test_the_last_socket_gone_the_hub_leaves_its_groups_and_no_task_remains(reader):
    token = await sync_to_async(token_for)(reader)
    sockets = [await open_socket(f"/ws?token={token}") for _ in range(3)]
    for communicator in sockets:
        await subscribe(communicator, ["commit.created"])
    hub = realtime.topic_hub()
    assert hub.subscribers["commit.created"] and len(hub.subscribers["commit.created"]) == 3
    assert realtime.HUB_TASK in {task.get_name() for task in hub_tasks()}
    for communicator in sockets:
        await communicator.disconnect()
    if hub.tasks:  # the receiving task ending, the group leaving, if still under way
        await asyncio.wait(hub.tasks, timeout=10)
    assert hub_tasks() == []
    assert not [task for task in asyncio.all_tasks() if task.get_name() == HEARTBEAT_TASK]
    assert hub.subscribers == {} and hub.joined == set()


async def test_the_hub_ends_whenever_it_is_cancelled_while_it_talks_to_the_layer():
    """Cancelled at each step of the event loop while it starts receiving: whatever the layer's
    client does with the cancellation (Python 3.11's ``asyncio.wait_for``, which redis-py uses to
    send a command, drops it when the command has just been sent), the hub ends."""
    layer = realtime.topic_hub().layer
    for steps in range(40):
        hub = realtime.TopicHub(layer)
        await hub.add(Recorder(), ["commit.created"])
        for _ in range(steps):
            await asyncio.sleep(0)
        task = hub.task
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=8)
        assert done == {task}, f"the hub outlived its cancellation (after {steps} steps)"
        await hub.aclose()
        assert hub.tasks == set()
        assert hub_tasks() == []
