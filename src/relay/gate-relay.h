/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-forwarder.h"
#include "gate-profile.h"
#include "gate-relay-server.h"
#include "gate-spool.h"

G_BEGIN_DECLS

#define GATE_RELAY_DEFAULT_LISTEN "127.0.0.1:2525"

#define GATE_TYPE_RELAY (gate_relay_get_type ())
G_DECLARE_FINAL_TYPE (GateRelay, gate_relay, GATE, RELAY, GObject)

/* The whole relay, as the tray app and `postgate-cli relay` host it: the spool,
 * the SMTP server that fills it and the forwarder that empties it.  Configure
 * it, then start it; stop lets the deliveries under way finish (or puts them
 * back in the queue) within a short grace period.
 *
 * Properties (read-only, notify):
 *   running (gboolean)
 *   queue-length (guint): messages waiting or being sent
 *   upstream-connected (gboolean), upstream-state (string), upstream-problem
 *     (GateUpstreamProblem, as guint), paced (gboolean): see GateForwarder; a change of paced is also told in
 * a log line
 *
 * Signals (the same as the parts', in one place):
 *   accepted (GateSpoolEntry *entry): a device's message is safely stored
 *   delivered (const char *id, const char *reply)
 *   deferred (const char *id, const char *reason, gint64 next_attempt_unix)
 *   failed (const char *id, const char *reason)
 *   recipient-failed (const char *id, const char *recipient, const char *reason)
 *   client-refused (const char *address, const char *reason)
 *   log (const char *line): the server's plain-language log lines
 */
GateRelay *gate_relay_new (void);

/* The outgoing server: a profile and its password (NULL when the profile
 * signs in without one), or a factory for a run without a profile.  The
 * profile also gives the default spool folder and, when its rewrite-sender
 * is on, the verified sender that devices' senders are rewritten to.  The
 * password is kept in memory only, wiped when the relay is freed. */
void gate_relay_set_profile (GateRelay *self, GateProfile *profile, const char *password);
void gate_relay_set_client_factory (GateRelay *self, GateForwarderClientFactory factory, gpointer user_data,
                                    GDestroyNotify destroy);
GateProfile *gate_relay_get_profile (GateRelay *self);

/* "ADDR:PORT", "[V6]:PORT" or "ADDR".  None added: the profile's
 * relay-listen, or GATE_RELAY_DEFAULT_LISTEN when it has none. */
void gate_relay_add_listen (GateRelay *self, const char *listen);
/* Where devices connect with TLS from the first byte (implicit TLS, as on
 * port 465; some devices offer only that), with the relay's certificate
 * (the profile's, or the one Postgate makes).  None added: the profile's
 * relay-listen-tls, which is empty unless the user chose one. */
void gate_relay_add_listen_tls (GateRelay *self, const char *listen);
/* Address ranges devices may send from, besides this computer (see
 * gate_relay_server_add_allowed).  None added: the profile's relay-allow. */
void gate_relay_add_allowed (GateRelay *self, const char *cidr);
/* NULL: the default (gate_spool_default_path of the profile's id). */
void gate_relay_set_spool_path (GateRelay *self, const char *path);
/* Overrides the profile's choice: NULL turns the rewrite off. */
void gate_relay_set_sender_rewrite (GateRelay *self, const char *verified_sender);

/* How devices secure their connection and sign in.  Set neither of these and
 * the relay takes the profile's settings at start: STARTTLS with its
 * certificate files or the one Postgate makes, and the devices' user name,
 * their password read from the keyring, and its sign-in rules.  Set either
 * and they replace all of the profile's device settings.
 *
 * Secure connections: @starttls offers STARTTLS on the plain addresses;
 * with @cert_file (PEM, with its key in @key_file or in the same file) it and
 * the TLS addresses (gate_relay_add_listen_tls()) serve that certificate,
 * without it the one Postgate makes on first use (in the user's data
 * folder).
 * Credentials: the local user name and password devices sign in with (AUTH
 * PLAIN/LOGIN; NULL @username: none); the password is kept in memory only,
 * wiped when the relay is freed. */
void gate_relay_set_device_tls (GateRelay *self, gboolean starttls, const char *cert_file,
                                const char *key_file);
