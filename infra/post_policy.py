"""S3 POST policies (browser uploads): issue one, and check a form against it as S3 does.

The local-disk storage issues and enforces its own (so ``make run`` offers the same
presigned uploads as a bucket); the tests put the checker in front of moto, whose
server stores a POST without reading its policy.
"""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class PolicyRefused(Exception):
    """The form does not satisfy its policy; ``code`` is S3's name for why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    region: str


def _signing_key(secret: str, day: str, region: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign_post(
    credentials: Credentials,
    *,
    key: str,
    content_type: str,
    max_bytes: int,
    expires_at: datetime,
    now: datetime,
) -> dict[str, str]:
    """The fields of a SigV4 POST form for one object (as boto3's generate_presigned_post)."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    credential = f"{credentials.access_key}/{stamp[:8]}/{credentials.region}/s3/aws4_request"
    fields = {
        "key": key,
        "Content-Type": content_type,
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": credential,
        "x-amz-date": stamp,
    }
    document = {
        "expiration": expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [
            *({name: value} for name, value in fields.items()),
            ["content-length-range", 1, max_bytes],
        ],
    }
    policy = base64.b64encode(json.dumps(document).encode()).decode()
    signature = hmac.new(
        _signing_key(credentials.secret_key, stamp[:8], credentials.region),
        policy.encode(),
        hashlib.sha256,
    ).hexdigest()
    return {**fields, "policy": policy, "x-amz-signature": signature}


def check_post(fields: dict[str, str], *, size: int, now: datetime, secret_for: Any) -> str:
    """The object key when the form satisfies its signed policy; PolicyRefused otherwise.

    ``secret_for(access_key)`` is the secret key of that access key (None: unknown).
    """
    lower = {name.lower(): value for name, value in fields.items()}
    policy = lower.get("policy")
    credential = lower.get("x-amz-credential", "")
    parts = credential.split("/")
    if not policy or len(parts) != 5:
        raise PolicyRefused(403, "AccessDenied", "The form carries no signed policy.")
    secret = secret_for(parts[0])
    signature = lower.get("x-amz-signature", "")
    expected = (
        hmac.new(
            _signing_key(secret, parts[1], parts[2]), policy.encode(), hashlib.sha256
        ).hexdigest()
        if secret
        else ""
    )
    if not expected or not hmac.compare_digest(expected, signature):
        raise PolicyRefused(403, "SignatureDoesNotMatch", "The policy's signature is not valid.")
    try:
        document = json.loads(base64.b64decode(policy))
        expiration = datetime.fromisoformat(document["expiration"].replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        raise PolicyRefused(400, "InvalidPolicyDocument", "The policy is malformed.") from None
    if now >= expiration:
        raise PolicyRefused(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    for condition in document.get("conditions", []):
        _check_condition(condition, lower, size)
    key = lower.get("key")
    if not key:
        raise PolicyRefused(400, "InvalidArgument", "The form names no key.")
    return key


def _check_condition(condition: Any, fields: dict[str, str], size: int) -> None:
    failed = PolicyRefused(
        403, "AccessDenied", "Invalid according to Policy: Policy Condition failed."
    )
    if isinstance(condition, dict):
        for name, value in condition.items():
            if name.lower() == "bucket":
                continue  # the bucket is the URL's: one bucket here
            if fields.get(name.lower()) != value:
                raise failed
        return
    operator, *rest = condition
    if operator == "content-length-range":
        low, high = int(rest[0]), int(rest[1])
        if size > high:
            raise PolicyRefused(
                400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
            )
        if size < low:
            raise PolicyRefused(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size.",
            )
    elif operator == "eq":
        if fields.get(rest[0].lstrip("$").lower()) != rest[1]:
            raise failed
    elif operator == "starts-with":
        if not fields.get(rest[0].lstrip("$").lower(), "").startswith(rest[1]):
            raise failed
    else:
        raise PolicyRefused(400, "InvalidPolicyDocument", f"Unknown condition {operator!r}.")
