"""A Medusa v2 Store API over the ledger's own use cases and views (``/medusa/store/…``).

A storefront written for ``@medusajs/js-sdk`` checks out against orderledger with its
``baseUrl`` pointed at the prefix. Nothing here decides anything about money or stock:
every route translates to the native cart, checkout and read use cases and back.
"""
