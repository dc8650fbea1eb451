#!/bin/sh
# Regenerates the Altalix signed-URL vectors with the openssl CLI and Python's urllib (both
# independent of our code). The key is a throwaway test key made for these vectors.
set -eu
cd "$(dirname "$0")"
[ -f partner-key.pem ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out partner-key.pem
openssl pkey -in partner-key.pem -pubout -out partner-key.pub.pem
KEY_ID=7d4c2a8e-5b1f-4f3e-9a6d-2c8b1e0f4a93
sign_case() { # name json
  printf '%s' "$2" > "$1.json"
  # openssl base64 wraps lines at 64 characters: receivers must tolerate the newlines.
  openssl base64 -in "$1.json" > "$1.payload.b64"
  openssl dgst -sha256 -sign partner-key.pem "$1.json" | openssl base64 > "$1.signature.b64"
  python3 -c 'import sys, urllib.parse as u
p = open(sys.argv[1] + ".payload.b64").read(); s = open(sys.argv[1] + ".signature.b64").read()
print("https://altalix.example/partners/transaction-create?payload=" + u.quote(p, safe="") + "&signature=" + u.quote(s, safe=""))' "$1" > "$1.url"
}
sign_case sell '{"sell_currency":"EUR","buy_currency":"ETH","address":"0x52908400098527886E0F7030069857D2E4169EE7","partner_id":"085","key_id":"'$KEY_ID'","created_at":"2026-11-24T12:00:00Z","sell_amount":"25"}'
sign_case buy '{"sell_currency":"EUR","buy_currency":"BTC","address":"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq","partner_id":"085","key_id":"'$KEY_ID'","created_at":"2026-11-24T12:00:00.123+00:00","buy_amount":"0.015"}'
