/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The relay's addresses as a user writes them, read and checked the same
 * way wherever they are given: on the command line, in a profile, before
 * anything listens. */

#define GATE_RELAY_DEFAULT_PORT 2525

/* "ADDR:PORT", "[V6]:PORT", "ADDR" (port 2525) or a bare IPv6 address;
 * ADDR must be an IP address.  *@address is the address without brackets. */
gboolean gate_relay_address_parse_listen (const char *listen, char **address, guint16 *port, GError **error);

/* An address range devices may send from ("192.168.1.0/24", "fd00::/8", or
 * a single address); one that holds every address is refused, for the
 * relay is never open to anyone. */
GInetAddressMask *gate_relay_address_parse_range (const char *range, GError **error);

G_END_DECLS
