/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-smtp-auth.h"
#include "gate-smtp-capabilities.h"
#include "gate-smtp-envelope.h"
#include "gate-smtp-error.h"
#include "gate-smtp-send-result.h"
#include "gate-tls-info.h"
#include "gate-transcript-event.h"

G_BEGIN_DECLS

typedef enum
{
  GATE_SMTP_SECURITY_NONE,
  GATE_SMTP_SECURITY_STARTTLS, /* required when chosen: never falls back to clear text */
  GATE_SMTP_SECURITY_TLS,      /* implicit TLS from the first byte */
} GateSmtpSecurity;

#define GATE_TYPE_SMTP_SECURITY (gate_smtp_security_get_type ())
GType gate_smtp_security_get_type (void) G_GNUC_CONST;

/* "none", "starttls", "tls" and back; FALSE for an unknown name. */
const char *gate_smtp_security_to_string (GateSmtpSecurity security);
gboolean gate_smtp_security_from_string (const char *name, GateSmtpSecurity *security);
/* Translated words for a user: "No encryption", "STARTTLS", "TLS (SSL)". */
const char *gate_smtp_security_get_label (GateSmtpSecurity security);

#define GATE_TYPE_SMTP_CLIENT (gate_smtp_client_get_type ())
G_DECLARE_FINAL_TYPE (GateSmtpClient, gate_smtp_client, GATE, SMTP_CLIENT, GObject)

/* One SMTP session to one server.  Connect once, send many messages (the
 * client sends RSET after a failed transaction), then quit.
 *
 * Properties (all settable before connecting):
 *   host, port, security
 *   username, password, oauth-token (write-only; never logged or read back)
 *   auth-mechanisms (GateSmtpAuthMechanism flags allowed; default AUTOMATIC)
 *   allow-plain-auth (send credentials without TLS; default FALSE)
 *   helo-name (default: this machine's name when it is a usable domain, else
 *              the local address literal)
 *   ca-file (an extra trust anchor besides the system store)
 *   pinned-fingerprint (SHA-256 of the server certificate, hex, colons optional;
 *              a matching certificate is trusted even if self-signed)
 *   connect-timeout, command-timeout, data-timeout (seconds; 30, 60, 600)
 * Read-only:
 *   stage (GateSmtpStage), capabilities (GateSmtpCapabilities, after EHLO),
 *   tls-info (GateTlsInfo, once TLS is up), messages-sent (guint),
 *   connected (gboolean)
 * Signals:
 *   transcript (GateTranscriptEvent *event): each line as it happens.
 *
 * Property types: "security" is a GATE_TYPE_SMTP_SECURITY enum; "stage" is a
 * guint holding a GateSmtpStage and "auth-mechanisms" a guint holding
 * GateSmtpAuthMechanism flags.  "stage" is notified at every change (the GUI's
 * stage indicator); it reads GATE_SMTP_STAGE_DONE when the client is ready
 * or a message was accepted, and keeps the failing stage after an error.
 * "capabilities" and "tls-info" keep the last session's values after it
 * closed, until the next connect.
 *
 * A failure closes the connection, except an SMTP refusal of one message
 * (sender, recipients, content, size, 8BITMIME/SMTPUTF8 missing): the
 * session stays usable and the next send starts with RSET.  Cancelling (or
 * gate_smtp_client_close() during an operation) ends the operation with
 * GATE_SMTP_ERROR_CANCELLED and closes the connection.  Time-outs apply to
 * each wait on the server: connect-timeout to the TCP connection,
 * command-timeout to each reply and the TLS handshake, data-timeout to each
 * write of message content and to the reply after it.
 */
GateSmtpClient *gate_smtp_client_new (const char *host, guint16 port, GateSmtpSecurity security);

const char *gate_smtp_client_get_host (GateSmtpClient *self);
guint16 gate_smtp_client_get_port (GateSmtpClient *self);
GateSmtpSecurity gate_smtp_client_get_security (GateSmtpClient *self);
void gate_smtp_client_set_credentials (GateSmtpClient *self, const char *username, const char *password);
void gate_smtp_client_set_oauth_token (GateSmtpClient *self, const char *username, const char *token);
void gate_smtp_client_set_auth_mechanisms (GateSmtpClient *self, GateSmtpAuthMechanism allowed);
void gate_smtp_client_set_allow_plain_auth (GateSmtpClient *self, gboolean allow);
void gate_smtp_client_set_helo_name (GateSmtpClient *self, const char *helo_name);
void gate_smtp_client_set_ca_file (GateSmtpClient *self, const char *ca_file);
void gate_smtp_client_set_pinned_fingerprint (GateSmtpClient *self, const char *sha256_hex);
void gate_smtp_client_set_timeouts (GateSmtpClient *self, guint connect_seconds, guint command_seconds,
                                    guint data_seconds);

GateSmtpStage gate_smtp_client_get_stage (GateSmtpClient *self);
gboolean gate_smtp_client_is_connected (GateSmtpClient *self);
GateSmtpCapabilities *gate_smtp_client_get_capabilities (GateSmtpClient *self);
/* NULL when the session is not inside TLS. */
GateTlsInfo *gate_smtp_client_get_tls_info (GateSmtpClient *self);
/* The AUTH mechanism used, NONE when the session did not authenticate. */
GateSmtpAuthMechanism gate_smtp_client_get_auth_mechanism_used (GateSmtpClient *self);
guint gate_smtp_client_get_messages_sent (GateSmtpClient *self);

/* Connects, reads the greeting, EHLO (HELO if refused), STARTTLS and EHLO again
 * when asked for, and AUTH when credentials are set.  With STARTTLS chosen and
 * not offered, fails before any credentials or mail are sent. */
void gate_smtp_client_connect_async (GateSmtpClient *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean gate_smtp_client_connect_finish (GateSmtpClient *self, GAsyncResult *result, GError **error);

/* Sends one message on a connected client: MAIL, RCPT (pipelined with DATA when
 * offered), then @message streamed in constant memory with CRLF normalisation
 * and dot-stuffing.  Succeeds when the server took the message for at least
 * one recipient; the result tells which recipients were refused. */
void gate_smtp_client_send_async (GateSmtpClient *self, GateSmtpEnvelope *envelope, GInputStream *message,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
GateSmtpSendResult *gate_smtp_client_send_finish (GateSmtpClient *self, GAsyncResult *result, GError **error);

/* Says the next message sent is the last of the session: when the server
 * pipelines, QUIT goes in the same write as the end of data and the session
 * closes after its reply, saving a round trip (gate_smtp_client_quit_async
 * then has nothing left to do). */
void gate_smtp_client_set_quit_after_send (GateSmtpClient *self, gboolean quit_after_send);

/* QUIT and close. */
void gate_smtp_client_quit_async (GateSmtpClient *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean gate_smtp_client_quit_finish (GateSmtpClient *self, GAsyncResult *result, GError **error);

/* Closes at once, without QUIT (after a failure or when cancelled). */
void gate_smtp_client_close (GateSmtpClient *self);

G_END_DECLS
