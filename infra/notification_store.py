"""The e-mail delivery log in Postgres (``commands.notify.ports.DeliveryLog``)."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from commands.notify.notifier import FOLLOWER
from commands.notify.ports import Delivery, Email
from infra.pg import Pool
from infra.schema import SCHEMA

TABLE = f"{SCHEMA}.notifications"
POSITIONS = f"{SCHEMA}.notifier_positions"


class PostgresDeliveryLog:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def position(self, follower: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT position FROM {POSITIONS} WHERE follower = %s", (follower,)
            ).fetchone()
        return int(row[0]) if row else 0

    def begin(self, follower: str, position: int) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {POSITIONS} (follower, position) VALUES (%s, %s) "
                "ON CONFLICT (follower) DO NOTHING",
                (follower, position),
            )

    def record(
        self, emails: Sequence[Email], *, follower: str, after: int, up_to: int, now: datetime
    ) -> bool:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                f"INSERT INTO {POSITIONS} (follower, position) VALUES (%s, 0) "
                "ON CONFLICT (follower) DO NOTHING",
                (follower,),
            )
            # The row lock makes a second notifier wait here, then find it has moved.
            row = conn.execute(
                f"SELECT position FROM {POSITIONS} WHERE follower = %s FOR UPDATE", (follower,)
            ).fetchone()
            if row is None or int(row[0]) != after:
                return False
            if emails:
                with conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO {TABLE} (id, notification_id, kind, recipient, subject, "
                        "text_body, html_body, idempotency_key, order_id, next_attempt_at, "
                        "created_at, updated_at) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                        # Another notifier (or this one, its position lost) read these
                        # events before: the first decision stands.
                        "ON CONFLICT (id) DO NOTHING",
                        [
                            (
                                email.id,
                                email.notification_id,
                                email.kind,
                                email.recipient,
                                email.subject,
                                email.text,
                                email.html,
                                email.idempotency_key,
                                email.order_id,
                                now,
                                now,
                                now,
                            )
                            for email in emails
                        ],
                    )
            conn.execute(
                f"UPDATE {POSITIONS} SET position = %s WHERE follower = %s", (up_to, follower)
            )
            return True

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
        with self._pool.connection() as conn, conn.transaction():
            rows = conn.execute(
                f"UPDATE {TABLE} SET attempts = attempts + 1, next_attempt_at = %s "
                f"WHERE id IN (SELECT id FROM {TABLE} WHERE status = 'pending' "
                "AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s "
                "FOR UPDATE SKIP LOCKED) "
                "RETURNING id, recipient, subject, text_body, html_body, idempotency_key, attempts",
                (now + lease, now, limit),
            ).fetchall()
        return [Delivery(*row) for row in rows]

    def mark_sent(self, delivery_id: str, *, message_id: str, now: datetime) -> None:
        self._update(
            "status = 'sent', message_id = %s, last_error = NULL, sent_at = %s, updated_at = %s "
            "WHERE id = %s AND status <> 'sent'",
            (message_id, now, now, delivery_id),
        )

    def mark_retry(
        self, delivery_id: str, *, error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        self._update(
            "last_error = %s, next_attempt_at = %s, updated_at = %s "
            "WHERE id = %s AND status = 'pending'",
            (error, next_attempt_at, now, delivery_id),
        )

    def mark_failed(self, delivery_id: str, *, error: str, now: datetime) -> None:
        self._update(
            "status = 'failed', last_error = %s, updated_at = %s "
            "WHERE id = %s AND status = 'pending'",
            (error, now, delivery_id),
        )

    def _update(self, assignments_and_where: str, params: Sequence[object]) -> None:
        with self._pool.connection() as conn:
            conn.execute(f"UPDATE {TABLE} SET {assignments_and_where}", params)


def begin_notifications(pool: Pool, head: int) -> None:
    """Record, once and durably, where e-mail notifications start: the log's head when the
    store first runs a version that notifies (at ``db init`` on a fresh deployment, so
    every order ever placed is mailed, even one placed before a worker first runs; on a
    store with a history, its head then, so old orders are never mailed). Later calls
    change nothing."""

    PostgresDeliveryLog(pool).begin(FOLLOWER, head)
