/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-spool.h"

G_BEGIN_DECLS

/* What the queue view and the tray need of a relay's spool: the messages by
 * kind (waiting, being sent, on hold, failed with their reasons), counts that
 * notify when they change, the user's actions, and one "changed" signal.
 *
 * Properties (read-only, notify): n-waiting, n-sending, n-held, n-failed.
 * Signal "changed" (GateQueue *, const char *id, GateSpoolEntry *entry_or_NULL). */

#define GATE_TYPE_QUEUE (gate_queue_get_type ())
G_DECLARE_FINAL_TYPE (GateQueue, gate_queue, GATE, QUEUE, GObject)

GateQueue *gate_queue_new (GateSpool *spool);
GateSpool *gate_queue_get_spool (GateQueue *self);

/* New arrays of entry references, oldest first.  @status < 0: every message. */
GPtrArray *gate_queue_list (GateQueue *self, int status);
guint gate_queue_get_n_waiting (GateQueue *self); /* queued */
guint gate_queue_get_n_sending (GateQueue *self); /* in flight */
guint gate_queue_get_n_held (GateQueue *self);
guint gate_queue_get_n_failed (GateQueue *self);

/* The user's actions; see gate_spool_retry/hold/delete. */
gboolean gate_queue_retry (GateQueue *self, const char *id, GError **error);
/* Every waiting, held and failed message: send now.  Returns how many. */
guint gate_queue_retry_all (GateQueue *self);
/* Every message in @status (< 0: every one) that is not being sent right
 * now: sent again now, or deleted (a failed message whose reason has been
 * dealt with, or that is not wanted any more).  One gone or changed by
 * another program meanwhile is skipped; another error stops nothing, the
 * first is in @error.  Returns how many were retried or deleted. */
guint gate_queue_retry_each (GateQueue *self, int status, GError **error);
guint gate_queue_delete_each (GateQueue *self, int status, GError **error);
gboolean gate_queue_hold (GateQueue *self, const char *id, GError **error);
gboolean gate_queue_delete (GateQueue *self, const char *id, GError **error);

/* One line for a person: "Failed: 550 5.1.1 No such user" / "Waiting; next
 * try in 5 minutes (451 Try again later)". */
char *gate_queue_describe (GateSpoolEntry *entry);

G_END_DECLS
