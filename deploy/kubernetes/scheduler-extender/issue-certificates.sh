#!/bin/sh
# Issue the extender's certificates with openssl and store them as the two Secrets:
#   continuum-api-tls        tls.crt, tls.key (the API, continuum-api.continuum.svc), ca.crt
#   continuum-scheduler-tls  tls.crt, tls.key (CN=continuum-scheduler,O=continuum), ca.crt
# Usage: issue-certificates.sh DIR [--apply]   (--apply runs kubectl; without it, files only)
# Keep DIR/ca.key offline: it signs every client the API trusts. A cluster with cert-manager can
# issue the same two Secrets from one CA Issuer instead.
set -eu
dir=${1:?usage: issue-certificates.sh DIR [--apply]}
days=${DAYS:-365}
mkdir -p "$dir"
umask 077
cd "$dir"
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days "$days" \
  -subj "/CN=continuum extender CA" -keyout ca.key -out ca.crt \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign"
issue() {  # name subject extensions
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "$2" \
    -keyout "$1.key" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
    -extfile "$1.ext" -out "$1.crt"
  rm -f "$1.csr" "$1.ext"
}
issue api "/CN=continuum-api" "basicConstraints=critical,CA:FALSE
extendedKeyUsage=serverAuth
subjectAltName=DNS:continuum-api.continuum.svc,DNS:continuum-api.continuum.svc.cluster.local,DNS:continuum-api"
issue scheduler "/O=continuum/CN=continuum-scheduler" "basicConstraints=critical,CA:FALSE
extendedKeyUsage=clientAuth"
if [ "${2:-}" = "--apply" ]; then
  kubectl -n continuum create secret generic continuum-api-tls \
    --from-file=tls.crt=api.crt --from-file=tls.key=api.key --from-file=ca.crt=ca.crt
  kubectl -n continuum create secret generic continuum-scheduler-tls \
    --from-file=tls.crt=scheduler.crt --from-file=tls.key=scheduler.key --from-file=ca.crt=ca.crt
fi
