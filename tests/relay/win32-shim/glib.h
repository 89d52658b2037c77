/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stand-in for <glib.h> for the mail queue's Windows file: the shared
 * stand-in (tests/profiles/win32-shim) plus the fixed-size integer types,
 * with GLib's definitions. */
#pragma once

#include <gio/gio.h>

typedef unsigned char guint8;
typedef int64_t gint64;
typedef uint64_t guint64;
