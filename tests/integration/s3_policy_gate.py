"""moto's S3 server, with a gate in front that enforces presigned uploads as S3 and R2 do.

moto stores a browser POST without reading its policy (its ``_bucket_response_post``
puts the object straight away) and takes a presigned PUT without checking its
signature, so a test of "the presigned upload refuses a too-large body" would pass
against it whatever was signed. The gate speaks the wire format: every request goes
to moto unchanged, except a form POST whose policy refuses it, or a presigned PUT
whose signature (over Content-Length and Content-Type) or expiry does not hold —
those are answered with S3's XML error and never forwarded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote

import boto3
import httpx
from moto.server import ThreadedMotoServer

from infra.post_policy import PolicyRefused, _signing_key, check_post

ACCESS_KEY = SECRET_KEY = "testing"


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], bytes | None]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    file: bytes | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        if name == "file":
            file = payload
        elif isinstance(name, str):
            fields[name] = payload.decode()
    return fields, file


def check_presigned_put(path: str, query: str, headers: dict[str, str], *, now: datetime) -> None:
    """SigV4 query authentication of a presigned PUT; PolicyRefused when it fails."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    try:
        stamp = params["X-Amz-Date"]
        access_key, day, region, _, _ = params["X-Amz-Credential"].split("/")
        signed = params["X-Amz-SignedHeaders"].split(";")
        issued = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = issued + timedelta(seconds=int(params["X-Amz-Expires"]))
    except (KeyError, ValueError):
        raise PolicyRefused(403, "AccessDenied", "The URL is not presigned.") from None
    if now >= expires:
        raise PolicyRefused(403, "AccessDenied", "Request has expired")
    lower = {name.lower(): value.strip() for name, value in headers.items()}
    canonical = "\n".join(
        [
            "PUT",
            path,
            "&".join(
                f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                for k, v in sorted(params.items())
                if k != "X-Amz-Signature"
            ),
            "".join(f"{name}:{lower.get(name, '')}\n" for name in signed),
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            stamp,
            f"{day}/{region}/s3/aws4_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    secret = SECRET_KEY if access_key == ACCESS_KEY else ""
    expected = hmac.new(_signing_key(secret, day, region), to_sign.encode(), "sha256").hexdigest()
    if not hmac.compare_digest(expected, params.get("X-Amz-Signature", "")):
        raise PolicyRefused(403, "SignatureDoesNotMatch", "The signature does not match.")


def public_read(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


@dataclass
class Gate:
    url: str  # where clients (boto3, browsers) talk to "S3"
    moto_url: str  # moto itself (to look behind the gate)
    clock: Callable[[], datetime]

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.moto_url,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )


@contextmanager
def s3_behind_a_policy_gate(bucket: str, *, public: bool = False) -> Iterator[Gate]:
    """With ``public``, anyone may read objects (as an R2 public bucket or a CDN serves them)."""
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    forward = httpx.Client(base_url=moto_url, timeout=30)
    gate = Gate(url="", moto_url=moto_url, clock=lambda: datetime.now(UTC))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            kind = self.headers.get("Content-Type", "")
            path, _, query = self.path.partition("?")
            if self.command == "PUT" and "X-Amz-Signature=" in query:
                try:
                    check_presigned_put(path, query, dict(self.headers.items()), now=gate.clock())
                except PolicyRefused as refused:
                    self._refuse(refused)
                    return
            if self.command == "POST" and kind.startswith("multipart/form-data"):
                fields, file = parse_form(kind, body)
                try:
                    check_post(
                        fields,
                        size=len(file or b""),
                        now=gate.clock(),
                        secret_for=lambda key: SECRET_KEY if key == ACCESS_KEY else None,
                    )
                except PolicyRefused as refused:
                    self._refuse(refused)
                    return
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            headers["Host"] = f"{host}:{port}"
            answer = forward.request(self.command, self.path, headers=headers, content=body)
            passed = {
                k: v
                for k, v in answer.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")
            }
            self._answer(answer.status_code, passed, answer.content)

        def _refuse(self, refused: PolicyRefused) -> None:
            self._answer(
                refused.status,
                {"Content-Type": "application/xml"},
                f"<Error><Code>{refused.code}</Code><Message>{refused}</Message></Error>".encode(),
            )

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gate.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        gate.client().create_bucket(Bucket=bucket)
        if public:
            gate.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_read(bucket)))
        yield gate
    finally:
        server.shutdown()
        server.server_close()
        forward.close()
        moto.stop()
