#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs, with apt-get, whatever Postgate needs to build and test that is
# not on this Debian machine yet.  Sourced by build-aux/run and build-aux/test.
set -euo pipefail

POSTGATE_BUILD_PACKAGES=(
  meson ninja-build pkg-config gcc gettext
  libglib2.0-dev libglib2.0-dev-bin glib-networking
  libsoup-3.0-dev libjson-glib-dev libssl-dev libsecret-1-dev
  libgtk-4-dev libadwaita-1-dev
  desktop-file-utils appstream
)

POSTGATE_TEST_PACKAGES=(
  python3 python3-aiosmtpd swaks libnet-ssleay-perl libio-socket-ssl-perl curl msmtp openssl postfix stunnel4
  gnome-keyring dbus-daemon dbus-x11 libsecret-tools dnsmasq-base iproute2
  xvfb xauth at-spi2-core python3-dogtail python3-gi gir1.2-atspi-2.0 xdotool imagemagick
  gtk-4-examples gcc-mingw-w64-x86-64 libclang-rt-14-dev time strace python3-fusepy systemd
)

postgate_missing_packages () {
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      echo "$pkg"
    fi
  done
}

postgate_install () {
  local missing
  missing=$(postgate_missing_packages "$@")
  [ -z "$missing" ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing: $(echo $missing | tr '\n' ' ')"
  # Postfix is only used for its smtp-sink and smtp-source tools: never
  # configure a system mail server on the test machine.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
}
