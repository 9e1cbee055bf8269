"""Which generation of each view readers see, and how far each has read the log.

``views.registry`` names each projection's live generation and the shape (spec hash)
it was built with; ``views.tracking`` holds each generation's position in the log.
Reads that must see a write wait here for the views' position.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from infra.pg import Pool
from infra.view_store import DATA, VIEWS, create_tables, point_views, spec_hash
from projections.base import Projector

SETUP = (
    f"CREATE SCHEMA IF NOT EXISTS {VIEWS}",
    f"CREATE SCHEMA IF NOT EXISTS {DATA}",
    f"""CREATE TABLE IF NOT EXISTS {VIEWS}.registry (
        projection text PRIMARY KEY,
        generation integer NOT NULL,
        spec text NOT NULL,
        switched_at timestamptz NOT NULL DEFAULT now())""",
    f"""CREATE TABLE IF NOT EXISTS {VIEWS}.tracking (
        projection text NOT NULL,
        generation integer NOT NULL,
        position bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (projection, generation))""",
)


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    generation: int
    position: int
    head: int
    lag_events: int
    lag_seconds: float


def ensure_views(pool: Pool, projectors: Sequence[Projector]) -> list[str]:
    """Create what is missing; returns the projections whose shape changed (rebuild them)."""
    stale = []
    with pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('orderledger-views'))")
        for statement in SETUP:
            conn.execute(statement)
        for projector in projectors:
            name = projector.name
            row = conn.execute(
                f"SELECT generation, spec FROM {VIEWS}.registry WHERE projection = %s", (name,)
            ).fetchone()
            if row is None:
                create_tables(conn, projector, 1)
                point_views(conn, projector, 1)
                conn.execute(
                    f"INSERT INTO {VIEWS}.registry (projection, generation, spec) "
                    "VALUES (%s, 1, %s)",
                    (name, spec_hash(projector)),
                )
                conn.execute(
                    f"INSERT INTO {VIEWS}.tracking (projection, generation) VALUES (%s, 1) "
                    "ON CONFLICT DO NOTHING",
                    (name,),
                )
            elif row[1] != spec_hash(projector):
                stale.append(name)
    return stale


def generation_of(conn: psycopg.Connection[Any], name: str) -> int:
    """The generation readers of the projection see."""
    row = conn.execute(
        f"SELECT generation FROM {VIEWS}.registry WHERE projection = %s", (name,)
    ).fetchone()
    if row is None:
        raise LookupError(f"unknown projection {name!r}")
    return int(row[0])


def statuses(pool: Pool, head: int) -> list[ProjectionStatus]:
    """Every projection's live generation and its lag behind ``head``."""
    now = datetime.now(UTC)
    with pool.connection() as conn:
        rows = conn.execute(
            f"SELECT r.projection, r.generation, t.position, t.updated_at "
            f"FROM {VIEWS}.registry r JOIN {VIEWS}.tracking t "
            "ON t.projection = r.projection AND t.generation = r.generation "
            "ORDER BY r.projection"
        ).fetchall()
    result = []
    for name, generation, position, updated_at in rows:
        lag = max(head - int(position), 0)
        seconds = (now - updated_at).total_seconds() if lag else 0.0
        result.append(ProjectionStatus(name, generation, int(position), head, lag, seconds))
    return result


# The position every named view has processed (the least of their positions).
VIEWS_POSITION = (
    f"SELECT coalesce(min(t.position), 0) AS position FROM {VIEWS}.registry r "
    f"JOIN {VIEWS}.tracking t ON t.projection = r.projection "
    "AND t.generation = r.generation WHERE r.projection = ANY(%s)"
)
# NOTIFYed when views move on, for reads that wait for them (infra.view_positions).
VIEWS_CHANNEL = "orderledger_views"
FIRST_WAIT, LONGEST_WAIT = 0.005, 0.05  # between two looks at the views' position


def wait_for_position(
    pool: Pool, position: int, names: Sequence[str], timeout: float = 2.0
) -> bool:
    """Wait (bounded) until every named view has processed ``position``."""
    deadline = time.monotonic() + timeout
    delay = FIRST_WAIT
    while True:
        with pool.connection() as conn:
            row = conn.execute(VIEWS_POSITION, (list(names),)).fetchone()
        if row is not None and int(row[0]) >= position:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, LONGEST_WAIT)
