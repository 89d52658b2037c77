#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Type-checks the mail queue's Windows file operations
# (src/platform/gate-spool-fs-windows.c: CreateFileW, LockFileEx,
# FlushFileBuffers, MoveFileExW) with the mingw-w64 cross compiler against
# its real <windows.h>, using the GLib stand-in of tests/profiles/win32-shim
# plus tests/relay/win32-shim.
#
#   check-windows-spool-fs.sh SOURCE_DIR
#
# Fails (it does not skip) when the cross compiler is missing: build-aux/deps.sh
# installs it (gcc-mingw-w64-x86-64).
set -eu

src=${1:?usage: check-windows-spool-fs.sh SOURCE_DIR}
cc=x86_64-w64-mingw32-gcc

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "not ok: $cc is missing; install gcc-mingw-w64-x86-64 (build-aux/deps.sh lists it)" >&2
  exit 1
fi

echo "checking src/platform/gate-spool-fs-windows.c with $cc"
"$cc" -fsyntax-only -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wformat=2 -Werror \
  -Werror=implicit-function-declaration -Werror=incompatible-pointer-types -Werror=int-conversion \
  -I "$src/tests/relay/win32-shim" -I "$src/tests/profiles/win32-shim" -I "$src/src/platform" \
  "$src/src/platform/gate-spool-fs-windows.c"
echo "ok"
