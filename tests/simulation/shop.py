"""The shop's side of each operation: storefront, admin, Stripe and faults, against a World."""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID

import httpx

from domain.ids import order_id_for
from infra.locks import TTL_SECONDS as LOCK_TTL_SECONDS
from tests.e2e.conftest import TEST_CARD, Shop, authorize_at_stripe, open_shop
from tests.faults.probes import payment_of, wait_until
from tests.simulation.model import Model, Op, Placed
from tests.simulation.world import GRACE_SECONDS, World

ADDRESS = {
    "first_name": "Ada", "last_name": "Lovelace", "address_1": "1 Main St", "city": "Berlin",
    "postal_code": "10117", "country_code": "de", "phone": "+49 30 1234",
}  # fmt: skip
RETRIES = 3  # a storefront retries a request whose answer it did not get


class Storefront:
    def __init__(self, world: World, model: Model) -> None:
        self.world = world
        self.model = model
        assert world.api is not None
        self.shop: Shop = open_shop(world.api, stock=200, backorder=False)
        self.key = world.api.container.publishable_keys.create("simulation", [self.shop.channel])[1]
        self.stripe_faults_left = 0

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def api(self) -> Any:
        assert self.world.api is not None
        return self.world.api

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.world.api_url, timeout=20.0, headers=headers)

    def admin(self) -> httpx.Client:
        return self.client(Authorization=f"Bearer {self.world.admin_key}")

    def send(
        self, client: httpx.Client, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        """The answer, retried on a lost answer or a 5xx; None if none ever came."""
        answer = None
        for _ in range(RETRIES):
            try:
                answer = client.request(method, path, **kwargs)
            except httpx.TransportError:
                answer = None
                continue
            if answer.status_code < 500:
                return answer
        return answer

    def outcome(self, kind: str, answer: httpx.Response | None) -> bool:
        code = "lost" if answer is None else str(answer.status_code)
        self.model.outcomes[f"{kind} {code}"] += 1
        return answer is not None and answer.status_code < 300

    # --- storefront ---------------------------------------------------------------------------

    def native_cart(self, client: httpx.Client, email: str, quantity: int) -> str | None:
        made = self.send(client, "POST", "/store/carts", json={
            "region_id": self.shop.region, "sales_channel_id": self.shop.channel, "email": email,
        })  # fmt: skip
        if made is None or made.status_code != 201:
            return None
        cart_id = str(made.json()["id"])
        line = self.send(client, "POST", f"/store/carts/{cart_id}/line-items",
                         json={"variant_id": self.shop.variant, "quantity": quantity})  # fmt: skip
        ship = self.send(client, "POST", f"/store/carts/{cart_id}/shipping-method",
                         json={"shipping_option_id": self.shop.shipping})  # fmt: skip
        if line is None or ship is None or line.status_code != 200 or ship.status_code != 200:
            return None
        return cart_id

    def checkout(self, op: Op, *, webhook_first: bool = False, card: str = TEST_CARD) -> None:
        rng = random.Random(op.arg)
        email = self.model.email()
        with self.client() as client:
            cart_id = self.native_cart(client, email, rng.randint(1, 3))
            session = cart_id and self.send(
                client, "POST", f"/store/carts/{cart_id}/payment-session"
            )
            if not session or session.status_code != 200:
                self.outcome(op.kind, session or None)
                return
            intent_id = str(session.json()["payment_intent_id"])
            if self.authorize(intent_id, card) != "requires_capture":
                self.model.declined.append(intent_id)
            if webhook_first:
                self.intent_webhook(intent_id, twice=rng.random() < 0.5)
            done = self.send(client, "POST", f"/store/carts/{cart_id}/complete")
        if self.outcome(op.kind, done) and done is not None:
            body = done.json()
            self.placed(UUID(body["order_id"]), intent_id, email, body["access_token"], "store")

    def checkout_medusa(self, op: Op) -> None:
        rng = random.Random(op.arg)
        email = self.model.email()
        with self.client(**{"x-publishable-api-key": self.key}) as client:
            answer, intent_id = self._medusa(client, email, rng.randint(1, 3))
        if self.outcome(op.kind, answer) and answer is not None:
            if answer.json().get("type") != "order":
                self.model.outcomes["checkout_medusa not-order"] += 1
                return
            self.placed(order_id_for(intent_id), intent_id, email, "", "medusa")

    def _medusa(
        self, client: httpx.Client, email: str, quantity: int
    ) -> tuple[httpx.Response | None, str]:
        base = "/medusa/store"
        made = self.send(client, "POST", f"{base}/carts", json={"region_id": self.shop.region})
        if made is None or made.status_code != 200:
            return made, ""
        cart_id = made.json()["cart"]["id"]
        steps: list[tuple[str, dict[str, Any]]] = [
            (f"{base}/carts/{cart_id}/line-items", {"variant_id": self.shop.variant, "quantity": quantity}),
            (f"{base}/carts/{cart_id}", {"email": email, "shipping_address": ADDRESS, "billing_address": ADDRESS}),
            (f"{base}/carts/{cart_id}/shipping-methods", {"option_id": self.shop.shipping}),
            (f"{base}/payment-collections", {"cart_id": cart_id}),
        ]  # fmt: skip
        answer = None
        for path, body in steps:
            answer = self.send(client, "POST", path, json=body)
            if answer is None or answer.status_code != 200:
                return answer, ""
        assert answer is not None
        collection = answer.json()["payment_collection"]["id"]
        session = self.send(client, "POST", f"{base}/payment-collections/{collection}/payment-sessions",
                            json={"provider_id": "pp_stripe_stripe"})  # fmt: skip
        if session is None or session.status_code != 200:
            return session, ""
        sessions = session.json()["payment_collection"]["payment_sessions"]
        secret = next(s for s in sessions if s["status"] == "pending")["data"]["client_secret"]
        intent_id = secret.split("_secret_")[0]
        if self.authorize(intent_id, TEST_CARD) != "requires_capture":
            return None, intent_id
        return self.send(client, "POST", f"{base}/carts/{cart_id}/complete"), intent_id

    def authorize(self, intent_id: str, card: str) -> str:
        try:
            return authorize_at_stripe(self.api, intent_id, card)
        except Exception:  # the stand-in itself is never faulted; a decline is "declined"
            return "error"

    def placed(self, order_id: UUID, intent_id: str, email: str, token: str, surface: str) -> None:
        if not intent_id:
            intent_id = payment_of(self.api, order_id).payment_intent_id
        self.model.orders.append(Placed(order_id, intent_id, email, token, surface))

    def intent_webhook(self, intent_id: str, *, twice: bool) -> None:
        money = self.world.stripe.money
        signed = money.event("payment_intent.amount_capturable_updated", money.intent(intent_id))
        for _ in range(2 if twice else 1):
            self.outcome("webhook", _deliver(money, signed))

    def duplicate_webhook(self, op: Op) -> None:
        order = self.model.pick(op.arg)
        if order is not None:
            self.intent_webhook(order.intent_id, twice=True)

    def change_quantity(self, op: Op) -> None:
        order = self.model.recent(op.arg)
        if order is None or not order.token:
            return
        headers = {"X-Order-Token": order.token}
        with self.client(**headers) as client:
            shown = self.send(client, "GET", f"/store/orders/{order.order_id}")
            if shown is None or shown.status_code != 200 or not shown.json()["items"]:
                self.outcome(op.kind, shown)
                return
            line = shown.json()["items"][0]["id"]
            quantity = 1 + op.arg % 3
            answer = self.send(client, "POST", f"/store/orders/{order.order_id}/line-items/{line}",
                               json={"quantity": quantity})  # fmt: skip
        self.outcome(op.kind, answer)

    def review(self, op: Op) -> None:
        order = self.model.pick(op.arg)
        headers = {"X-Order-Token": order.token} if order and order.token and op.arg % 2 else {}
        body = {"rating": 1 + op.arg % 5, "title": "Fine", "body": "It fits.", "author_name": "Ada"}
        with self.client(**headers) as client:
            answer = self.send(
                client, "POST", f"/store/products/tee-{self.shop.suffix}/reviews", json=body
            )
        self.outcome(op.kind, answer)

    # --- admin --------------------------------------------------------------------------------

    def admin_act(self, op: Op) -> None:
        order = self.model.recent(op.arg) if op.arg % 2 else self.model.pick(op.arg)
        if order is None:
            return
        action = "capture" if op.kind == "admin_capture" else "cancel"
        with self.admin() as admin:
            answer = self.send(admin, "POST", f"/admin/orders/{order.order_id}/{action}")
        if self.outcome(op.kind, answer):
            order.captured |= action == "capture"
            order.canceled |= action == "cancel"

    def refund(self, op: Op) -> None:
        order = self.model.pick(op.arg)
        if order is None:
            return
        amount = order.refund_amount(100 + op.arg % 700)
        with self.admin() as admin:
            answer = self.send(admin, "POST", f"/admin/orders/{order.order_id}/refunds",
                               json={"amount": amount, "reason": "simulation"})  # fmt: skip
        if self.outcome(op.kind, answer):
            order.refunds_acked += amount
        elif answer is None or answer.status_code >= 500:
            order.refunds_unsure += amount

    def stock_adjust(self, op: Op) -> None:
        body: dict[str, Any] = {"variant_id": self.shop.variant, "location_id": self.shop.berlin}
        if op.arg % 4 == 0:
            body["allow_backorder"] = bool(op.arg % 8)
        else:
            body["adjustment"] = op.arg % 11 - 3
        with self.admin() as admin:
            self.outcome(op.kind, self.send(admin, "POST", "/admin/inventory-levels", json=body))

    # --- at Stripe ----------------------------------------------------------------------------

    def refund_at_stripe(self, op: Op) -> None:
        order = self.model.pick(op.arg)
        if order is None:
            return
        money = self.world.stripe.money
        charge = money.intent(order.intent_id).get("latest_charge") or {}
        left = int(charge.get("amount_captured", 0)) - int(charge.get("amount_refunded", 0))
        if left <= 0 or order.disputed:
            return
        amount = min(left, order.refund_amount(100 + op.arg % 500))
        refund = money.refund_at_stripe(order.intent_id, amount)
        order.refunds_acked += amount
        self.model.outcomes[f"{op.kind} made"] += 1
        self._tell(op, "refund.created", refund)

    def dispute(self, op: Op) -> None:
        order = self.model.pick(op.arg)
        if order is None or order.disputed:
            return
        money = self.world.stripe.money
        charge = money.intent(order.intent_id).get("latest_charge") or {}
        left = int(charge.get("amount_captured", 0)) - int(charge.get("amount_refunded", 0))
        if left <= 0:
            return
        order.disputed = True
        dispute = money.open_dispute(order.intent_id, left)
        self.model.outcomes[f"{op.kind} opened"] += 1
        self._tell(op, "charge.dispute.created", dispute)
        if op.arg % 3:
            closed = money.close_dispute(dispute["id"], won=bool(op.arg % 2))
            self._tell(op, "charge.dispute.closed", closed)

    def _tell(self, op: Op, event_type: str, obj: dict[str, Any]) -> None:
        """Stripe's webhook: once, twice, or never (reconcile must find it then)."""
        times = (op.arg >> 4) % 4  # 0: withheld, 1, 2: duplicate, 3: once
        money = self.world.stripe.money
        if times == 0:
            self.model.withheld_webhooks += 1
            return
        signed = money.event(event_type, obj)
        answers = [_deliver(money, signed) for _ in range(2 if times == 2 else 1)]
        for answer in answers:
            self.outcome("webhook", answer)
        if all(a is None or a.status_code >= 300 for a in answers):
            self.model.withheld_webhooks += 1  # never taken in: reconcile must find it

    # --- time ---------------------------------------------------------------------------------

    def jump_past_grace(self, op: Op | None = None) -> None:
        """Wait out the (short) grace period: every order is captured or voided after it.
        A capture that finally failed (Stripe away too long) alerted ops: ops capture it.
        A Stripe fault lasts a few operations; waiting out the grace outlasts it (else a
        fault begun just before the wait would keep Stripe away for the whole wait: seed
        1348797674 in CI, where every capture failed until the bound ran out)."""
        self.world.switch.mode, self.stripe_faults_left = "ok", 0
        try:
            # A worker SIGKILLed holding an order's lock: the lock's TTL frees it.
            bound = GRACE_SECONDS + LOCK_TTL_SECONDS + 60
            wait_until(self.every_order_finished, bound, "orders past grace")
        except AssertionError:
            left = self.unfinished()
            raise AssertionError(f"orders not captured nor voided past grace: {left}") from None
        self.model.outcomes["jump_past_grace ok"] += 1

    def capture_given_up(self) -> None:
        for order_id in self.given_up():
            with self.admin() as admin:
                answer = self.send(admin, "POST", f"/admin/orders/{order_id}/capture")
            self.outcome("ops capture", answer)

    def given_up(self) -> list[UUID]:
        found = []
        for o in self.model.orders:
            try:
                p = payment_of(self.api, o.order_id)
            except Exception:
                continue
            if p.capture_failed and not (p.is_captured or p.voided):
                found.append(o.order_id)
        return found

    def unfinished(self) -> list[tuple[Any, ...]]:
        found = []
        for o in self.model.orders:
            p = payment_of(self.api, o.order_id)
            if not (p.is_captured or p.voided):
                found.append((str(o.order_id), o.surface, p.status, p.capture_due_at,
                              p.capture_attempts, p.capture_failed, p.last_capture_error))  # fmt: skip
        return found

    def every_order_finished(self) -> bool:
        try:
            if self.world.switch.mode == "ok" and self.given_up():
                self.capture_given_up()
            return all(
                (p := payment_of(self.api, o.order_id)).is_captured or p.voided
                for o in self.model.orders
            )
        except Exception:  # the database may be coming back
            return False


def _deliver(money: Any, signed: tuple[bytes, str]) -> httpx.Response | None:
    for _ in range(RETRIES):
        try:
            answer: httpx.Response = money.deliver(signed)
        except httpx.TransportError:
            continue
        if answer.status_code < 500:
            return answer
    return None
