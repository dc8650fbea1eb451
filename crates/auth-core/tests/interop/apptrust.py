"""Independent check of the app trust chain with cbor2 + cryptography (no shared code).

stdin: JSON {authority_public, authority_seed, dev_seed, cert_json, manifest_json, license_text}
stdout: JSON {manifest_json, license_text} signed here, for the Rust side to verify.
Exits non-zero (with a message) when anything made by the Rust side does not check out.
"""
import base64, json, sys
import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def key_bytes(text):
    assert text[0] == "0" and len(text) == 45, text
    raw = base64.b64decode(text[1:], validate=True)
    assert len(raw) == 32
    return raw


def pub(text):
    return Ed25519PublicKey.from_public_bytes(key_bytes(text))


def key_text(raw):
    return "0" + base64.b64encode(raw).decode()


inp = json.load(sys.stdin)
authority = pub(inp["authority_public"])

# Certificate: axSignature over definite CBOR {"devPubkey", "appDomains"}.
cert = json.loads(inp["cert_json"])
authority.verify(base64.b64decode(cert["axSignature"]),
                 cbor2.dumps({"devPubkey": cert["devPubkey"], "appDomains": cert["appDomains"]}))

# Manifest: the signature blob is an indefinite-length map, keys in this order.
manifest = json.loads(inp["manifest_json"])
blob = base64.b64decode(manifest["signature"])
assert blob[0] == 0xBF and blob[-1] == 0xFF, "signature blob must be an indefinite-length map"
sig = cbor2.loads(blob)
assert list(sig) == ["sig_version", "dev_signature", "devPubkey", "appDomains", "axSignature"], list(sig)
assert sig["sig_version"] == 0
pub(sig["devPubkey"]).verify(
    base64.b64decode(sig["dev_signature"]),
    cbor2.dumps({"app_id": manifest["appId"], "display_name": manifest["displayName"],
                 "version": manifest["version"]}))
authority.verify(base64.b64decode(sig["axSignature"]),
                 cbor2.dumps({"devPubkey": sig["devPubkey"], "appDomains": sig["appDomains"]}))

# License: indefinite-length map; the first three fields are signed (definite).
raw = base64.b64decode(inp["license_text"])
assert raw[0] == 0xBF and raw[-1] == 0xFF, "license must be an indefinite-length map"
lic = cbor2.loads(raw)
assert list(lic) == ["licenseVersion", "licenseType", "createdAt", "signature", "requester"], list(lic)
authority.verify(base64.b64decode(lic["signature"]), cbor2.dumps(
    {"licenseVersion": lic["licenseVersion"], "licenseType": lic["licenseType"],
     "createdAt": lic["createdAt"]}))

# Now sign our own (definite-length maps throughout: the Rust decoder must accept both).
auth_sk = Ed25519PrivateKey.from_private_bytes(key_bytes(inp["authority_seed"]))
dev_sk = Ed25519PrivateKey.from_private_bytes(key_bytes(inp["dev_seed"]))
dev_pub = key_text(dev_sk.public_key().public_bytes_raw())
domains = ["com.python.*"]
ax = auth_sk.sign(cbor2.dumps({"devPubkey": dev_pub, "appDomains": domains}))
m = {"appId": "com.python.made-here", "displayName": "made in Python", "version": "3.11"}
dev_sig = dev_sk.sign(cbor2.dumps({"app_id": m["appId"], "display_name": m["displayName"],
                                   "version": m["version"]}))
m["signature"] = base64.b64encode(cbor2.dumps({
    "sig_version": 0, "dev_signature": base64.b64encode(dev_sig).decode(), "devPubkey": dev_pub,
    "appDomains": domains, "axSignature": base64.b64encode(ax).decode()})).decode()
signed = {"licenseVersion": 0,
          "licenseType": {"expiring": {"appId": m["appId"], "expiresAt": "2031-02-03T04:05:06.789Z"}},
          "createdAt": "2025-01-01T00:00:00Z"}
lic_sig = auth_sk.sign(cbor2.dumps(signed))
license = dict(signed, signature=base64.b64encode(lic_sig).decode(), requester={"email": "py@python.org"})
json.dump({"manifest_json": json.dumps(m), "license_text": base64.b64encode(cbor2.dumps(license)).decode()},
          sys.stdout)
