#!/bin/sh
# Regenerates the Qredo vectors with the openssl CLI (an implementation independent of ours).
# The key is a throwaway test key made for these vectors; it protects nothing.
set -eu
cd "$(dirname "$0")"
[ -f partner-key.pem ] || openssl genrsa -traditional -out partner-key.pem 2048
openssl rsa -in partner-key.pem -pubout -out partner-key.pub.pem 2>/dev/null
sign() { # timestamp-or-nonce url body-file
  printf '%s%s' "$1" "$2" | cat - "$3" | openssl dgst -sha256 -sign partner-key.pem | base64 -w0 | tr '+/' '-_' | tr -d '='
}
printf '' > empty.body
printf '{"name":"Acme Ltd","country":"GB"}' > post.body
{
  echo '['
  echo "  {\"header\": \"x-timestamp\", \"value\": \"1605779886\", \"method\": \"GET\", \"url\": \"https://api.qredo.network/api/v1/p/company/search\", \"body\": \"\", \"x_sign\": \"$(sign 1605779886 https://api.qredo.network/api/v1/p/company/search empty.body)\"},"
  echo "  {\"header\": \"x-timestamp\", \"value\": \"1605779886\", \"method\": \"POST\", \"url\": \"https://api.qredo.network/api/v1/p/company?ref=a%20b&x=1\", \"body\": \"{\\\"name\\\":\\\"Acme Ltd\\\",\\\"country\\\":\\\"GB\\\"}\", \"x_sign\": \"$(sign 1605779886 'https://api.qredo.network/api/v1/p/company?ref=a%20b&x=1' post.body)\"},"
  echo "  {\"header\": \"x-nonce\", \"value\": \"42\", \"method\": \"GET\", \"url\": \"wss://api.qredo.network/api/v1/p/coreclient/feed\", \"body\": \"\", \"x_sign\": \"$(sign 42 wss://api.qredo.network/api/v1/p/coreclient/feed empty.body)\"}"
  echo ']'
} > vectors.json
rm -f empty.body post.body
