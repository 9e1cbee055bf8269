"""What every Medusa route needs: the caller's publishable key, the use cases, the reads."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Request

from commands import carts
from commands.catalog import Region
from commands.errors import CartNotFound
from commands.pricing import PricedCart, catalog_for_cart
from commands.services import Services
from domain.cart import Cart
from infra.medusa import qs
from infra.medusa.catalog_reads import MedusaCatalogReads
from infra.medusa.errors import MedusaError
from infra.medusa.shapes_catalog import region_out
from infra.medusa.shapes_checkout import cart_out
from infra.publishable_keys import PublishableKey, PublishableKeys
from queries.images import ProductImage, ProductImages
from queries.ports import ReadModels

MISSING_KEY = (
    "Publishable API key required in the request header: x-publishable-api-key. "
    "You can manage your keys in settings in the dashboard."
)
INVALID_KEY = "A valid publishable key is required to proceed with the request"


def require_publishable_key(
    request: Request,
    x_publishable_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> PublishableKey:
    """The live key the request names, or Medusa's 400 ``not_allowed``."""
    if not x_publishable_api_key:
        raise MedusaError("not_allowed", MISSING_KEY)
    keys: PublishableKeys = request.app.state.publishable_keys
    key = keys.lookup(x_publishable_api_key.strip())
    if key is None or key.revoked:
        raise MedusaError("not_allowed", INVALID_KEY)
    request.state.publishable_key = key
    return key


@dataclass(frozen=True)
class Store:
    """One request's view of the shop: through the key's sales channels only."""

    key: PublishableKey
    services: Services
    catalog: MedusaCatalogReads
    read_models: ReadModels
    images: ProductImages | None = None

    def images_of(self, product_ids: Sequence[str]) -> dict[str, list[ProductImage]]:
        """Each product's gallery (none when this process stores no files)."""
        return self.images.images_of(product_ids) if self.images is not None else {}

    def region(self, region_id: str) -> Region:
        region = self.services.catalog.region(region_id)
        if region is None:
            raise MedusaError("not_found", f"Region with id: {region_id} was not found")
        return region

    def cart(self, cart_id: UUID) -> Cart:
        """The cart, when it sells through one of the key's channels (else not found)."""
        cart = carts.load_cart(self.services, cart_id)
        if cart.sales_channel_id not in self.key.sales_channel_ids:
            raise CartNotFound(f"There is no cart {cart_id}.")
        return cart

    def render(self, priced: PricedCart) -> dict[str, Any]:
        """The cart as Medusa shows it (its PaymentIntent asked of Stripe while it is open)."""
        cart = priced.cart
        variants = catalog_for_cart(self.services.catalog, cart).variants
        intent = None
        if cart.payment_intent_id is not None and not cart.is_completed:
            intent = self.services.payments.retrieve_payment_intent(cart.payment_intent_id)
        return cart_out(priced, variants, intent, region=region_out(priced.region))


def get_store(
    request: Request, key: Annotated[PublishableKey, Depends(require_publishable_key)]
) -> Store:
    state = request.app.state
    return Store(
        key,
        state.services,
        state.medusa_catalog,
        state.read_models,
        getattr(state, "product_images", None),
    )


StoreDep = Annotated[Store, Depends(get_store)]


def query(request: Request) -> dict[str, Any]:
    """The query string as ``qs`` encoded it."""
    try:
        return qs.parse(request.query_params.multi_items())
    except qs.QueryError as error:
        raise MedusaError("invalid_data", f"Invalid query: {error}") from None


QueryDep = Annotated[dict[str, Any], Depends(query)]


def page(params: dict[str, Any], *, default_limit: int = 50) -> tuple[int, int]:
    """``limit`` (1-100) and ``offset`` (≥ 0) from the query."""
    return (
        _bounded(params, "limit", default_limit, 1, 100),
        _bounded(params, "offset", 0, 0, 1_000_000),
    )


def _bounded(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not isinstance(raw, str) or not raw.isdigit() or not low <= int(raw) <= high:
        raise MedusaError("invalid_data", f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def one(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise MedusaError("invalid_data", f"{name} must be given once")
    return value
