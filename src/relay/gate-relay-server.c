/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-relay"

#include "config.h"

#include "gate-relay-server.h"

#include <errno.h>
/* IPPROTO_TCP and TCP_NODELAY, from the right system header on each platform. */
#include <gio/gnetworking.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "gate-relay-address.h"
#include "gate-relay-session.h"

struct _GateRelayServer
{
  GObject parent_instance;

  GateSpool *spool;
  GPtrArray *listeners; /* Listener */
  guint16 port;
  GPtrArray *allowed; /* GInetAddressMask; empty = loopback only */
  gboolean said_loopback_only;
  GPtrArray *sessions;
  char *hostname;
  guint64 max_size;
  guint max_recipients;
  guint max_connections;
  guint idle_timeout;
  guint session_timeout;
  GTlsCertificate *certificate;
  gboolean starttls;
  char *username;
  char *password;
  gboolean auth_without_tls;
  gboolean auth_required;
  char *verified_sender;
};

enum
{
  PROP_0,
  PROP_SPOOL,
  PROP_PORT,
  PROP_N_CONNECTIONS,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_MESSAGE_ACCEPTED,
  SIGNAL_CLIENT_REFUSED,
  SIGNAL_LOG,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (GateRelayServer, gate_relay_server, G_TYPE_OBJECT)

void
gate_relay_server_log (GateRelayServer *self, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  g_return_if_fail (GATE_IS_RELAY_SERVER (self));
  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  /* Only when shown: formatting it costs even when it is not. */
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_INFO, G_LOG_DOMAIN))
    g_info ("%s", line);
  g_signal_emit (self, signals[SIGNAL_LOG], 0, line);
}

/* ::ffff:192.168.1.2 (a v4 client on a dual-stack socket) → 192.168.1.2 */
static GInetAddress *
unmap_address (GInetAddress *address)
{
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    {
      const guint8 *b = g_inet_address_to_bytes (address);
      static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (memcmp (b, prefix, 12) == 0)
        return g_inet_address_new_from_bytes (b + 12, G_SOCKET_FAMILY_IPV4);
    }
  return g_object_ref (address);
}

static gboolean
is_this_computer (GInetAddress *address)
{
  g_autoptr (GInetAddress) ipv4 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GInetAddress) ipv6 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);

  return g_inet_address_equal (address, ipv4) || g_inet_address_equal (address, ipv6);
}

gboolean
gate_relay_server_is_allowed (GateRelayServer *self, GInetAddress *address)
{
  g_autoptr (GInetAddress) plain = NULL;

  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), FALSE);

  plain = unmap_address (address);
  if (self->allowed->len == 0)
    return g_inet_address_get_is_loopback (plain);
  /* Letting the network's devices in must not lock out the programs on
   * this computer: its own main addresses stay allowed.  The rest of
   * 127.0.0.0/8 is allowed only when a range says so. */
  if (is_this_computer (plain))
    return TRUE;
  for (guint i = 0; i < self->allowed->len; i++)
    {
      GInetAddressMask *mask = self->allowed->pdata[i];
      if (g_inet_address_mask_get_family (mask) == g_inet_address_get_family (plain)
          && g_inet_address_mask_matches (mask, plain))
        return TRUE;
    }
  return FALSE;
}

typedef struct
{
  GSocketConnection *connection;
  GBytes *line;
} Refusal;

static void
refusal_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Refusal *refusal = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (refusal->connection), NULL, NULL);
  g_object_unref (refusal->connection);
  g_bytes_unref (refusal->line);
  g_free (refusal);
}

/* A refusal in SMTP's words; on an address where devices expect TLS from
 * the first byte, words in clear would only fail their handshake ("wrong
 * version number"), and a TLS handshake for an address that is not allowed
 * (or while overloaded) is work and exposure for nothing: the connection is
 * closed at once, and the log says why. */
static void
refuse (GSocketConnection *connection, gboolean tls_on_connect, const char *line)
{
  Refusal *refusal;
  GOutputStream *output;

  if (tls_on_connect)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return;
    }
  refusal = g_new0 (Refusal, 1);
  output = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  refusal->connection = g_object_ref (connection);
  refusal->line = g_bytes_new (line, strlen (line));
  g_output_stream_write_all_async (output, line, strlen (line), G_PRIORITY_DEFAULT, NULL, refusal_written_cb,
                                   refusal);
}

