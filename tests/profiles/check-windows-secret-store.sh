#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Type-checks the Windows secret store (Credential Manager) and private-file
# code (LockFileEx) with the mingw-w64
# cross compiler: CredWriteW/CredReadW/CredDeleteW and the structures they
# take are checked against mingw-w64's real <windows.h> and <wincred.h>.  A
# stand-in for the GLib headers (win32-shim/) declares the few GLib calls the
# file makes, with GLib's own signatures.
#
#   check-windows-secret-store.sh SOURCE_DIR
#
# Fails (it does not skip) when the cross compiler is missing: build-aux/deps.sh
# installs it (gcc-mingw-w64-x86-64).
set -eu

src=${1:?usage: check-windows-secret-store.sh SOURCE_DIR}
cc=x86_64-w64-mingw32-gcc

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "not ok: $cc is missing; install gcc-mingw-w64-x86-64 (build-aux/deps.sh lists it)" >&2
  exit 1
fi

for file in gate-secret-store-windows.c gate-private-file-windows.c; do
  echo "checking src/platform/$file with $cc"
  "$cc" -fsyntax-only -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wformat=2 -Werror \
    -Werror=implicit-function-declaration -Werror=incompatible-pointer-types -Werror=int-conversion \
    -I "$src/tests/profiles/win32-shim" -I "$src/src/platform" \
    "$src/src/platform/$file"
done
echo "ok"
