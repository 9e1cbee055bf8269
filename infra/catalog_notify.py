"""The catalog tables' change notification: one statement trigger per table (issue 25).

Apart from ``infra.catalog_cache`` so that ``infra.schema`` can make the triggers
without importing the catalog store (which imports the schema).
"""

CHANNEL = "orderledger_catalog"
CATALOG_TABLES = (
    "regions",
    "stock_locations",
    "sales_channels",
    "shipping_options",
    "products",
    "variants",
)


def catalog_triggers(schema: str) -> tuple[str, ...]:
    """Idempotent DDL: one statement-level trigger per catalog table, all one function."""
    function = (
        f"CREATE OR REPLACE FUNCTION {schema}.notify_catalog_changed() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); "
        "RETURN NULL; END $$"
    )
    triggers = (
        f"CREATE OR REPLACE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {schema}.{table} FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_catalog_changed()"
        for table in CATALOG_TABLES
    )
    return (function, *triggers)
