"""moto's S3 server, with a gate in front that enforces POST policies as S3 does.

moto stores a browser POST without reading its policy (its ``_bucket_response_post``
puts the object straight away), so a test of "the presigned policy refuses a
too-large body" would pass against it whatever the policy said. The gate speaks the
wire format: every request goes to moto unchanged, except a form POST whose policy
refuses it, answered with S3's XML error and never forwarded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import httpx
from moto.server import ThreadedMotoServer

from infra.post_policy import PolicyRefused, check_post

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
                    self._answer(
                        refused.status,
                        {"Content-Type": "application/xml"},
                        f"<Error><Code>{refused.code}</Code><Message>{refused}</Message></Error>".encode(),
                    )
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
