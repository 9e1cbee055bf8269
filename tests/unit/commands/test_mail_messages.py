"""What the e-mails say: amounts in major units with the currency, escaped HTML, no secrets."""

from dataclasses import replace

from commands.notify import messages
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection
from tests.unit.domain.builders import NOW, a_line, a_shipping, later, place_order


def an_order(title: str = "Tee <M> & co") -> Order:
    return place_order(
        [replace(a_line("a", unit_price=1999, quantity=2), title=title)],
        shipping=a_shipping(495, tax_rate_bp=2000),
        payment_intent_id="pi_msg",
    )


def test_an_order_confirmation_shows_lines_and_totals_in_major_units() -> None:
    order = an_order()

    text = messages.order_confirmation(order).text()

    assert "2 × Tee <M> & co" in text
    assert "39.98 EUR" in text
    assert f"{Money(order.total, 'eur').to_major()} EUR" in text
    assert str(order.id) in text


def test_html_bodies_escape_every_value() -> None:
    html = messages.order_confirmation(an_order("<script>x</script>")).html()

    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_amounts_follow_the_currency_exponent() -> None:
    order = place_order([a_line("a", unit_price=1500)], currency="jpy", payment_intent_id="pi_jpy")
    payment = PaymentCollection.open(
        order_id=order.id, amount=Money(order.total, "jpy"), payment_intent_id="pi_jpy", now=NOW
    )
    payment.authorize(order.total, reference="ch", capture_before=None, now=later(minutes=1))
    payment.capture(order.total, reference="ch", now=later(hours=1))
    payment.refund(300, reference="re", reason="", now=later(days=1))

    text = messages.refund_issued(order, payment, 300).text()

    assert "300 JPY" in text
    assert "300.00" not in text


def test_error_texts_for_ops_lose_anything_shaped_like_a_secret() -> None:
    scrubbed = messages.scrub("Invalid key sk_test_4eC39HqLyjWDarjtT1zdp7dc for pi_1_secret_abc")

    assert "sk_test_4eC39HqLyjWDarjtT1zdp7dc" not in scrubbed
    assert "_secret_abc" not in scrubbed
    assert "Invalid key" in scrubbed
