/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stand-in for <glib.h>; see gio/gio.h. */
#pragma once

#include <gio/gio.h>
