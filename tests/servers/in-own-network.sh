#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs a command in a network namespace of its own with only loopback up,
# for tests that need fixed, well-known ports (25, 2525): there nothing
# else can hold them, and nothing the test opens is seen outside.
#
#   in-own-network.sh COMMAND [ARGUMENT…]
#
# As root a plain network namespace; otherwise inside a user namespace
# that maps the caller to root (unprivileged user namespaces must be on).
set -eu

if [ "${POSTGATE_IN_OWN_NETWORK:-}" = 1 ]; then
  ip link set lo up
  exec "$@"
fi
export POSTGATE_IN_OWN_NETWORK=1
if [ "$(id -u)" = 0 ]; then
  exec unshare --net -- "$0" "$@"
fi
exec unshare --user --map-root-user --net -- "$0" "$@"
