/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stand-in for <glib/gi18n-lib.h>; see ../gio/gio.h. */
#pragma once

const char *g_dgettext (const char *domain, const char *msgid) __attribute__ ((format_arg (2)));
#define _(String) g_dgettext (GETTEXT_PACKAGE, String)
#define N_(String) (String)
