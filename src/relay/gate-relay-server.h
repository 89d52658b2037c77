/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-spool.h"

G_BEGIN_DECLS

/* The relay's SMTP server: accepts mail from devices on this machine or the
 * allowed parts of the local network and commits each message to the spool
 * before answering 250.  It never forwards anything itself and is never an
 * open relay: a client outside the allowed ranges is refused at connect. */

#define GATE_RELAY_SERVER_DEFAULT_MAX_SIZE G_GUINT64_CONSTANT (52428800)
#define GATE_RELAY_SERVER_DEFAULT_MAX_RECIPIENTS 400
#define GATE_RELAY_SERVER_DEFAULT_MAX_CONNECTIONS 100
#define GATE_RELAY_SERVER_DEFAULT_IDLE_TIMEOUT 300     /* seconds */
#define GATE_RELAY_SERVER_DEFAULT_SESSION_TIMEOUT 3600 /* seconds */

#define GATE_TYPE_RELAY_SERVER (gate_relay_server_get_type ())
G_DECLARE_FINAL_TYPE (GateRelayServer, gate_relay_server, GATE, RELAY_SERVER, GObject)

/* @spool must be opened with GATE_SPOOL_OPEN_OWNER. */
GateRelayServer *gate_relay_server_new (GateSpool *spool);
GateSpool *gate_relay_server_get_spool (GateRelayServer *self);

/* "127.0.0.1", "::1", "0.0.0.0", "192.168.1.5"; @port 0 picks a free port
 * (see get_port).  May be called more than once. */
gboolean gate_relay_server_listen (GateRelayServer *self, const char *address, guint16 port, GError **error);
/* As gate_relay_server_listen(); with @tls_on_connect, clients start with a
 * TLS handshake (implicit TLS, as on port 465), which takes the certificate:
 * set it first. */
gboolean gate_relay_server_listen_full (GateRelayServer *self, const char *address, guint16 port,
                                        gboolean tls_on_connect, GError **error);
/* Parses "ADDR:PORT", "[V6]:PORT", "ADDR" (port 2525) and listens. */
gboolean gate_relay_server_listen_string (GateRelayServer *self, const char *listen, gboolean tls_on_connect,
                                          GError **error);
/* The port of the first listening address. */
guint16 gate_relay_server_get_port (GateRelayServer *self);
/* Stops listening and closes every session (clients get 421; a message not
 * yet committed is dropped, so its client will send it again). */
void gate_relay_server_stop (GateRelayServer *self);

/* Who may connect.  Until the first call, only loopback (127.0.0.0/8, ::1).
 * Once called, the ranges added ("192.168.1.0/24", "fd00::/8", or a single
 * address) and this computer's 127.0.0.1 and ::1: the other loopback
 * addresses only when a range holds them. */
gboolean gate_relay_server_add_allowed (GateRelayServer *self, const char *cidr, GError **error);
gboolean gate_relay_server_is_allowed (GateRelayServer *self, GInetAddress *address);

/* The name in the greeting and Received: headers (default: g_get_host_name). */
void gate_relay_server_set_hostname (GateRelayServer *self, const char *hostname);
const char *gate_relay_server_get_hostname (GateRelayServer *self);
void gate_relay_server_set_max_size (GateRelayServer *self, guint64 max_size);
guint64 gate_relay_server_get_max_size (GateRelayServer *self);
void gate_relay_server_set_max_recipients (GateRelayServer *self, guint max_recipients);
guint gate_relay_server_get_max_recipients (GateRelayServer *self);
void gate_relay_server_set_max_connections (GateRelayServer *self, guint max_connections);
guint gate_relay_server_get_max_connections (GateRelayServer *self);
void gate_relay_server_set_timeouts (GateRelayServer *self, guint idle_seconds, guint session_seconds);
guint gate_relay_server_get_idle_timeout (GateRelayServer *self);
guint gate_relay_server_get_session_timeout (GateRelayServer *self);

/* STARTTLS with this certificate (with private key); NULL turns it off. */
void gate_relay_server_set_tls_certificate (GateRelayServer *self, GTlsCertificate *certificate);
GTlsCertificate *gate_relay_server_get_tls_certificate (GateRelayServer *self);
/* Whether STARTTLS is offered when there is a certificate (the default):
 * off, the certificate serves only the implicit TLS addresses, for devices
 * that try STARTTLS whenever it is offered and then fail at it. */
void gate_relay_server_set_starttls (GateRelayServer *self, gboolean offered);
gboolean gate_relay_server_get_starttls_offered (GateRelayServer *self);
/* Local credentials devices may sign in with (AUTH PLAIN/LOGIN).  Offered only
 * inside TLS unless @allow_without_tls.  With @required, MAIL is refused until
 * the client signed in.  NULL @username turns AUTH off. */
void gate_relay_server_set_credentials (GateRelayServer *self, const char *username, const char *password,
                                        gboolean allow_without_tls, gboolean required);
/* TRUE when @username/@password match (constant time). */
gboolean gate_relay_server_check_credentials (GateRelayServer *self, const char *username,
                                              const char *password);
gboolean gate_relay_server_get_auth_enabled (GateRelayServer *self);
gboolean gate_relay_server_get_auth_without_tls (GateRelayServer *self);
gboolean gate_relay_server_get_auth_required (GateRelayServer *self);

/* Sender rewrite: when set, a message whose sender is not @verified_sender is
 * stored with @verified_sender as envelope sender and From (the device's display
 * name kept), the device's From in Reply-To (unless it has one), and its
 * original sender in the spool entry.  NULL turns it off (the default). */
void gate_relay_server_set_sender_rewrite (GateRelayServer *self, const char *verified_sender);
const char *gate_relay_server_get_sender_rewrite (GateRelayServer *self);

guint gate_relay_server_get_n_connections (GateRelayServer *self);

/* Signals:
 *   "message-accepted" (GateRelayServer *, GateSpoolEntry *entry)
 *   "client-refused"   (GateRelayServer *, const char *address, const char *reason)
 *   "log"              (GateRelayServer *, const char *line)   one plain-language line
 */

/* For the sessions. */
void gate_relay_server_log (GateRelayServer *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
