/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-smtp-client.h"

G_BEGIN_DECLS

/* One port and security mode to try. */
typedef struct {
  guint16 port;
  GateSmtpSecurity security;
} GatePortCandidate;

/* The usual submission ports of a relay service, in the order they are shown:
 * 2525, 8025, 587, 80 and 25 with STARTTLS; 465, 8465 and 443 with implicit
 * TLS.  Sets @n_candidates. */
const GatePortCandidate *gate_port_probe_get_default_candidates (gsize *n_candidates);

/* Parses "587:starttls,465:tls,25" (security defaults to STARTTLS, or TLS for
 * 465, 8465 and 443) into an array of GatePortCandidate.  Fails with
 * G_OPTION_ERROR_BAD_VALUE and a sentence for a user when a part is not a port
 * or a known security mode. */
GArray *gate_port_candidates_parse (const char *text, GError **error);

/* What trying one candidate found.  Immutable, reference counted. */
typedef struct _GatePortProbeResult GatePortProbeResult;

#define GATE_TYPE_PORT_PROBE_RESULT (gate_port_probe_result_get_type ())
GType gate_port_probe_result_get_type (void) G_GNUC_CONST;

GatePortProbeResult *gate_port_probe_result_ref (GatePortProbeResult *result);
void gate_port_probe_result_unref (GatePortProbeResult *result);

guint16 gate_port_probe_result_get_port (const GatePortProbeResult *result);
GateSmtpSecurity gate_port_probe_result_get_security (const GatePortProbeResult *result);
/* TRUE when the server greeted, answered EHLO and (when asked for) TLS was set
 * up and trusted. */
gboolean gate_port_probe_result_get_reached (const GatePortProbeResult *result);
/* Why it was not reached (a GATE_SMTP_ERROR, whose message is plain words), or
 * NULL when it was. */
const GError *gate_port_probe_result_get_error (const GatePortProbeResult *result);
/* "TLS 1.3", …; NULL without TLS. */
const char *gate_port_probe_result_get_tls_protocol (const GatePortProbeResult *result);
/* The TLS details, NULL without TLS. */
GateTlsInfo *gate_port_probe_result_get_tls_info (const GatePortProbeResult *result);
/* AUTH mechanisms offered (after TLS when there was TLS), upper-case,
 * NULL-terminated, never NULL itself. */
const char *const *gate_port_probe_result_get_auth_mechanisms (const GatePortProbeResult *result);
/* The server's name from its EHLO reply, or NULL. */
const char *gate_port_probe_result_get_server_name (const GatePortProbeResult *result);
/* Time from the start of the probe to the end of this candidate's check. */
guint gate_port_probe_result_get_elapsed_ms (const GatePortProbeResult *result);
/* TRUE when reached over TLS (STARTTLS or implicit). */
gboolean gate_port_probe_result_is_encrypted (const GatePortProbeResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GatePortProbeResult, gate_port_probe_result_unref)

#define GATE_TYPE_PORT_PROBE (gate_port_probe_get_type ())
G_DECLARE_FINAL_TYPE (GatePortProbe, gate_port_probe, GATE, PORT_PROBE, GObject)

/* Tries several ports and security modes of one server at the same time,
 * without credentials (greeting, EHLO, STARTTLS or the TLS handshake, EHLO
 * again, QUIT), within one overall time limit.  The connection check of the
 * guided setup, the GUI and `postgate-cli probe` all use it.
 *
 * Properties (set before running):
 *   host, ca-file, pinned-fingerprint (as GateSmtpClient's),
 *   timeout (overall limit in seconds, default 10)
 * Signals:
 *   candidate-finished (GatePortProbeResult *result): as each candidate ends,
 *     in the order they end (for a live table).
 */
GatePortProbe *gate_port_probe_new (const char *host);

const char *gate_port_probe_get_host (GatePortProbe *self);
void gate_port_probe_set_ca_file (GatePortProbe *self, const char *ca_file);
const char *gate_port_probe_get_ca_file (GatePortProbe *self);
void gate_port_probe_set_pinned_fingerprint (GatePortProbe *self, const char *sha256_hex);
const char *gate_port_probe_get_pinned_fingerprint (GatePortProbe *self);
void gate_port_probe_set_timeout (GatePortProbe *self, guint seconds);
guint gate_port_probe_get_timeout (GatePortProbe *self);

/* Replaces the candidates (the defaults until called).  @n_candidates may be
 * 0 to go back to the defaults. */
void gate_port_probe_set_candidates (GatePortProbe *self,
                                     const GatePortCandidate *candidates,
                                     gsize n_candidates);
/* The candidates that will be tried, sets @n_candidates. */
const GatePortCandidate *gate_port_probe_get_candidates (GatePortProbe *self, gsize *n_candidates);

/* Runs the probe once.  Finishes when every candidate has an answer and each
 * server reached has had its QUIT, or when the time limit is reached (those
 * still running count as timed out).  Fails only when @cancellable is
 * cancelled (G_IO_ERROR_CANCELLED). */
void gate_port_probe_run_async (GatePortProbe *self,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);
/* A GPtrArray of GatePortProbeResult, one per candidate in candidate order
 * (transfer full). */
GPtrArray *gate_port_probe_run_finish (GatePortProbe *self, GAsyncResult *result, GError **error);

/* Picks the best reached candidate: encrypted first; then one that offers
 * sign-in (AUTH); then the submission ports that networks rarely block (587,
 * 2525, 465) before the other relay ports (8025, 8465) and before 25, 80 and
 * 443; the fastest answer breaks a tie.  Returns NULL when none was reached.
 * @explanation (optional) receives translated sentences saying why, or why
 * nothing could be chosen and what to do next. */
GatePortProbeResult *gate_port_probe_choose_best (GPtrArray *results, char **explanation);

G_END_DECLS
