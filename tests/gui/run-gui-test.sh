#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs a GUI test the way a desktop would run Postgate, but private to the
# test: a virtual X screen (Xvfb), a new D-Bus session with the
# accessibility bus (AT-SPI, which dogtail reads), an unlocked throwaway
# GNOME Keyring, and temporary config/data folders.
#
#   run-gui-test.sh COMMAND [ARGUMENT…]
#
# The command finds Postgate in $POSTGATE_GUI and the schema through
# GSETTINGS_SCHEMA_DIR.  Exit status: the command's.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
keyring="$here/../profiles/with-keyring.sh"

if [ "${POSTGATE_IN_XVFB:-}" != 1 ]; then
  export POSTGATE_IN_XVFB=1
  exec xvfb-run -a -s '-screen 0 1280x800x24 -nolisten tcp' "$keyring" "$0" "$@"
fi

# Inside the display and the keyring's D-Bus session now.
tmp=$(mktemp -d)
atspi_pid=
cleanup () {
  if [ -n "$atspi_pid" ]; then
    kill "$atspi_pid" 2>/dev/null || true
    wait "$atspi_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

/usr/libexec/at-spi-bus-launcher --launch-immediately >"$tmp/atspi.log" 2>&1 &
atspi_pid=$!

mkdir -m 700 "$tmp/config" "$tmp/cache"
export XDG_CONFIG_HOME="$tmp/config"
export XDG_CACHE_HOME="$tmp/cache"
export GDK_BACKEND=x11
export GTK_A11Y=atspi
export GSETTINGS_BACKEND=memory
export LIBGL_ALWAYS_SOFTWARE=1
export GSK_RENDERER=cairo
# The accessibility bridge must be on for dogtail to see the window.
unset NO_AT_BRIDGE
export POSTGATE_GUI_TMP="$tmp"
# Under the sanitizers: no leak check for the GUI.  GTK, fontconfig and the
# OpenGL driver keep caches for the life of the process, and the full stacks
# the leak check needs slow every allocation of a GUI past the tests' waits.
if [ -n "${ASAN_OPTIONS:-}" ]; then
  export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0:fast_unwind_on_malloc=1"
fi
# Warnings stay fatal for Postgate (the test hands them on), not for the
# accessibility library inside the test driver, which warns while windows
# come and go.
export POSTGATE_APP_G_DEBUG="${G_DEBUG:-}"
unset G_DEBUG

# Wait (at most 10 s) for the accessibility bus.
tries=0
until gdbus call --session --dest org.a11y.Bus --object-path /org/a11y/bus \
        --method org.a11y.Bus.GetAddress >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -gt 100 ]; then
    echo "run-gui-test.sh: the accessibility bus did not start" >&2
    cat "$tmp/atspi.log" >&2
    exit 125
  fi
  sleep 0.1
done

status=0
"$@" || status=$?
exit "$status"
