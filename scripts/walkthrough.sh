#!/usr/bin/env bash
# The README walkthrough as one script (and the test that runs it): against a running
# auth-verify at $1 (default http://127.0.0.1:8080), with only openssl and curl, it enrols an
# admin, creates a partner, issues an API key, uploads the partner's Ed25519 public key and
# makes a signed request that forward-auth accepts. Work files go to $2 (default ./walkthrough).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=${1:-http://127.0.0.1:8080}
work=${2:-./walkthrough}
mkdir -p "$work"
cd "$work"
admin() { "$here/admin-request.sh" admin.pem "$@"; }
# The value of a JSON string field (the responses here carry each name once).
field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }

# 1. The admin key; the first signed admin request enrols it (trust on first use).
[ -f admin.pem ] || openssl genpkey -algorithm ed25519 -out admin.pem
admin GET "$base/admin/authorized-users"

# 2. A partner and an API key (shown once: keep it).
admin POST "$base/admin/partners" '{"id":"acme","name":"Acme Ltd"}'
api_key=$(admin POST "$base/admin/partners/acme/api-keys" \
    '{"name":"backend","environment":"test","scopes":["orders:read"]}' | field secret)
echo "API key issued: ${api_key:0:12}..."

# 3. A request with the API key, as nginx's auth_request would ask.
curl --silent --fail-with-body "$base/forward-auth/nginx" \
    -H "X-Original-URI: /orders" -H "X-Original-Method: GET" \
    -H "Authorization: Bearer $api_key" -D - -o /dev/null | grep -i '^x-auth-'

# 4. The partner's own Ed25519 key: upload the public half, get a key_id.
[ -f partner.pem ] || openssl genpkey -algorithm ed25519 -out partner.pem
# The PEM as one JSON string: newlines as \n.
public_pem="\"$(openssl pkey -in partner.pem -pubout | awk '{printf "%s\\n", $0}')\""
key_id=$(admin POST "$base/admin/partners/acme/public-keys" \
    "{\"name\":\"signing\",\"environment\":\"test\",\"purpose\":\"http_signature\",\"algorithm\":\"ed25519\",\"public_key\":$public_pem}" \
    | field key_id)
echo "public key registered as $key_id"

# 5. A request signed with it (RFC 9421) for $base/orders, checked by forward-auth.
mapfile -t sig < <(KEYID=$key_id SIGN_ONLY=1 "$here/admin-request.sh" partner.pem GET "$base/orders")
curl --silent --fail-with-body "$base/forward-auth/nginx" \
    -H "X-Original-URI: /orders" -H "X-Original-Method: GET" \
    -H "${sig[0]}" -H "${sig[1]}" -D - -o /dev/null | grep -i '^x-auth-'
echo "walkthrough complete"
