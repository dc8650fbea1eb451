"""A tiny HTTP server that accepts a request only when the PyPI package `http-message-signatures`
(an RFC 9421 implementation independent of ours) verifies its signature, Content-Digest included.
crates/auth-cli/tests/request_interop.rs sends it requests with `authctl request`.

Usage: python hms_server.py <keyid> <alg> <public-key.pem>
  Prints the port it listens on (127.0.0.1) as its first line, then serves until killed.
  Answers 200 {"verified": true, "label", "keyid", "covered", "body_verified"}
  or 401 {"verified": false, "reason"}.
"""
import datetime
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
from http_message_signatures import (
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

ALGS = {
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    "ed25519": algorithms.ED25519,
}

KEYID, ALG, KEY_FILE = sys.argv[1], ALGS[sys.argv[2]], sys.argv[3]
with open(KEY_FILE, "rb") as f:
    PUBLIC_KEY = f.read()


class Handler(BaseHTTPRequestHandler):
    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = f"http://{self.headers['Host']}{self.path}"
        msg = requests.Request(self.command, url, data=body or None).prepare()
        msg.headers.clear()
        for name, value in self.headers.items():
            msg.headers[name] = value
        verifier = HTTPMessageVerifier(
            signature_algorithm=ALG,
            key_resolver=MappingKeyResolver(public_keys={KEYID: PUBLIC_KEY}, private_keys={}),
        )
        try:
            results = verifier.verify(
                msg,
                max_age=datetime.timedelta(minutes=5),
                require_components=("@method", "@authority", "@path"),
                body=body,
            )
            r = results[0]
            status, answer = 200, {
                "verified": True,
                "label": r.label,
                "keyid": r.parameters.get("keyid"),
                "covered": list(r.covered_components.keys()),
                "body_verified": r.body is not None,
            }
        except Exception as e:  # noqa: BLE001 - every failure is a refusal with its reason
            status, answer = 401, {"verified": False, "reason": f"{type(e).__name__}: {e}"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
