/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Loads the system's certificate authorities for TLS ahead of the first
 * secure connection, once per process, from an idle callback on the thread
 * default main context: call it when a connection has started and its
 * first replies are still to come. */
void gate_tls_warm_up (void);

G_END_DECLS
