"""What a true miss of a read by id costs now that a miss asks the event store first.

A read by id that misses in its view probes the event store (``queries.consistency``):
one backward scan of the events' primary key per id. This measures, on the asyncio pool
the API reads on, over an event store of 200k events:

- the view's lookup alone (the read as it was: a miss, then 404);
- the whole miss path of ``read_by_id`` (the view's lookup, the probe for the order,
  then NotFound);

and prints the probe's plan. Run: ``python -m bench.read_miss`` (DATABASE_URL's server).
"""

import asyncio
import time
import uuid
from typing import Any

from bench.common import bench_database, console, figure, machine, median, write_results
from infra.container import build_container
from infra.database import conninfo
from infra.reads_by_id import AsyncReadsById
from infra.settings import Settings
from infra.storefront_reads import AsyncStorefrontReads
from infra.view_positions import PostgresViewPositions
from queries.consistency import read_by_id
from queries.errors import NotFoundError

EVENTS = 200_000
READS = 2_000
RUNS = 5


async def _measure(url: str, events_table: tuple[str, str]) -> dict[str, Any]:
    storefront = await AsyncStorefrontReads.open(url)
    reads = AsyncReadsById(storefront)
    positions = PostgresViewPositions(storefront, conninfo(url), events_table=events_table)

    async def view_only() -> None:
        assert await reads.admin_order(uuid.uuid4()) is None

    async def whole_miss() -> None:
        order_id = uuid.uuid4()
        try:
            await read_by_id(
                lambda: reads.admin_order(order_id),
                positions=positions,
                aggregate_ids=[order_id],
                views=("admin_orders",),
                not_found="none",
            )
        except NotFoundError:
            return
        raise AssertionError("a random id was found")

    async def per_read(what: Any) -> float:
        started = time.perf_counter()
        for _ in range(READS):
            await what()
        return (time.perf_counter() - started) / READS * 1e6

    try:
        for warm in (view_only, whole_miss):
            await per_read(warm)
        before, after = [], []
        for _ in range(RUNS):  # interleaved, so drift in the machine's load hits both
            before.append(await per_read(view_only))
            after.append(await per_read(whole_miss))
        plan = await storefront.rows(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) "
            + positions.last_of(1),
            (uuid.uuid4(),),
        )
    finally:
        await storefront.close()
    return {
        "before": before,
        "after": after,
        "plan": [next(iter(row.values())) for row in plan],
    }


def main() -> None:
    host = machine()
    with bench_database("read_miss") as url:
        container = build_container(Settings(database_url=url))
        recorder: Any = container.ledger.recorder
        schema, table = recorder.datastore.schema, recorder.events_table_name
        with container.pool.connection() as conn:
            conn.execute(
                f'INSERT INTO "{schema}"."{table}" (originator_id, originator_version, topic, state) '
                "SELECT gen_random_uuid(), v, 'bench', '\\x00'::bytea "
                "FROM generate_series(1, %s) AS s(i), generate_series(1, 4) AS v",
                (EVENTS // 4,),
            )
            conn.execute(f'ANALYZE "{schema}"."{table}"')
        container.close()
        measured = asyncio.run(_measure(url, (schema, table)))
    before, after = measured["before"], measured["after"]
    extra = median(after) - median(before)
    figures = [
        figure(
            "read-miss",
            "true miss of a read by id (view lookup + event store probe)",
            after,
            "µs/read",
            baseline="the view lookup alone (the miss as it was)",
            baseline_runs=before,
            note=f"{extra:.0f} µs more per miss: one round trip, one index probe",
        )
    ]
    write_results("read-miss", host, figures, plan=measured["plan"], events=EVENTS)
    console.print(f"view lookup alone: {median(before):.0f} µs/read (runs {before})")
    console.print(f"whole miss path:   {median(after):.0f} µs/read (runs {after})")
    console.print("probe plan:\n" + "\n".join(measured["plan"]))


if __name__ == "__main__":
    main()