void gate_relay_set_device_credentials (GateRelay *self, const char *username, const char *password,
                                        gboolean allow_without_tls, gboolean required);

#define GATE_RELAY_ERROR (gate_relay_error_quark ())
GQuark gate_relay_error_quark (void);

typedef enum
{
  /* The profile lets devices sign in, but their password is not in the
   * keyring (removed from it, or a profile imported or edited by hand). */
  GATE_RELAY_ERROR_DEVICE_PASSWORD_MISSING,
} GateRelayError;

/* What would make a way for devices to sign in unusable, for the caller to
 * say in its own words (the command line and a profile name their options
 * differently). */
typedef enum
{
  GATE_RELAY_SIGN_IN_USABLE,
  GATE_RELAY_SIGN_IN_HALF_GIVEN,        /* a user name without a password, or the other way */
  GATE_RELAY_SIGN_IN_RULE_WITHOUT_USER, /* sign-in required or allowed in plain, with no user */
  GATE_RELAY_SIGN_IN_NEVER_OFFERED,     /* a user, but no TLS and no plain sign-in: never offered */
} GateRelaySignInProblem;

GateRelaySignInProblem gate_relay_check_sign_in (gboolean secured, gboolean has_user, gboolean has_password,
                                                 gboolean required, gboolean allow_without_tls);

/* Forwarder settings, applied at start (see GateForwarder).  Connections
 * and rate not set here: the profile's relay-connections and relay-rate when
 * it has them, else the forwarder's defaults. */
void gate_relay_set_max_connections (GateRelay *self, guint max_connections);
void gate_relay_set_rate_per_hour (GateRelay *self, guint rate);
void gate_relay_set_retry (GateRelay *self, guint base_seconds, guint max_seconds);
void gate_relay_set_max_age (GateRelay *self, guint seconds);
void gate_relay_set_grace_period (GateRelay *self, guint seconds);

/* Reads what the devices' settings need (the keyring, the certificate, made
 * first when there is none yet), then opens the spool (recovering what a
 * crash left), listens and starts forwarding.  Fails, with nothing left
 * running, when the folder is used by another relay, an address cannot be
 * listened on, or a device setting cannot be used (the error names the
 * profile when the setting is the profile's).  Once started, the "log"
 * signal has told whether devices can secure their connection (with the
 * certificate's fingerprint) and how they sign in. */
void gate_relay_start_async (GateRelay *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);
gboolean gate_relay_start_finish (GateRelay *self, GAsyncResult *result, GError **error);
/* Stops accepting at once, then stops the forwarder (see
 * gate_forwarder_stop_async) and releases the spool. */
void gate_relay_stop_async (GateRelay *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
gboolean gate_relay_stop_finish (GateRelay *self, GAsyncResult *result, GError **error);

gboolean gate_relay_is_running (GateRelay *self);
/* While running (else NULL). */
GateSpool *gate_relay_get_spool (GateRelay *self);
GateRelayServer *gate_relay_get_server (GateRelay *self);
GateForwarder *gate_relay_get_forwarder (GateRelay *self);
/* The spool folder in use, or that would be used. */
char *gate_relay_dup_spool_path (GateRelay *self);
/* The port of the first listening address (useful with port 0), 0 when stopped. */
guint16 gate_relay_get_port (GateRelay *self);
guint gate_relay_get_queue_length (GateRelay *self);
gboolean gate_relay_get_upstream_connected (GateRelay *self);
const char *gate_relay_get_upstream_state (GateRelay *self);
GateUpstreamProblem gate_relay_get_upstream_problem (GateRelay *self);
gboolean gate_relay_get_paced (GateRelay *self);
/* After the user changed what held every message back (the password for the
 * outgoing server, say): connects again now and tries every waiting message,
 * without waiting out the delays of the failed attempts. */
void gate_relay_retry_now (GateRelay *self);
/* While running with STARTTLS for devices: "AB:CD:…", the SHA-256 of the
 * certificate they are offered, for them to check.  Else NULL. */
const char *gate_relay_get_tls_fingerprint (GateRelay *self);

G_END_DECLS
