"""The one list of payment events names every event a payment collection records."""

from eventsourcing.domain import CanMutateAggregate

from domain.payment_collection import PaymentCollection
from domain.payment_events import CAPTURE_EVENTS, PAYMENT_EVENTS
from projections.capture_schedule import CaptureScheduleProjector
from projections.order_fold import is_payment_event


def test_every_event_class_of_the_collection_is_in_the_list() -> None:
    recorded = {
        value
        for value in vars(PaymentCollection).values()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and value is not PaymentCollection.Event
    }
    assert set(PAYMENT_EVENTS) == recorded
    assert len(PAYMENT_EVENTS) == len(recorded)


def test_the_views_subscribe_to_the_lists() -> None:
    assert set(CAPTURE_EVENTS) < set(PAYMENT_EVENTS)
    assert CaptureScheduleProjector.topics == CAPTURE_EVENTS
    assert all(is_payment_event(cls) for cls in PAYMENT_EVENTS)
    assert not is_payment_event(PaymentCollection.Event)
