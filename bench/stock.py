"""The storefront-orders view the way the eventsourcing library's stock runner builds it.

``ProjectionRunner`` subscribes to the application (topic-filtered pages of the
notification log, decoded one by one) and calls ``Projection.process_event`` for
each event; the view, a ``PostgresTrackingRecorder``, writes the event's change
and its tracking record in one transaction — one event per transaction, as in
the library's documentation. The fold is our own (``StorefrontOrdersProjector``),
so both sides compute the same rows.
"""

from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from domain.payment_collection import PaymentCollection
from infra.view_store import _dumps
from projections.order_fold import ORDER_EVENTS, PAYMENT_EVENTS, is_order_event
from projections.orders import STOREFRONT_ORDERS, StorefrontOrdersProjector

NAME = "stock_storefront_orders"
ROWS = NAME
LOOKUP = "stock_payment_orders"
_JSONB = {c for c, kind in STOREFRONT_ORDERS.columns.items() if kind == "jsonb"}


class StockStorefrontOrdersView(PostgresTrackingRecorder):
    """The storefront order rows, plus the payment → order lookup, with tracking."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        columns = ", ".join(f"{c} {k}" for c, k in STOREFRONT_ORDERS.columns.items())
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.{1} ("
                + columns
                + ", PRIMARY KEY (order_id), UNIQUE (payment_intent_id))"
            ).format(schema, Identifier(ROWS)),
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.{1} (payment_collection_id uuid PRIMARY KEY, "
                "order_id uuid NOT NULL)"
            ).format(schema, Identifier(LOOKUP)),
        ]
        cols = list(STOREFRONT_ORDERS.columns)
        self._select_row = SQL("SELECT * FROM {0}.{1} WHERE order_id = %s").format(
            schema, Identifier(ROWS)
        )
        self._select_order = SQL(
            "SELECT order_id FROM {0}.{1} WHERE payment_collection_id = %s"
        ).format(schema, Identifier(LOOKUP))
        self._insert_lookup = SQL("INSERT INTO {0}.{1} VALUES (%s, %s)").format(
            schema, Identifier(LOOKUP)
        )
        self._upsert = SQL(
            "INSERT INTO {0}.{1} ({2}) VALUES ({3}) ON CONFLICT (order_id) DO UPDATE SET {4}"
        ).format(
            schema,
            Identifier(ROWS),
            SQL(", ").join(map(Identifier, cols)),
            SQL(", ").join(SQL("%s") for _ in cols),
            SQL(", ").join(SQL("{0} = EXCLUDED.{0}").format(Identifier(c)) for c in cols[1:]),
        )
        self._fold = StorefrontOrdersProjector()

    def project(self, event: Any, tracking: Tracking) -> None:
        """Fold one event into its order's row and record the tracking, in one transaction."""
        with self.datastore.transaction(commit=True) as curs:
            kind: type = type(event)
            if is_order_event(kind):
                order_id = event.originator_id
            else:
                if isinstance(event, PaymentCollection.Created):
                    curs.execute(self._insert_lookup, (event.originator_id, event.order_id))
                    order_id = event.order_id
                else:
                    curs.execute(self._select_order, (event.originator_id,), prepare=True)
                    found = curs.fetchone()
                    order_id = found["order_id"] if found else None
            if order_id is not None:
                curs.execute(self._select_row, (order_id,), prepare=True)
                row = curs.fetchone()
                new = self._fold.apply(event, dict(row) if row else None)
                if new is not None:
                    params = [
                        Jsonb(v, dumps=_dumps) if c in _JSONB and v is not None else v
                        for c, v in ((c, new.get(c)) for c in STOREFRONT_ORDERS.columns)
                    ]
                    curs.execute(self._upsert, params, prepare=True)
            self._insert_tracking(curs, tracking)


class StockStorefrontOrdersProjection(Projection[StockStorefrontOrdersView]):
    name = NAME
    topics = tuple(get_topic(cls) for cls in ORDER_EVENTS + PAYMENT_EVENTS)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.project(domain_event, tracking)
