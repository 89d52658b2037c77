/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Called when the stream has something to read (or has ended or failed);
 * returns G_SOURCE_CONTINUE to keep watching. */
typedef gboolean (*GateReadableFunc) (gpointer user_data);

/* A source that calls @func whenever @stream's input can be read without
 * waiting, for a connection read many times over.
 *
 * On a plain TCP connection it watches the socket itself: the source GIO
 * makes for a socket's stream has the socket's source as a child, and a
 * child cannot be told to run from nested loops, so around each of its calls
 * GLib takes the socket out of the poll set and puts it back, waking the main
 * loop twice.  On other streams (TLS) it is the stream's own pollable source.
 * Either way the source is set to run from nested loops (can-recurse): those
 * who use it must not start a nested loop from @func.
 *
 * @notify frees @user_data with the source.  Attach it with g_source_attach(). */
GSource *gate_readable_source_new (GIOStream *stream, GCancellable *cancellable, GateReadableFunc func,
                                   gpointer user_data, GDestroyNotify notify);

G_END_DECLS
