/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stand-in for the build's config.h; see gio/gio.h. */
#pragma once

#define GETTEXT_PACKAGE "postgate"
