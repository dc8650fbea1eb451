"""RFC 9421 interop peer for crates/auth-core/tests/rfc9421_interop.rs, using the PyPI package
`http-message-signatures` (with `requests` and `cryptography`), an implementation independent
of ours.

Usage: python rfc9421_py.py sign|verify < request.json
  request.json: {"alg", "key" (PEM text, or Base64 HMAC secret), "keyid", "method", "url",
                 "headers": [[name, value], ...], "body" (Base64), "nonce", "tag", "components"}
  sign   prints the signed request's headers as JSON [[name, value], ...]
  verify prints {"label", "keyid", "covered"} or exits non-zero with the reason
"""
import base64
import datetime
import json
import sys

import requests
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

ALGS = {
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "hmac-sha256": algorithms.HMAC_SHA256,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    "ed25519": algorithms.ED25519,
}


def key_bytes(spec):
    if spec["alg"] == "hmac-sha256":
        return base64.b64decode(spec["key"])
    return spec["key"].encode()


def message(spec):
    body = base64.b64decode(spec["body"]) if spec.get("body") else None
    req = requests.Request(spec["method"], spec["url"], data=body)
    prepared = req.prepare()
    for name, value in spec["headers"]:
        prepared.headers[name] = value
    if body is None:
        prepared.headers.pop("Content-Length", None)
    return prepared, body


def main():
    mode = sys.argv[1]
    spec = json.load(sys.stdin)
    alg = ALGS[spec["alg"]]
    key = key_bytes(spec)
    msg, body = message(spec)
    if mode == "sign":
        signer = HTTPMessageSigner(
            signature_algorithm=alg,
            key_resolver=MappingKeyResolver(public_keys={}, private_keys={spec["keyid"]: key}),
        )
        signer.sign(
            msg,
            key_id=spec["keyid"],
            created=datetime.datetime.now(datetime.timezone.utc),
            nonce=spec.get("nonce"),
            tag=spec.get("tag"),
            label=spec.get("label", "pyhms"),
            covered_component_ids=tuple(spec["components"]),
            body=body,
        )
        json.dump([[k, v] for k, v in msg.headers.items()], sys.stdout)
    elif mode == "verify":
        verifier = HTTPMessageVerifier(
            signature_algorithm=alg,
            key_resolver=MappingKeyResolver(public_keys={spec["keyid"]: key}, private_keys={}),
        )
        try:
            results = verifier.verify(
                msg,
                max_age=datetime.timedelta(minutes=5),
                expect_tag=spec.get("tag"),
                require_components=tuple(spec["components"]),
                body=body if body is not None else None,
            )
        except InvalidSignature as e:
            print(f"InvalidSignature: {e}", file=sys.stderr)
            sys.exit(3)
        r = results[0]
        json.dump(
            {
                "label": r.label,
                "keyid": r.parameters.get("keyid"),
                "covered": list(r.covered_components.keys()),
            },
            sys.stdout,
        )
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
