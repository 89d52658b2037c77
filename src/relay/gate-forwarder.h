/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-smtp-client.h"
#include "gate-spool.h"

G_BEGIN_DECLS

/* Default limits, taken from what relay services allow. */
#define GATE_FORWARDER_DEFAULT_CONNECTIONS 4
#define GATE_FORWARDER_MAX_CONNECTIONS 40
#define GATE_FORWARDER_DEFAULT_MESSAGES_PER_CONNECTION 2500
#define GATE_FORWARDER_DEFAULT_RATE_PER_HOUR 200000
#define GATE_FORWARDER_DEFAULT_IDLE_SECONDS 15
#define GATE_FORWARDER_DEFAULT_RETRY_BASE 60       /* first retry after a minute… */
#define GATE_FORWARDER_DEFAULT_RETRY_MAX 3600      /* …doubling up to an hour */
#define GATE_FORWARDER_DEFAULT_MAX_AGE (5 * 86400) /* then give up after five days */

/* Makes one unconnected client for the outgoing server, with its credentials
 * set.  Called for every upstream connection the forwarder opens. */
typedef GateSmtpClient *(*GateForwarderClientFactory) (gpointer user_data);

/* Why no connection to the outgoing server could be made, by what the user
 * can do about it: wait, fix the trust settings, or fix the credentials. */
typedef enum
{
  GATE_UPSTREAM_PROBLEM_NONE,
  GATE_UPSTREAM_PROBLEM_UNREACHABLE, /* name, network, refused, time-out, 421 */
  GATE_UPSTREAM_PROBLEM_SECURITY,    /* TLS, the server's certificate, no STARTTLS */
  GATE_UPSTREAM_PROBLEM_SIGN_IN,     /* the credentials refused, or no way to sign in */
} GateUpstreamProblem;

#define GATE_TYPE_FORWARDER (gate_forwarder_get_type ())
G_DECLARE_FINAL_TYPE (GateForwarder, gate_forwarder, GATE, FORWARDER, GObject)

/* Takes the messages of a spool to the outgoing server, streaming each from
 * disk through a GateSmtpClient.  A message leaves the spool only after the
 * server answered 250 for it (at least once delivery); temporary failures are
 * retried with a doubling delay, permanent ones mark the message failed with
 * the server's reply.  Mail is never bounced back to the device that sent it.
 *
 * Properties:
 *   spool (GateSpool, construct-only)
 *   max-connections (1–40, default 4): upstream connections used at once
 *   messages-per-connection (default 2500): then QUIT and connect again
 *   idle-timeout (seconds, default 15): an unused connection is closed after it
 *   rate-per-hour (default 200000; 0 for no cap)
 *   retry-base, retry-max (seconds; default 60 and 3600)
 *   max-age (seconds, default 5 days): older messages fail instead of waiting
 *   grace-period (seconds, default 10): how long stop waits for deliveries
 * Read-only:
 *   running (gboolean)
 *   queue-length (guint): messages waiting or being sent (not failed ones)
 *   connections (guint): upstream connections open now
 *   upstream-connected (gboolean)
 *   upstream-state (string): "Connected to the outgoing server mail.example.com" or
 *     "Cannot reach the outgoing server: …", for a status line
 *   upstream-problem (GateUpstreamProblem): why the last connection attempt
 *     failed, NONE once one works
 *   paced (gboolean): messages are due but wait for the hourly rate cap;
 *     back to FALSE once none waited for it for a few seconds
 *
 * Signals:
 *   delivered (const char *id, const char *reply): the server took the message
 *   deferred (const char *id, const char *reason, gint64 next_attempt_unix)
 *   failed (const char *id, const char *reason): given up; reason in plain words
 *   recipient-failed (const char *id, const char *recipient, const char *reason)
 */
GateForwarder *gate_forwarder_new (GateSpool *spool);

void gate_forwarder_set_client_factory (GateForwarder *self, GateForwarderClientFactory factory,
                                        gpointer user_data, GDestroyNotify destroy);

GateSpool *gate_forwarder_get_spool (GateForwarder *self);
void gate_forwarder_set_max_connections (GateForwarder *self, guint max_connections);
guint gate_forwarder_get_max_connections (GateForwarder *self);
void gate_forwarder_set_messages_per_connection (GateForwarder *self, guint messages);
void gate_forwarder_set_idle_timeout (GateForwarder *self, guint seconds);
void gate_forwarder_set_rate_per_hour (GateForwarder *self, guint rate);
void gate_forwarder_set_retry (GateForwarder *self, guint base_seconds, guint max_seconds);
void gate_forwarder_set_retry_base (GateForwarder *self, guint seconds);
void gate_forwarder_set_retry_max (GateForwarder *self, guint seconds);
void gate_forwarder_set_max_age (GateForwarder *self, guint seconds);
void gate_forwarder_set_grace_period (GateForwarder *self, guint seconds);

gboolean gate_forwarder_is_running (GateForwarder *self);
guint gate_forwarder_get_queue_length (GateForwarder *self);
guint gate_forwarder_get_connections (GateForwarder *self);
gboolean gate_forwarder_get_upstream_connected (GateForwarder *self);
const char *gate_forwarder_get_upstream_state (GateForwarder *self);
gboolean gate_forwarder_get_paced (GateForwarder *self);
/* Why the last connection attempt failed (upstream-state says it in words;
 * NONE once one works): mail waits meanwhile.  Set before upstream-state is
 * notified. */
GateUpstreamProblem gate_forwarder_get_upstream_problem (GateForwarder *self);
/* What the user can do about the problem, a sentence; NULL without one. */
const char *gate_forwarder_get_upstream_next_step (GateForwarder *self);

/* Something that held every message back has changed (the user corrected
 * the password, say): the wait after failed connection attempts ends, and
 * every message waiting for its next try is tried now. */
void gate_forwarder_retry_now (GateForwarder *self);

/* Reads the spool and starts delivering; reacts to its changes from then on. */
void gate_forwarder_start (GateForwarder *self);

/* Takes no new message; waits up to the grace period for the deliveries under
 * way, then cancels the rest (they stay in the spool, tried again at the next
 * start) and closes the connections. */
void gate_forwarder_stop_async (GateForwarder *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
gboolean gate_forwarder_stop_finish (GateForwarder *self, GAsyncResult *result, GError **error);

/* The delay before attempt @attempts + 1 (1-based count of failed attempts):
 * base, 2·base, 4·base, … at most max.  Exposed for tests. */
guint gate_forwarder_compute_retry_delay (guint base_seconds, guint max_seconds, guint attempts);

G_END_DECLS
