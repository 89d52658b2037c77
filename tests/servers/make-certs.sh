#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Makes throwaway certificates for the SMTP tests, with openssl, into DIR:
#
#   make-certs.sh DIR
#
#   ca.pem / ca.key                  a test certificate authority
#   localhost.pem / localhost.key    for DNS:localhost, IP:127.0.0.1, IP:::1,
#                                    signed by the test CA
#   wronghost.pem / wronghost.key    for DNS:wrong.example.test only, signed
#                                    by the test CA (a host-name mismatch)
#   expired.pem / expired.key        for localhost, signed by the test CA,
#                                    valid only in 2020
#   selfsigned.pem / selfsigned.key  for localhost, signed by itself
#
# Keys are EC P-256 (fast to make).  Nothing here is secret or reused: every
# test run makes its own.
set -eu

dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"

san_localhost="subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

key () {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# The test CA.
key ca.key
openssl req -x509 -new -key ca.key -days 30 -subj "/O=Postgate Tests/CN=Postgate Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem 2>/dev/null

# sign NAME SUBJECT SAN [extra openssl-ca args]: a leaf signed by the test CA.
# `openssl ca` rather than `x509 -req`, because only it can set past dates.
mkdir -p ca-db
: > ca-db/index.txt
cat > ca-db/ca.cnf <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = ca-db/index.txt
new_certs_dir = ca-db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = copy
rand_serial = yes
email_in_dn = no
[ policy_any ]
organizationName = optional
commonName = supplied
CNF

sign () {
  name=$1; subject=$2; san=$3; shift 3
  key "$name.key"
  openssl req -new -key "$name.key" -subj "$subject" -addext "$san" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "extendedKeyUsage=serverAuth" -out "$name.csr" 2>/dev/null
  openssl ca -batch -config ca-db/ca.cnf -in "$name.csr" -out "$name.pem" -notext "$@" 2>/dev/null
  rm -f "$name.csr"
}

sign localhost "/O=Postgate Tests/CN=localhost" "$san_localhost" -days 30
sign wronghost "/O=Postgate Tests/CN=wrong.example.test" "subjectAltName=DNS:wrong.example.test" -days 30
sign expired "/O=Postgate Tests/CN=localhost" "$san_localhost" \
  -startdate 20200101000000Z -enddate 20200102000000Z

key selfsigned.key
openssl req -x509 -new -key selfsigned.key -days 30 -subj "/O=Postgate Tests/CN=localhost" \
  -addext "$san_localhost" -out selfsigned.pem 2>/dev/null

rm -rf ca-db
