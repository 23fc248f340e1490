#!/usr/bin/env bash
# Makes a throw-away CA and certificates for the TLS examples in this directory (needs the openssl CLI):
#   ca.crt                 the CA clients and upstream origination trust
#   proxy.crt/proxy.key    the proxy's server certificate (localhost, proxy.test)
#   backend.crt/.key       an upstream server certificate (backend.test)
#   a.crt/.key, b.crt/.key two SNI-passthrough backends (a.test, *.b.test)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mkdir -p certs && cd certs
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
  -days 30 -subj "/CN=keelson-example-ca" 2>/dev/null
leaf() { # name cn sans
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" \
    -subj "/CN=$2" 2>/dev/null
  printf 'subjectAltName=%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 30 \
    -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
leaf proxy proxy.test "DNS:localhost,DNS:proxy.test,IP:127.0.0.1"
leaf backend backend.test "DNS:backend.test"
leaf a a.test "DNS:a.test"
leaf b wild.b.test "DNS:*.b.test"
echo "certificates in $(pwd)"