static void
session_finished_cb (GateRelaySession *session, gpointer user_data)
{
  GateRelayServer *self = user_data;

  g_signal_handlers_disconnect_by_data (session, self);
  g_ptr_array_remove (self->sessions, session);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CONNECTIONS]);
}

static void
session_accepted_cb (GateRelaySession *session, GateSpoolEntry *entry, gpointer user_data)
{
  GateRelayServer *self = user_data;
  g_autofree char *size = g_format_size ((guint64)MAX (0, gate_spool_entry_get_size (entry)));
  guint n = gate_spool_entry_get_n_recipients (entry);
  const char *sender = gate_spool_entry_get_sender (entry);
  const char *original = gate_spool_entry_get_original_sender (entry);

  /* The queue id ties the line to `postgate-cli queue` and to later lines. */
  if (original != NULL)
    gate_relay_server_log (
        self,
        g_dngettext (GETTEXT_PACKAGE,
                     "Accepted message %s from %s (sender %s, sent as %s) for %u recipient (%s)",
                     "Accepted message %s from %s (sender %s, sent as %s) for %u recipients (%s)", n),
        gate_spool_entry_get_id (entry), gate_spool_entry_get_client_address (entry),
        original[0] != '\0' ? original : "<>", sender, n, size);
  else
    gate_relay_server_log (self,
                           g_dngettext (GETTEXT_PACKAGE,
                                        "Accepted message %s from %s (sender %s) for %u recipient (%s)",
                                        "Accepted message %s from %s (sender %s) for %u recipients (%s)", n),
                           gate_spool_entry_get_id (entry), gate_spool_entry_get_client_address (entry),
                           sender[0] != '\0' ? sender : "<>", n, size);
  g_signal_emit (self, signals[SIGNAL_MESSAGE_ACCEPTED], 0, entry);
}

static void
handle_connection (GateRelayServer *self, GSocketConnection *connection, gboolean tls_on_connect)
{
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autofree char *peer = NULL;
  GateRelaySession *session;

  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    {
      refuse (connection, tls_on_connect, "554 5.7.1 Not allowed\r\n");
      return;
    }
  peer = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  if (!gate_relay_server_is_allowed (self,
                                     g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))))
    {
      const char *reason = _ ("this address is not in the allowed list");

      gate_relay_server_log (self, _ ("Refused a connection from %s: %s"), peer, reason);
      g_signal_emit (self, signals[SIGNAL_CLIENT_REFUSED], 0, peer, reason);
      refuse (connection, tls_on_connect, "554 5.7.1 Your address is not allowed to use this relay\r\n");
      return;
    }
  if (self->sessions->len >= self->max_connections)
    {
      const char *reason = _ ("too many connections at once");

      gate_relay_server_log (self, _ ("Refused a connection from %s: %s"), peer, reason);
      g_signal_emit (self, signals[SIGNAL_CLIENT_REFUSED], 0, peer, reason);
      refuse (connection, tls_on_connect, "421 4.3.2 Too many connections; try again later\r\n");
      return;
    }

  /* Replies are small and each one is awaited: never hold one back for
   * Nagle's algorithm (a 40 ms stall per reply with delayed ACKs). */
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    g_debug ("Connection from %s", peer);
  session = gate_relay_session_new (self, connection);
  g_ptr_array_add (self->sessions, session);
  g_signal_connect (session, "finished", G_CALLBACK (session_finished_cb), self);
  g_signal_connect (session, "message-accepted", G_CALLBACK (session_accepted_cb), self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CONNECTIONS]);
  gate_relay_session_start (session, tls_on_connect);
}

/* One listening socket, watched for its whole life but for pauses. */
typedef struct
{
  GateRelayServer *server; /* not a reference: the server owns its listeners */
  GSocket *socket;
  gboolean tls_on_connect;
  GSource *source;
  GSource *resume_source; /* while accepting is paused */
} Listener;

