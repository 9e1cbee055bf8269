"""Queries over the file views (``queries.images.ProductImages`` and the sweep's
``commands.files.sweep.UnusedFiles``)."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from infra.pg import Pool
from infra.view_store import VIEWS
from queries.images import FileUrl, ProductImage, images_from


class PostgresFileReads:
    def __init__(self, pool: Pool, url_for: FileUrl) -> None:
        self._pool = pool
        self._url_for = url_for

    def images_of(self, product_ids: Sequence[str]) -> dict[str, list[ProductImage]]:
        if not product_ids:
            return {}
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT product_id, images FROM {VIEWS}.product_images "
                "WHERE product_id = ANY(%s) AND images <> '[]'::jsonb",
                (list(product_ids),),
            ).fetchall()
        return {row[0]: images_from(row[1], self._url_for) for row in rows}

    def review_photos(self, review_ids: Sequence[UUID]) -> dict[UUID, list[ProductImage]]:
        if not review_ids:
            return {}
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT review_id, photos FROM {VIEWS}.review_photos "
                "WHERE review_id = ANY(%s) AND photos <> '[]'::jsonb",
                (list(review_ids),),
            ).fetchall()
        return {row[0]: images_from(row[1], self._url_for) for row in rows}

    def unused(self, *, before: datetime, limit: int) -> Sequence[UUID]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT file_id FROM {VIEWS}.stored_files "
                "WHERE stored AND owner_count = 0 AND changed_at < %s "
                "ORDER BY changed_at LIMIT %s",
                (before, limit),
            ).fetchall()
        return [row[0] for row in rows]
