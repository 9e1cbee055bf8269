"""Seals personal fields at the edge of the event store, and opens them on the way back.

The domain keeps plain values. On the way in, each personal field of an event (or of
a snapshot's state) is replaced by a sealed value, ``{"pii": 1, "k": key id,
"c": ciphertext}`` (``"f"``: the keys of an address, not personal), before the
library's transcoder (and its cipher, with CIPHER_KEY) sees the state. On the way out
a sealed value whose key still exists is opened; one whose key was destroyed reads
``[erased]`` (an address: each of its fields ``[erased]``). Events stored before
this change hold plain values and load as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from infra.pii.crypto import ERASED, MasterKey, seal, unseal
from infra.pii.fields import EVENT_FIELDS, ORDER_OF, SNAPSHOT_FIELDS
from infra.pii.keys import DataKeys


def is_sealed(value: object) -> bool:
    return isinstance(value, dict) and value.get("pii") == 1 and "k" in value and "c" in value


class PersonalData:
    """Seals and opens the personal fields of one event's state."""

    def __init__(self, master: MasterKey, keys: DataKeys) -> None:
        self.master = master
        self.keys = keys

    def subject_for(self, aggregate_id: str, order_field: str | None, state: dict[str, Any]) -> str:
        email = state.get("email")
        if isinstance(email, str) and email.strip():
            return self.master.subject_of_email(email)
        # No e-mail in this event: the person already linked to the aggregate (or, for
        # a review, to the order it names); else a subject of the aggregate itself,
        # erased together with whoever is linked to the aggregate later.
        for linked_to in (state.get(order_field) if order_field else None, aggregate_id):
            if linked_to is None:
                continue
            people = [s for s in self.keys.subjects_of(str(linked_to)) if s.startswith("s_")]
            if people:
                return people[0]
        return self.master.subject_of_aggregate(aggregate_id)

    def seal_state(
        self,
        aggregate_id: str,
        fields: tuple[str, ...],
        order_field: str | None,
        state: dict[str, Any],
    ) -> dict[str, Any]:
        personal = [n for n in fields if _has_value(state.get(n)) and not is_sealed(state[n])]
        if not personal:
            return state
        subject = self.subject_for(aggregate_id, order_field, state)
        key_id, key = self.keys.live_key(subject)
        self.keys.link(subject, aggregate_id)
        if subject.startswith("s_") and order_field and state.get(order_field) is not None:
            self.keys.link(subject, str(state[order_field]))
        sealed = dict(state)
        for name in personal:
            value = state[name]
            plain = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
            box: dict[str, Any] = {"pii": 1, "k": key_id, "c": seal(key, key_id, name, plain)}
            if isinstance(value, dict):
                box["f"] = sorted(value)
            sealed[name] = box
        return sealed

    def open_state(self, fields: tuple[str, ...], state: dict[str, Any]) -> None:
        for name in fields:
            box = state.get(name)
            if is_sealed(box):
                state[name] = self.open_value(name, cast(dict[str, Any], box))

    def open_value(self, name: str, box: dict[str, Any]) -> Any:
        key = self.keys.key(str(box["k"]))
        if key is not None:
            try:
                return json.loads(unseal(key, str(box["k"]), name, str(box["c"])))
            except (InvalidTag, ValueError):
                pass
        if "f" in box:
            return {field: ERASED for field in box["f"]}
        return ERASED


def _has_value(value: object) -> bool:
    return value is not None and value != "" and value != {}


class PersonalDataMapper(Mapper[UUID]):
    """The library's mapper, with personal fields sealed before transcoding."""

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        *,
        personal: PersonalData,
    ) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        self.personal = personal

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        topic = get_topic(domain_event.__class__)
        state = vars(domain_event)
        aggregate_id = str(state["originator_id"])
        if isinstance(domain_event, Snapshot):
            fields = SNAPSHOT_FIELDS.get(domain_event.topic)
            if fields:
                inner = self.personal.seal_state(
                    aggregate_id, fields, ORDER_OF.get(domain_event.topic), domain_event.state
                )
                if inner is not domain_event.state:
                    state = {**state, "state": inner}
        else:
            fields = EVENT_FIELDS.get(topic)
            if fields:
                state = self.personal.seal_state(aggregate_id, fields, ORDER_OF.get(topic), state)
        if state is vars(domain_event):
            return super().to_stored_event(domain_event)
        copy = object.__new__(type(domain_event))
        object.__setattr__(copy, "__dict__", dict(state))
        return super().to_stored_event(copy)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        if isinstance(event, Snapshot):
            fields = SNAPSHOT_FIELDS.get(event.topic)
            if fields:
                self.personal.open_state(fields, event.state)
        else:
            fields = EVENT_FIELDS.get(stored_event.topic)
            if fields:
                self.personal.open_state(fields, vars(event))
        return event


def sealing(personal: PersonalData) -> Callable[[Mapper[UUID]], PersonalDataMapper]:
    """The ledger's mapper made a sealing one (same transcoder, compressor, cipher):
    pass it as ``Ledger(mapper=sealing(personal))``."""

    def wrap(base: Mapper[UUID]) -> PersonalDataMapper:
        return PersonalDataMapper(
            base.transcoder, compressor=base.compressor, cipher=base.cipher, personal=personal
        )

    return wrap


def install(ledger: Any, personal: PersonalData) -> PersonalDataMapper:
    """Put the sealing mapper in place of an already made ledger's own (tests, benches)."""
    mapper = sealing(personal)(ledger.mapper)
    ledger.mapper = mapper
    ledger.events.mapper = mapper
    if ledger.snapshots is not None:
        ledger.snapshots.mapper = mapper
    return mapper