static void
listener_free (Listener *listener)
{
  if (listener->source != NULL)
    {
      g_source_destroy (listener->source);
      g_source_unref (listener->source);
    }
  if (listener->resume_source != NULL)
    {
      g_source_destroy (listener->resume_source);
      g_source_unref (listener->resume_source);
    }
  if (listener->socket != NULL)
    {
      g_socket_close (listener->socket, NULL);
      g_object_unref (listener->socket);
    }
  g_free (listener);
}

/* Takes the connections waiting on a listening socket, a bounded number at
 * a time.  One source for the socket's life, allowed to recurse, rather than
 * an asynchronous accept per connection: every source GLib attaches,
 * destroys or holds back around a call wakes the main loop once more. */
#define ACCEPT_BATCH 32
/* When a connection cannot be taken (no file descriptors left), it stays
 * waiting and the socket stays readable: accepting pauses this long instead
 * of trying again at every turn of the main loop. */
#define ACCEPT_PAUSE_MS 250

static gboolean accept_cb (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
listener_watch (Listener *listener)
{
  listener->source = g_socket_create_source (listener->socket, G_IO_IN, NULL);
  g_source_set_callback (listener->source, G_SOURCE_FUNC (accept_cb), listener, NULL);
  g_source_set_can_recurse (listener->source, TRUE);
  g_source_set_static_name (listener->source, "[gate-relay-server] accept");
  g_source_attach (listener->source, g_main_context_get_thread_default ());
}

static gboolean
resume_accepting_cb (gpointer user_data)
{
  Listener *listener = user_data;

  g_clear_pointer (&listener->resume_source, g_source_unref);
  listener_watch (listener);
  return G_SOURCE_REMOVE;
}

static void
pause_accepting (Listener *listener, const GError *error)
{
  gate_relay_server_log (
      listener->server, _ ("Could not take a new connection (%s); trying again in a moment"), error->message);
  g_source_destroy (listener->source);
  g_clear_pointer (&listener->source, g_source_unref);
  listener->resume_source = g_timeout_source_new (ACCEPT_PAUSE_MS);
  g_source_set_callback (listener->resume_source, resume_accepting_cb, listener, NULL);
  g_source_set_static_name (listener->resume_source, "[gate-relay-server] resume accepting");
  g_source_attach (listener->resume_source, g_main_context_get_thread_default ());
}

static gboolean
accept_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Listener *listener = user_data;

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) client = g_socket_accept (socket, NULL, &error);
      g_autoptr (GSocketConnection) connection = NULL;

      if (client == NULL)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            break;
          /* Out of file descriptors or memory: the connection stays waiting.
           * Other errors are the connection's own (given up by its client
           * before it was taken): it is gone, take the next. */
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES)
              || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
            {
              pause_accepting (listener, error);
              return G_SOURCE_REMOVE;
            }
          g_debug ("Accepting a connection: %s", error->message);
          continue;
        }
      connection = g_socket_connection_factory_create_connection (client);
      handle_connection (listener->server, connection, listener->tls_on_connect);
    }
  return G_SOURCE_CONTINUE;
}

static void
gate_relay_server_dispose (GObject *object)
{
  GateRelayServer *self = GATE_RELAY_SERVER (object);

  if (self->listeners != NULL)
    gate_relay_server_stop (self);
  g_clear_pointer (&self->listeners, g_ptr_array_unref);
  g_clear_object (&self->spool);
  g_clear_object (&self->certificate);
  G_OBJECT_CLASS (gate_relay_server_parent_class)->dispose (object);
}

static void
gate_relay_server_finalize (GObject *object)
{
  GateRelayServer *self = GATE_RELAY_SERVER (object);

  g_ptr_array_unref (self->allowed);
  g_ptr_array_unref (self->sessions);
  g_free (self->hostname);
  g_free (self->username);
  if (self->password)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  g_free (self->verified_sender);
  G_OBJECT_CLASS (gate_relay_server_parent_class)->finalize (object);
}

