"""The early hit path's engine-state version reads (``cachemgmt.state_version``): concurrent hits
share reads, and no hit is answered with a read sent before it was made (read-your-writes)."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from cachemgmt import state_version

pytestmark = pytest.mark.django_db(transaction=True)


def bump() -> int:
    """A committed change of the version, on a plain connection of its own (as psql's)."""
    with psycopg.connect(**state_version._connection_parameters(), autocommit=True) as other:
        return other.execute(
            "UPDATE pggit.state_version SET version = version + 1 WHERE singleton RETURNING version"
        ).fetchone()[0]


def test_concurrent_reads_share_queries_and_answer_the_current_version():
    async def scenario():
        reads = state_version._LoopConnection()
        try:
            first = await reads.read()
            sent = reads.reads
            answers = await asyncio.gather(*(reads.read() for _ in range(50)))
            return first, answers, reads.reads - sent
        finally:
            await reads.drop()

    first, answers, queries = asyncio.run(scenario())
    assert answers == [first] * 50
    assert 1 <= queries <= 2  # one batch, or the first call's alone then the rest's


def test_a_read_made_while_another_is_in_flight_sees_a_change_committed_before_it():
    # Sharing the read in flight would answer the version from before the change (a sharing of
    # that kind was stale in 48 of these 50 rounds).
    async def scenario():
        reads = state_version._LoopConnection()
        try:
            await reads.read()  # connected
            rounds = []
            for _ in range(50):
                in_flight = asyncio.ensure_future(reads.read())
                for _ in range(10):
                    await asyncio.sleep(0)  # the in-flight read is sent...
                time.sleep(0.01)  # ...and answered, its answer not yet taken by the loop
                committed = bump()  # committed before the next call is made
                after = await reads.read()
                await in_flight
                rounds.append((committed, after))
            return rounds, reads.reads
        finally:
            await reads.drop()

    rounds, queries = asyncio.run(scenario())
    assert all(after == committed for committed, after in rounds), rounds
    assert queries <= 1 + 2 * 50


def test_a_failed_read_answers_none_to_every_caller_of_its_batch(monkeypatch):
    async def scenario():
        reads = state_version._LoopConnection()
        monkeypatch.setattr(
            state_version,
            "_connection_parameters",
            lambda: {"host": "127.0.0.1", "port": 1, "dbname": "none", "connect_timeout": 2},
        )
        return await asyncio.gather(*(reads.read() for _ in range(5)))

    assert asyncio.run(scenario()) == [None] * 5
