"""The console in a real headless Chromium: what the staff do, click by click.

Sign in with the keyboard, find an order by its PaymentIntent, read its money timeline
after a capture and a partial refund, refund from the page, refund too much, change a
quantity in the grace period, moderate a review, sign out; and the refusals. The README's
screenshots are taken here (into ``CONSOLE_SCREENSHOTS`` when set, e.g. ``docs``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infra.console.orders import ORDER_VIEWS
from infra.stripe_emulator import RunningEmulator
from tests.e2e.browser import launched_chromium
from tests.e2e.conftest import LiveServer, Shop, open_shop
from tests.e2e.console_flow import (
    console_server,
    placed_order,
    wait_for_order,
    wait_until_scheduled,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

pytestmark = pytest.mark.e2e

WIDE: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_chromium()


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    with console_server(database_url, redis_url, stripe_emulator, redis_db=10) as live:
        yield live


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=WIDE)  # its own cookies: a new visitor
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page: Page, server: LiveServer) -> None:
    """By keyboard alone: the key field has the focus, Enter submits."""
    from playwright.sync_api import expect

    page.goto(f"{server.url}/console")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    page.keyboard.type(server.admin_key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    assert server.admin_key not in page.url


def confirm(page: Page) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Confirm")).to_be_visible()
    page.get_by_role("button", name="Yes, do it").click()


def captured_and_partly_refunded(server: LiveServer, shop: Shop) -> dict[str, Any]:
    order = placed_order(server, shop, quantity=2)
    wait_until_scheduled(server, order["order_id"])
    with server.admin() as admin:
        captured = admin.post(f"/admin/orders/{order['order_id']}/capture")
        assert captured.status_code == 200, captured.text
        refunded = admin.post(
            f"/admin/orders/{order['order_id']}/refunds", json={"amount": 500, "reason": "dent"}
        )
        assert refunded.status_code == 200, refunded.text
    position = int(refunded.headers["X-Ledger-Position"])
    assert server.container.read_models.wait_for(position, ORDER_VIEWS, 10.0)
    return order


WIDER_THAN_THE_SCREEN = """() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width + 1) return [];
  return [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > width + 1 && !e.parentElement.closest(".scroll"))
    .slice(0, 5).map(e => `${e.tagName}.${e.className}#${e.id}`);
}"""


def sideways(page: Page) -> list[str]:
    """What makes the page scroll sideways (tables scroll in their own box, and may)."""
    return list(page.evaluate(WIDER_THAN_THE_SCREEN))


def test_staff_find_an_order_read_its_timeline_and_refund_from_the_page(
    server: LiveServer, page: Page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    shop = open_shop(server)
    order = captured_and_partly_refunded(server, shop)
    sign_in(page, server)

    page.get_by_role("link", name="Orders").click()
    page.get_by_label("Search").fill(order["payment_intent_id"])
    page.get_by_label("Search").press("Enter")
    expect(page.get_by_text("1 order(s)")).to_be_visible()
    page.get_by_role("link", name=order["order_id"][:8]).click()

    movements = page.locator("#movements tbody tr")
    expect(movements).to_have_count(3)  # authorization, capture, refund
    expect(page.locator("tr.movement-capture")).to_have_count(1)
    expect(page.locator("tr.movement-refund")).to_contain_text("5.00 EUR")
    expect(page.locator("svg.timeline polyline")).to_have_count(3)

    page.get_by_label("Refund (EUR)").fill("1.50")
    page.get_by_role("button", name="Refund", exact=True).click()
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("Done: refund")
    expect(page.locator("tr.movement-refund")).to_have_count(2)
    expect(page.locator('[data-field="refunded"]')).to_have_text("6.50 EUR")
    timeline = page.locator("section", has=page.get_by_role("heading", name="Money timeline"))
    timeline.screenshot(path=screenshots(tmp_path) / "console-order-timeline.png")

    with server.admin() as admin:
        api = admin.post(f"/admin/orders/{order['order_id']}/refunds", json={"amount": 10**8})
    page.get_by_label("Refund (EUR)").fill("1000000.00")
    page.get_by_role("button", name="Refund", exact=True).click()
    confirm(page)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(api.json()["error"])
    expect(alert).to_contain_text(api.json()["detail"])
    expect(page.locator("tr.movement-refund")).to_have_count(2)  # nothing moved


def test_audit_verify_runs_from_the_page_and_the_overview_shows_it(
    server: LiveServer, page: Page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    order = placed_order(server, open_shop(server))
    wait_until_scheduled(server, order["order_id"])  # a capture due within the hour
    sign_in(page, server)
    page.get_by_role("link", name="Views & audit").click()
    page.get_by_role("button", name="Run audit verify").click()
    expect(page.locator('[data-field="job-status"]')).to_have_text("done", timeout=30_000)
    expect(page.locator('[data-field="verdict"]')).to_have_text("No violations")
    expect(page.locator("progress")).to_have_attribute("value", "100")
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("link", name=order["order_id"][:8])).to_be_visible()
    expect(page.locator("time[data-countdown]").first).to_contain_text("min")
    expect(page.get_by_text("No violations")).to_be_visible()
    page.screenshot(path=screenshots(tmp_path) / "console-overview.png")


def test_a_quantity_is_changed_in_the_grace_period(server: LiveServer, page: Page) -> None:
    from playwright.sync_api import expect

    order = placed_order(server, open_shop(server), quantity=3)
    before = wait_for_order(server, order["order_id"])
    line = before["items"][0]["id"]
    sign_in(page, server)
    page.goto(f"{server.url}/console/orders/{order['order_id']}")
    page.locator(f"#qty-{line}").fill("2")
    page.locator(f"#qty-{line}").press("Enter")
    confirm(page)
    expect(page.get_by_role("status")).to_contain_text("Done: quantity")
    expect(page.locator(f"#qty-{line}")).to_have_value("2")
    after = wait_for_order(server, order["order_id"])
    assert after["items"][0]["quantity"] == 2 and after["total"] < before["total"]
    expect(page.locator('[data-field="total"]')).to_contain_text(
        f"{after['total'] // 100}.{after['total'] % 100:02d} EUR"
    )


def test_a_review_is_moderated_and_then_staff_sign_out(server: LiveServer, page: Page) -> None:
    from playwright.sync_api import expect

    shop = open_shop(server)
    with server.client() as store:
        posted = store.post(
            f"/store/products/tee-{shop.suffix}/reviews",
            json={
                "rating": 4,
                "title": "Soft cotton",
                "body": "Fits well.",
                "author_name": "Grace",
            },
        )
    review_id = posted.json()["id"]
    server.container.read_models.wait_for(int(posted.headers["X-Ledger-Position"]), ["reviews"])
    sign_in(page, server)
    page.get_by_role("link", name="Reviews").click()
    review = page.locator(f"#review-{review_id}")
    expect(review).to_contain_text("Soft cotton")
    review.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Done: approve")
    expect(page.locator(f"#review-{review_id}")).to_have_count(0)
    page.get_by_role("link", name="approved").click()
    expect(page.locator(f"#review-{review_id}")).to_contain_text("approved")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    page.goto(f"{server.url}/console/orders")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()


def test_without_a_session_or_with_a_forged_csrf_token_nothing_is_done(
    server: LiveServer, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    order = placed_order(server, open_shop(server))
    wait_for_order(server, order["order_id"])
    cancel = f"{server.url}/console/orders/{order['order_id']}/cancel"
    anonymous = context.request.post(cancel, form={"csrf": "x", "confirmed": "yes"})
    assert anonymous.status == 401

    sign_in(page, server)
    page.goto(f"{server.url}/console/orders/{order['order_id']}")
    page.evaluate(
        "document.querySelectorAll('input[name=csrf]').forEach(i => { i.value = 'forged'; })"
    )
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_role("alert")).to_contain_text("CsrfRejected")
    assert wait_for_order(server, order["order_id"])["status"] == "placed"


def test_pages_fit_a_phone_screen(server: LiveServer, browser: Browser) -> None:
    from playwright.sync_api import expect

    order = placed_order(server, open_shop(server))
    wait_for_order(server, order["order_id"])
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        sign_in(page, server)
        for path in (
            "",
            "/orders",
            f"/orders/{order['order_id']}",
            "/inventory",
            "/reviews",
            "/projections",
        ):
            page.goto(f"{server.url}/console{path}")
            expect(page.locator("main h1")).to_be_visible()
            assert not sideways(page), f"/console{path} is wider than a phone: {sideways(page)}"
    finally:
        context.close()