static void
gate_relay_server_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateRelayServer *self = GATE_RELAY_SERVER (object);

  switch (prop_id)
    {
      case PROP_SPOOL:
        g_value_set_object (value, self->spool);
        break;
      case PROP_PORT:
        g_value_set_uint (value, self->port);
        break;
      case PROP_N_CONNECTIONS:
        g_value_set_uint (value, self->sessions->len);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_relay_server_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GateRelayServer *self = GATE_RELAY_SERVER (object);

  switch (prop_id)
    {
      case PROP_SPOOL:
        self->spool = g_value_dup_object (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_relay_server_class_init (GateRelayServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gate_relay_server_dispose;
  object_class->finalize = gate_relay_server_finalize;
  object_class->get_property = gate_relay_server_get_property;
  object_class->set_property = gate_relay_server_set_property;

  properties[PROP_SPOOL] = g_param_spec_object ("spool", NULL, NULL, GATE_TYPE_SPOOL,
                                                G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                                    | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PORT]
      = g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_N_CONNECTIONS]
      = g_param_spec_uint ("n-connections", NULL, NULL, 0, G_MAXUINT, 0,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_MESSAGE_ACCEPTED]
      = g_signal_new ("message-accepted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, GATE_TYPE_SPOOL_ENTRY);
  signals[SIGNAL_CLIENT_REFUSED]
      = g_signal_new ("client-refused", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_LOG] = g_signal_new ("log", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
gate_relay_server_init (GateRelayServer *self)
{
  self->allowed = g_ptr_array_new_with_free_func (g_object_unref);
  self->sessions = g_ptr_array_new_with_free_func (g_object_unref);
  self->hostname = g_strdup (g_get_host_name ());
  self->max_size = GATE_RELAY_SERVER_DEFAULT_MAX_SIZE;
  self->max_recipients = GATE_RELAY_SERVER_DEFAULT_MAX_RECIPIENTS;
  self->max_connections = GATE_RELAY_SERVER_DEFAULT_MAX_CONNECTIONS;
  self->idle_timeout = GATE_RELAY_SERVER_DEFAULT_IDLE_TIMEOUT;
  self->session_timeout = GATE_RELAY_SERVER_DEFAULT_SESSION_TIMEOUT;
  self->starttls = TRUE;
}

GateRelayServer *
gate_relay_server_new (GateSpool *spool)
{
  g_return_val_if_fail (GATE_IS_SPOOL (spool), NULL);
  return g_object_new (GATE_TYPE_RELAY_SERVER, "spool", spool, NULL);
}

GateSpool *
gate_relay_server_get_spool (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), NULL);
  return self->spool;
}

gboolean
gate_relay_server_listen (GateRelayServer *self, const char *address, guint16 port, GError **error)
{
  return gate_relay_server_listen_full (self, address, port, FALSE, error);
}

gboolean
gate_relay_server_listen_full (GateRelayServer *self, const char *address, guint16 port,
                               gboolean tls_on_connect, GError **error)
{
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) socket_address = NULL;
  g_autoptr (GSocketAddress) effective = NULL;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GError) local_error = NULL;
  Listener *listener;

  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (!tls_on_connect || self->certificate != NULL, FALSE);

  inet = g_inet_address_new_from_string (address);
  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("“%s” is not an IP address to listen on"), address);
      return FALSE;
    }
  socket_address = g_inet_socket_address_new (inet, port);
  socket
      = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  /* GLib's default of 10 drops the SYNs of a burst of devices (or a load
   * generator): they then wait seconds for the kernel to retry. */
  g_socket_set_listen_backlog (socket, 1024);
  if (!g_socket_bind (socket, socket_address, TRUE, &local_error) || !g_socket_listen (socket, &local_error))
    {
      /* GIO's words ("Error binding to address …: Address already in use")
       * say what failed, not what to do. */
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                     _ ("Another program already takes mail on port %u of %s (perhaps another relay). Stop "
                        "it, or choose another port."),
                     port, address);
      else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) && port < 1024)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                     _ ("Only the administrator may use ports below 1024, such as %u. Choose a port such as "
                        "2525, and set your devices to it."),
                     port);
      /* GLib 2.74 has no code of its own for EADDRNOTAVAIL; its message ends
       * with the system's words for it. */
      else if (g_str_has_suffix (local_error->message, g_strerror (EADDRNOTAVAIL)))
        g_set_error (error, local_error->domain, local_error->code,
                     _ ("This computer has no address %s to take mail on (%s). Use 127.0.0.1 for this "
                        "computer only, or one of its own network addresses."),
                     address, local_error->message);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  effective = g_socket_get_local_address (socket, error);
  if (effective == NULL)
    return FALSE;
  if (self->port == 0)
    {
      self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
    }
  listener = g_new0 (Listener, 1);
  listener->server = self;
  listener->socket = g_steal_pointer (&socket);
  listener->tls_on_connect = tls_on_connect;
  listener_watch (listener);
  if (self->listeners == NULL)
    self->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify)listener_free);
  g_ptr_array_add (self->listeners, listener);
  if (tls_on_connect)
    gate_relay_server_log (self, _ ("Listening for mail secured from the start (TLS) on %s port %u"), address,
                           g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective)));
  else
    gate_relay_server_log (self, _ ("Listening for mail on %s port %u"), address,
                           g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective)));
  /* Taking mail from the network with no range allowed refuses every
   * device there: said now, not when the first one fails to send. */
  if (!g_inet_address_get_is_loopback (inet) && self->allowed->len == 0 && !self->said_loopback_only)
    {
      gate_relay_server_log (self, "%s",
                             _ ("Only this computer may send through the relay for now: allow the address "
                                "range of your devices (for example 192.168.1.0/24) to let them in"));
      self->said_loopback_only = TRUE;
    }
  return TRUE;
}

