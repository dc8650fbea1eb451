#!/usr/bin/env bash
# The walkthroughs of crates/auth-cli/WALKTHROUGH.md as one script, using only authctl (and the
# test that runs them, crates/auth-cli/tests/walkthrough.rs): against a running auth-verify at
# $1 (default http://127.0.0.1:8080) the provider enrols as admin, creates a partner and issues
# an API key; the partner makes keys; the provider registers them; the partner signs a real
# request with every scheme; the provider revokes the API key and the next request is refused.
# Work files go to $2 (default ./authctl-walkthrough). AUTHCTL names the binary (default: authctl).
set -euo pipefail
base=${1:-http://127.0.0.1:8080}
work=${2:-./authctl-walkthrough}
authctl=${AUTHCTL:-authctl}
mkdir -p "$work"
cd "$work"
# The value of a JSON string field of authctl --json output (one object, each name once).
field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }

# --- Provider: enrol, a partner, an API key -------------------------------------------------
# The first admin request creates your admin key (~/.config/authctl/admin.key, mode 0600) and,
# on a fresh service, enrols it (trust on first use).
"$authctl" admin --server "$base" bootstrap
"$authctl" admin profile set walkthrough --url "$base" --default   # no --server from here on
"$authctl" admin partner create acme --name "Acme Ltd"
"$authctl" admin api-key issue acme --name backend --env test --scope orders:read --secret-out acme-api.key

# --- Partner: keys --------------------------------------------------------------------------
"$authctl" keygen --type ed25519 -o partner-ed25519.pem --public-out partner-ed25519.pub
"$authctl" keygen --type rsa --bits 2048 -o partner-rsa.pem --public-out partner-rsa.pub

# --- Provider: register the partner's public keys and shared secrets --------------------------
http_key=$("$authctl" --json admin key upload acme --public-key partner-ed25519.pub --purpose http-signature \
    --name signing --env test --scope orders:read | field key_id)
"$authctl" admin key upload acme --public-key partner-rsa.pub --purpose qredo --name qredo --env test \
    --scope orders:read --secret-out acme-qredo.key
altalix_key=$("$authctl" --json admin key upload acme --public-key partner-rsa.pub --purpose altalix \
    --name altalix --env test | field key_id)
"$authctl" admin secret create acme --kind jwt-hs256 --client-id acme-client --name jwt --env test \
    --scope orders:read --secret-out acme-jwt.secret
smile_id=$("$authctl" --json admin secret create acme --kind smile --name smile --env test \
    --secret-out acme-smile.key | field key_id)

# --- Partner: a real request with every scheme -----------------------------------------------
# The session endpoint takes API keys, RFC 9421, Qredo and JWT; Envoy's forward-auth endpoint
# judges the request it receives, so it shows Smile and Altalix too.
sessions="$base/api/auth/sessions"
body="{\"scopes\":[\"orders:read\"],\"expires_at\":\"$(date -u -d '+5 min' +%Y-%m-%dT%H:%M:%SZ)\"}"
"$authctl" request "$sessions" -d "$body" -H 'content-type: application/json' \
    --scheme api-key --api-key @acme-api.key >/dev/null && echo "accepted: api-key"
"$authctl" -v request "$sessions" -d "$body" -H 'content-type: application/json' \
    --scheme rfc9421 --key partner-ed25519.pem --key-id "$http_key" >/dev/null && echo "accepted: rfc9421"
"$authctl" request "$sessions" -d "$body" -H 'content-type: application/json' \
    --scheme qredo --key partner-rsa.pem --api-key @acme-qredo.key >/dev/null && echo "accepted: qredo"
"$authctl" request "$sessions" -d "$body" -H 'content-type: application/json' \
    --scheme jwt --client-id acme-client --secret @acme-jwt.secret >/dev/null && echo "accepted: jwt"
"$authctl" request "$base/forward-auth/envoy/orders" \
    --scheme smile --partner-id "$smile_id" --secret @acme-smile.key >/dev/null && echo "accepted: smile"
printf '%s' '{"sell_currency":"EUR","buy_currency":"ETH","address":"0x52908400098527886E0F7030069857D2E4169EE7","sell_amount":"100"}' >order.json
"$authctl" request "$base/forward-auth/envoy/partners/transaction-create" \
    --scheme altalix --key partner-rsa.pem --key-id "$altalix_key" --partner-id acme \
    --altalix-order @order.json >/dev/null && echo "accepted: altalix"

# --- Partner: check the setup ----------------------------------------------------------------
"$authctl" doctor --key partner-ed25519.pem --key-id "$http_key"

# --- Provider: revoke the API key; the next request is refused (exit 1) ----------------------
reference=$("$authctl" --json admin api-key list acme | field reference)
"$authctl" admin api-key revoke "$reference"
status=0
"$authctl" request "$sessions" -d "$body" -H 'content-type: application/json' \
    --scheme api-key --api-key @acme-api.key >/dev/null || status=$?
[ "$status" = 1 ] || { echo "a revoked key was not refused (exit $status)" >&2; exit 1; }
echo "refused after revocation: api-key"
echo "walkthrough complete"
