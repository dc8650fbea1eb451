#!/usr/bin/env bash
# Sends one auth-verify admin API request signed with an Ed25519 admin key (RFC 9421), using
# only openssl and curl. The first signed request to a fresh service enrols its key as the
# first admin (trust on first use).
#
#   openssl genpkey -algorithm ed25519 -out admin.pem      # once; keep it private
#   scripts/admin-request.sh admin.pem GET  http://127.0.0.1:8080/admin/partners
#   scripts/admin-request.sh admin.pem POST http://127.0.0.1:8080/admin/partners '{"id":"acme","name":"Acme"}'
#
# Prints the response body; exits non-zero when the status is not 2xx.
# With KEYID=<key id> it signs as that key ID instead (a partner's uploaded key); with
# SIGN_ONLY=1 it prints the Signature-Input and Signature header lines instead of sending.
set -euo pipefail

if [ $# -lt 3 ]; then
    sed -n '2,10p' "$0" >&2
    exit 2
fi
key=$1 method=$2 url=$3 body=${4-}

# keyid: the public key in Actyx key text, "0" followed by standard Base64 of the raw 32 bytes.
keyid=${KEYID:-"0$(openssl pkey -in "$key" -pubout -outform DER | tail -c 32 | base64 -w0)"}
created=$(date +%s)
nonce=$(openssl rand -hex 16)

base=$(mktemp)
trap 'rm -f "$base"' EXIT
components='"@method" "@target-uri"'
{
    printf '"@method": %s\n' "$method"
    printf '"@target-uri": %s\n' "$url"
} >"$base"
headers=()
if [ -n "$body" ]; then
    digest="sha-256=:$(printf '%s' "$body" | openssl dgst -sha256 -binary | base64 -w0):"
    printf '"content-digest": %s\n' "$digest" >>"$base"
    printf '"content-type": application/json\n' >>"$base"
    components="$components \"content-digest\" \"content-type\""
    headers+=(-H "Content-Digest: $digest" -H "Content-Type: application/json" --data-binary "$body")
fi
params="($components);created=$created;nonce=\"$nonce\";keyid=\"$keyid\";alg=\"ed25519\""
printf '"@signature-params": %s' "$params" >>"$base"
signature=$(openssl pkeyutl -sign -inkey "$key" -rawin -in "$base" | base64 -w0)

if [ "${SIGN_ONLY:-}" = 1 ]; then
    printf 'Signature-Input: sig1=%s\nSignature: sig1=:%s:\n' "$params" "$signature"
    exit 0
fi
curl --silent --show-error --fail-with-body -X "$method" "$url" \
    -H "Signature-Input: sig1=$params" \
    -H "Signature: sig1=:$signature:" \
    "${headers[@]}"
echo