gboolean
gate_relay_server_listen_string (GateRelayServer *self, const char *listen, gboolean tls_on_connect,
                                 GError **error)
{
  g_autofree char *address = NULL;
  guint16 port;

  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), FALSE);
  g_return_val_if_fail (listen != NULL, FALSE);

  if (!gate_relay_address_parse_listen (listen, &address, &port, error))
    return FALSE;
  return gate_relay_server_listen_full (self, address, port, tls_on_connect, error);
}

guint16
gate_relay_server_get_port (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), 0);
  return self->port;
}

void
gate_relay_server_stop (GateRelayServer *self)
{
  g_autoptr (GPtrArray) sessions = NULL;

  g_return_if_fail (GATE_IS_RELAY_SERVER (self));

  if (self->listeners != NULL)
    g_ptr_array_set_size (self->listeners, 0);
  /* session_finished_cb removes each from the list. */
  sessions = g_ptr_array_copy (self->sessions, (GCopyFunc)(void (*) (void))g_object_ref, NULL);
  g_ptr_array_set_free_func (sessions, g_object_unref);
  for (guint i = 0; i < sessions->len; i++)
    gate_relay_session_close (sessions->pdata[i]);
}

gboolean
gate_relay_server_add_allowed (GateRelayServer *self, const char *cidr, GError **error)
{
  GInetAddressMask *mask;

  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), FALSE);
  g_return_val_if_fail (cidr != NULL, FALSE);

  mask = gate_relay_address_parse_range (cidr, error);
  if (mask == NULL)
    return FALSE;
  g_ptr_array_add (self->allowed, mask);
  return TRUE;
}

void
gate_relay_server_set_hostname (GateRelayServer *self, const char *hostname)
{
  g_return_if_fail (GATE_IS_RELAY_SERVER (self));
  g_free (self->hostname);
  self->hostname = g_strdup (hostname && *hostname ? hostname : g_get_host_name ());
}

const char *
gate_relay_server_get_hostname (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), NULL);
  return self->hostname;
}

void
gate_relay_server_set_max_size (GateRelayServer *self, guint64 max_size)
{
  g_return_if_fail (GATE_IS_RELAY_SERVER (self));
  self->max_size = max_size > 0 ? max_size : GATE_RELAY_SERVER_DEFAULT_MAX_SIZE;
}

guint64
gate_relay_server_get_max_size (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), 0);
  return self->max_size;
}

