/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-relay-server.h"

G_BEGIN_DECLS

/* One client connection of the relay's SMTP server: reads commands in batches
 * (PIPELINING), answers a batch in one write, streams DATA into a spool writer
 * and answers 250 only once the spool has committed the message.
 *
 * Signals:
 *   "message-accepted" (GateRelaySession *, GateSpoolEntry *entry)
 *   "finished" (GateRelaySession *): the connection is closed */

#define GATE_TYPE_RELAY_SESSION (gate_relay_session_get_type ())
G_DECLARE_FINAL_TYPE (GateRelaySession, gate_relay_session, GATE, RELAY_SESSION, GObject)

/* The session keeps a weak pointer to @server for its settings. */
GateRelaySession *gate_relay_session_new (GateRelayServer *server, GSocketConnection *connection);
/* Sends the greeting and starts reading; with @tls_on_connect, after a TLS
 * handshake the client starts at once (implicit TLS, as on port 465). */
void gate_relay_session_start (GateRelaySession *self, gboolean tls_on_connect);
/* Ends the session now: 421 to the client, the message in progress dropped. */
void gate_relay_session_close (GateRelaySession *self);
/* "192.168.1.20" */
const char *gate_relay_session_get_peer (GateRelaySession *self);

G_END_DECLS
