#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs a command against a real, private, unlocked GNOME Keyring:
#
#   with-keyring.sh COMMAND [ARGUMENT…]
#
# A new D-Bus session (dbus-run-session), a keyring daemon started in it with
# its data in a temporary XDG_DATA_HOME and unlocked with a throwaway
# password, then COMMAND with that session's environment.  The daemon is
# stopped by its PID afterwards, and the temporary folders are removed.  The
# user's own keyring and session bus are never touched.  Exit status: the
# command's, or 125 when the keyring could not be started.
set -eu

if [ "${POSTGATE_IN_KEYRING_SESSION:-}" != 1 ]; then
  # Services the bus starts on demand (the accessibility bus and registry,
  # for one) write to the bus's standard output: that goes to standard
  # error, and the command's own (a test's TAP stream) is handed on as fd 3.
  POSTGATE_IN_KEYRING_SESSION=1 POSTGATE_KEYRING_STDOUT=3 exec dbus-run-session -- "$0" "$@" 3>&1 1>&2
fi
if [ "${POSTGATE_KEYRING_STDOUT:-}" = 3 ]; then
  unset POSTGATE_KEYRING_STDOUT
  exec 1>&3 3>&-
fi

tmp=$(mktemp -d)
keyring_pid=
cleanup () {
  if [ -n "$keyring_pid" ]; then
    kill "$keyring_pid" 2>/dev/null || true
    wait "$keyring_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -m 700 "$tmp/data" "$tmp/runtime"
export XDG_DATA_HOME="$tmp/data"
export XDG_RUNTIME_DIR="$tmp/runtime"

# In the foreground (of a background job), so its PID is ours to stop.  Not
# with the tests' G_DEBUG=fatal-warnings: the daemon warns on harmless things
# (replacing an item) and would abort.
printf '%s' postgate-test | env -u G_DEBUG gnome-keyring-daemon --foreground --unlock --components=secrets \
  >"$tmp/keyring.log" 2>&1 &
keyring_pid=$!

# Wait (at most 20 s) until the Secret Service is on the bus.
tries=0
until gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets 2>/dev/null | grep -q true; do
  tries=$((tries + 1))
  if [ "$tries" -gt 200 ] || ! kill -0 "$keyring_pid" 2>/dev/null; then
    echo "with-keyring.sh: the keyring daemon did not start:" >&2
    cat "$tmp/keyring.log" >&2
    exit 125
  fi
  sleep 0.1
done

status=0
"$@" || status=$?
# POSTGATE_KEYRING_LOG=1 shows what the daemon said, to debug a test.
[ -n "${POSTGATE_KEYRING_LOG:-}" ] && cat "$tmp/keyring.log" >&2
exit "$status"
