"""The POST policy a presigned upload carries: checked as S3 checks it."""

from datetime import timedelta

import pytest

from infra.post_policy import Credentials, PolicyRefused, check_post, sign_post
from tests.unit.domain.builders import NOW

CREDENTIALS = Credentials("key-id", "secret", "auto")


def form(**changes: str) -> dict[str, str]:
    fields = sign_post(
        CREDENTIALS,
        key="incoming/" + "a" * 32,
        content_type="image/png",
        max_bytes=100,
        expires_at=NOW + timedelta(minutes=10),
        now=NOW,
    )
    return {**fields, **changes}


def check(fields: dict[str, str], *, size: int = 10, minutes: int = 0) -> str:
    return check_post(
        fields,
        size=size,
        now=NOW + timedelta(minutes=minutes),
        secret_for=lambda key: CREDENTIALS.secret_key if key == "key-id" else None,
    )


def test_a_form_within_its_policy_names_its_key() -> None:
    assert check(form()) == "incoming/" + "a" * 32


@pytest.mark.parametrize(
    ("fields", "size", "minutes", "code"),
    [
        ({}, 101, 0, "EntityTooLarge"),
        ({}, 0, 0, "EntityTooSmall"),
        ({"Content-Type": "text/html"}, 10, 0, "AccessDenied"),
        ({"key": "incoming/" + "b" * 32}, 10, 0, "AccessDenied"),
        ({}, 10, 10, "AccessDenied"),  # expired
        ({"x-amz-signature": "0" * 64}, 10, 0, "SignatureDoesNotMatch"),
    ],
)
def test_a_form_outside_its_policy_is_refused(
    fields: dict[str, str], size: int, minutes: int, code: str
) -> None:
    with pytest.raises(PolicyRefused) as refused:
        check(form(**fields), size=size, minutes=minutes)
    assert refused.value.code == code
    assert 400 <= refused.value.status < 500
