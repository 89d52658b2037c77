/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stand-in for <glib/gstdio.h>; see ../gio/gio.h.  Nothing the Windows files
 * use lives here only. */
#pragma once

#include <gio/gio.h>
