/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The current local time, for log lines and mail headers.  Unlike
 * g_date_time_new_now_local(), which looks at the system's time zone files on
 * every call, the zone is looked up at most once a minute: a relay stamps
 * every message it takes.  Safe to call from any thread. */
GDateTime *gate_local_time_now (void);

G_END_DECLS
