"""What the views must say about a shop's history, read back from PostgreSQL."""

from __future__ import annotations

from typing import Any

from domain.inventory_level import InventoryLevel
from tests.integration.projection_world import (
    Clock,
    Sale,
    Shop,
    money_movements,
    release,
    reserve,
    rows_for,
    stock,
)


def assert_views_agree_with(shop: Shop, sales: list[Sale], levels: list[InventoryLevel]) -> None:
    """The live views say what the aggregates say, for these sales and levels only."""
    pool = shop.pool
    admin = {r["order_id"]: r for r in rows_for(pool, "admin_orders", "order_id", ids(sales))}
    storefront = {
        r["order_id"]: r for r in rows_for(pool, "storefront_orders", "order_id", ids(sales))
    }
    schedule = {
        r["payment_collection_id"]: r
        for r in rows_for(pool, "capture_schedule", "order_id", ids(sales))
    }
    movements = rows_for(pool, "order_transactions", "order_id", ids(sales))
    assert len(movements) == money_movements(*sales)
    for sale in sales:
        order, payment = sale.order, sale.payment
        row = admin[order.id]
        assert row["status"] == order.status
        assert row["payment_status"] == payment.status
        assert row["items"] == [line.to_data() for line in order.lines.values()]
        assert (row["subtotal"], row["tax_total"], row["total"]) == (
            order.subtotal,
            order.tax_total,
            order.total,
        )
        assert row["version"] == order.version
        paid = row["payment"]
        assert (paid["amount"], paid["authorized"], paid["captured"], paid["refunded"]) == (
            payment.amount,
            payment.authorized,
            payment.captured,
            payment.refunded,
        )
        assert (paid["voided"], paid["capture_attempts"]) == (
            payment.voided,
            payment.capture_attempts,
        )
        # The storefront shows the same order and money states, without personal data.
        public = storefront[order.id]
        for column in ("status", "payment_status", "items", "total", "version", "updated_at"):
            assert public[column] == row[column]
        due = schedule[payment.id]
        assert (due["amount"], due["authorized"], due["attempts"], due["due_at"]) == (
            payment.amount,
            payment.authorized,
            payment.capture_attempts,
            payment.capture_due_at,
        )
        if payment.voided or payment.is_captured:
            assert due["status"] == ("voided" if payment.voided else "captured")
        ledger = sorted(
            (r for r in movements if r["payment_collection_id"] == payment.id),
            key=lambda r: int(r["id"].rsplit(":", 1)[1]),
        )
        assert [(r["kind"], r["amount"], r["reference"], r["created_at"]) for r in ledger] == [
            (t["kind"], t["amount"], t["reference"], t["created_at"]) for t in payment.transactions
        ]
    stocked = {
        r["level_id"]: r for r in rows_for(pool, "inventory_levels", "level_id", ids(levels))
    }
    for level in levels:
        row = stocked[level.id]
        assert (row["stocked"], row["reserved"], row["available"]) == (
            level.stocked,
            level.reserved,
            level.available,
        )


def ids(aggregates: list[Any]) -> list[Any]:
    return [a.order_id if isinstance(a, Sale) else a.id for a in aggregates]


def busy_day(shop: Shop, orders: int = 6) -> tuple[list[Sale], list[InventoryLevel]]:
    """Orders with every kind of money movement, and stock reserved and released."""
    clock = Clock()
    levels = [stock(20), stock(2, allow_backorder=True)]
    sales = []
    shop.ledger.save_all(*levels)
    for n in range(orders):
        sale = Sale.place(clock=clock)
        sales.append(sale)
        shop.ledger.save_all(sale.order, sale.payment)
        sale.add_line(300 + n, 1 + n % 3, 700)
        if n % 3 == 2:
            sale.cancel()
        else:
            sale.capture()
            sale.refund(0.25)
            sale.refund(0.5)
        reserve(levels[n % 2], 1 + n % 3, clock())
        release(levels[0], 1, clock())
        shop.ledger.save_all(sale.order, sale.payment, *levels)
    return sales, levels