void
gate_relay_server_set_max_recipients (GateRelayServer *self, guint max_recipients)
{
  g_return_if_fail (GATE_IS_RELAY_SERVER (self));
  self->max_recipients = max_recipients > 0 ? max_recipients : GATE_RELAY_SERVER_DEFAULT_MAX_RECIPIENTS;
}

guint
gate_relay_server_get_max_recipients (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), 0);
  return self->max_recipients;
}

void
gate_relay_server_set_max_connections (GateRelayServer *self, guint max_connections)
{
  g_return_if_fail (GATE_IS_RELAY_SERVER (self));
  self->max_connections = max_connections > 0 ? max_connections : GATE_RELAY_SERVER_DEFAULT_MAX_CONNECTIONS;
}

guint
gate_relay_server_get_max_connections (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), 0);
  return self->max_connections;
}

void
gate_relay_server_set_timeouts (GateRelayServer *self, guint idle_seconds, guint session_seconds)
{
  g_return_if_fail (GATE_IS_RELAY_SERVER (self));
  self->idle_timeout = idle_seconds;
  self->session_timeout = session_seconds;
}

guint
gate_relay_server_get_idle_timeout (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), 0);
  return self->idle_timeout;
}

guint
gate_relay_server_get_session_timeout (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), 0);
  return self->session_timeout;
}

void
gate_relay_server_set_tls_certificate (GateRelayServer *self, GTlsCertificate *certificate)
{
  g_return_if_fail (GATE_IS_RELAY_SERVER (self));
  g_return_if_fail (certificate == NULL || G_IS_TLS_CERTIFICATE (certificate));
  g_set_object (&self->certificate, certificate);
}

GTlsCertificate *
gate_relay_server_get_tls_certificate (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), NULL);
  return self->certificate;
}

void
gate_relay_server_set_starttls (GateRelayServer *self, gboolean offered)
{
  g_return_if_fail (GATE_IS_RELAY_SERVER (self));
  self->starttls = offered;
}

gboolean
gate_relay_server_get_starttls_offered (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), FALSE);
  return self->starttls && self->certificate != NULL;
}

void
gate_relay_server_set_credentials (GateRelayServer *self, const char *username, const char *password,
                                   gboolean allow_without_tls, gboolean required)
{
  g_return_if_fail (GATE_IS_RELAY_SERVER (self));

  g_free (self->username);
  if (self->password)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->username = username ? g_strdup (username) : NULL;
  self->password = username ? g_strdup (password ? password : "") : NULL;
  self->auth_without_tls = allow_without_tls;
  self->auth_required = username != NULL && required;
}

/* Compares without stopping at the first difference. */
static gboolean
equal_constant_time (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  guint8 diff = la != lb;

  for (gsize i = 0; i < la; i++)
    diff |= (guint8)a[i] ^ (guint8)b[i % MAX (lb, 1)];
  return diff == 0;
}

gboolean
gate_relay_server_check_credentials (GateRelayServer *self, const char *username, const char *password)
{
  gboolean user_ok, password_ok;

  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), FALSE);
  /* An empty password set by mistake must not open the relay to anyone
   * who knows the user name. */
  if (self->username == NULL || username == NULL || password == NULL || self->password[0] == '\0')
    return FALSE;
  user_ok = equal_constant_time (username, self->username);
  password_ok = equal_constant_time (password, self->password);
  return user_ok && password_ok;
}

gboolean
gate_relay_server_get_auth_enabled (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), FALSE);
  return self->username != NULL;
}

gboolean
gate_relay_server_get_auth_without_tls (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), FALSE);
  return self->auth_without_tls;
}

gboolean
gate_relay_server_get_auth_required (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), FALSE);
  return self->auth_required;
}

void
gate_relay_server_set_sender_rewrite (GateRelayServer *self, const char *verified_sender)
{
  g_return_if_fail (GATE_IS_RELAY_SERVER (self));
  g_free (self->verified_sender);
  self->verified_sender = verified_sender && *verified_sender ? g_strdup (verified_sender) : NULL;
}

const char *
gate_relay_server_get_sender_rewrite (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), NULL);
  return self->verified_sender;
}

guint
gate_relay_server_get_n_connections (GateRelayServer *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SERVER (self), 0);
  return self->sessions->len;
}
