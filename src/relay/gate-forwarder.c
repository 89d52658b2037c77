/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-forwarder"

#include "config.h"

#include "gate-forwarder.h"

#include <glib/gi18n-lib.h>

/* One upstream connection.  It runs at most one operation at a time (connect,
 * send or quit); the struct lives in self->connections until that operation
 * has come back, so a callback never sees freed memory. */
typedef enum
{
  CONN_CONNECTING,
  CONN_IDLE,
  CONN_SENDING,
  CONN_CLOSING,
} ConnState;

typedef struct
{
  GateForwarder *self; /* not a reference: each pending operation holds one */
  GateSmtpClient *client;
  GCancellable *cancellable;
  ConnState state;
  guint n_sent; /* messages taken on this connection */
  guint idle_source;
  char *id; /* the message being sent */
  GateSpoolEntry *entry;
  guint settings_generation; /* the forwarder's when this connection was opened */
} Connection;

struct _GateForwarder
{
  GObject parent_instance;

  GateSpool *spool;
  gulong changed_handler;

  GateForwarderClientFactory factory;
  gpointer factory_data;
  GDestroyNotify factory_destroy;

  guint max_connections;
  guint messages_per_connection;
  /* Counts gate_forwarder_retry_now() calls (the password corrected, say):
   * a connection opened before the last one failing says nothing of the
   * settings in use now. */
  guint settings_generation;
  guint idle_timeout;
  guint rate_per_hour;
  guint retry_base;
  guint retry_max;
  guint max_age;
  guint grace_period;

  /* Messages whose time has come, oldest first, without duplicates. */
  GQueue ready;
  GHashTable *ready_links; /* id → GList link in ready */
  GHashTable *waiting;     /* id → gint64 * next attempt (Unix seconds) */
  GHashTable *in_flight;   /* id → Connection * */
  guint wake_source;
  gint64 wake_time;
  guint pump_source;

  GPtrArray *connections; /* Connection *, owned */
  guint n_connect_failures;
  gint64 connect_not_before; /* monotonic µs: no extra connection before this */
  guint connect_retry_source;

  /* Token bucket for the hourly rate cap. */
  double tokens;
  gint64 tokens_time;
  guint rate_source;

  gboolean running;
  gboolean stopping;
  GTask *stop_task;
  guint grace_source;

  guint queue_length;
  gboolean upstream_connected;
  GateUpstreamProblem upstream_problem;
  char *upstream_next_step;
  gboolean paced;      /* messages wait for the hourly rate cap */
  gint64 last_held;    /* monotonic µs: when the cap last held a message */
  guint unpace_source; /* clears paced after a quiet while */
  char *upstream_state;
};

G_DEFINE_FINAL_TYPE (GateForwarder, gate_forwarder, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_SPOOL,
  PROP_MAX_CONNECTIONS,
  PROP_MESSAGES_PER_CONNECTION,
  PROP_IDLE_TIMEOUT,
  PROP_RATE_PER_HOUR,
  PROP_RETRY_BASE,
  PROP_RETRY_MAX,
  PROP_MAX_AGE,
  PROP_GRACE_PERIOD,
  PROP_RUNNING,
  PROP_QUEUE_LENGTH,
  PROP_CONNECTIONS,
  PROP_UPSTREAM_CONNECTED,
  PROP_UPSTREAM_STATE,
  PROP_UPSTREAM_PROBLEM,
  PROP_PACED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_DELIVERED,
  SIGNAL_DEFERRED,
  SIGNAL_FAILED,
  SIGNAL_RECIPIENT_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void pump (GateForwarder *self);
static void pump_soon (GateForwarder *self);
static void connection_start_send (Connection *conn, const char *id);
static void connection_quit (Connection *conn);
static void maybe_finish_stop (GateForwarder *self);

guint
gate_forwarder_compute_retry_delay (guint base_seconds, guint max_seconds, guint attempts)
{
  guint64 delay = MAX (base_seconds, 1);

  for (guint i = 1; i < attempts && delay < max_seconds; i++)
    delay *= 2;
  return (guint)MIN (delay, (guint64)MAX (max_seconds, 1));
}

static gint64
now_unix (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ---- State for the tray and the GUI */

static void
update_queue_length (GateForwarder *self)
{
  guint length = g_queue_get_length (&self->ready) + g_hash_table_size (self->waiting)
                 + g_hash_table_size (self->in_flight);

  if (length == self->queue_length)
    return;
  self->queue_length = length;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUEUE_LENGTH]);
}

static void
set_upstream_state (GateForwarder *self, gboolean connected, const char *state, GateUpstreamProblem problem,
                    const char *next_step)
{
  gboolean problem_changed = self->upstream_problem != problem;

  /* Set first: they are read when upstream-state is notified. */
  self->upstream_problem = problem;
  g_free (self->upstream_next_step);
  self->upstream_next_step = g_strdup (next_step);
  if (self->upstream_connected != connected)
    {
      self->upstream_connected = connected;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPSTREAM_CONNECTED]);
    }
  if (g_strcmp0 (self->upstream_state, state) != 0)
    {
      g_free (self->upstream_state);
      self->upstream_state = g_strdup (state);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPSTREAM_STATE]);
    }
  if (problem_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPSTREAM_PROBLEM]);
}

static void
set_paced (GateForwarder *self, gboolean paced)
{
  if (!paced)
    g_clear_handle_id (&self->unpace_source, g_source_remove);
  if (self->paced == paced)
    return;
  self->paced = paced;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PACED]);
}

/* "paced" ends once nothing waited for the cap for a few seconds: with mail
 * coming in at about the cap's pace, a message now and then waits for its
 * turn, and telling each of those would flood the log. */
#define PACED_QUIET_SECONDS 5

static gboolean
unpace_cb (gpointer user_data)
{
  GateForwarder *self = user_data;
  gint64 quiet_until = self->last_held + PACED_QUIET_SECONDS * G_USEC_PER_SEC;

  self->unpace_source = 0;
  if (!g_queue_is_empty (&self->ready))
    return G_SOURCE_REMOVE; /* pump() looks again once they are out */
  if (g_get_monotonic_time () < quiet_until)
    self->unpace_source
        = g_timeout_add ((guint)((quiet_until - g_get_monotonic_time ()) / 1000) + 1, unpace_cb, self);
  else
    set_paced (self, FALSE);
  return G_SOURCE_REMOVE;
}

static guint
count_connections (GateForwarder *self, gboolean usable_only)
{
  guint n = 0;

  for (guint i = 0; i < self->connections->len; i++)
    {
      Connection *conn = g_ptr_array_index (self->connections, i);

      if (!usable_only || conn->state == CONN_IDLE || conn->state == CONN_SENDING)
        n++;
    }
  return n;
}

static void
notify_connections (GateForwarder *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTIONS]);
}

/* ---- Which messages are due */

static void
forget_message (GateForwarder *self, const char *id)
{
  GList *link = g_hash_table_lookup (self->ready_links, id);

  if (link != NULL)
    {
      g_hash_table_remove (self->ready_links, id);
      g_free (link->data);
      g_queue_delete_link (&self->ready, link);
    }
  g_hash_table_remove (self->waiting, id);
}

/* Queues a message for sending, once. */
static void
push_ready (GateForwarder *self, const char *id)
{
  if (g_hash_table_contains (self->ready_links, id))
    return;
  g_queue_push_tail (&self->ready, g_strdup (id));
  g_hash_table_insert (self->ready_links, g_strdup (id), g_queue_peek_tail_link (&self->ready));
}

static gboolean wake_cb (gpointer user_data);

/* Moves the waiting messages whose next try is at or before @until to the
 * ready queue, and arms the timer for the next one still waiting. */
static void
release_waiting (GateForwarder *self, gint64 until)
{
  GHashTableIter iter;
  gpointer key, value;
  g_autoptr (GPtrArray) due = g_ptr_array_new_with_free_func (g_free);
  gint64 next = G_MAXINT64;

  g_clear_handle_id (&self->wake_source, g_source_remove);
  self->wake_time = 0;

  g_hash_table_iter_init (&iter, self->waiting);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (*(gint64 *)value <= until)
      g_ptr_array_add (due, g_strdup (key));

  for (guint i = 0; i < due->len; i++)
    {
      const char *id = g_ptr_array_index (due, i);

      g_hash_table_remove (self->waiting, id);
      push_ready (self, id);
    }

  g_hash_table_iter_init (&iter, self->waiting);
  while (g_hash_table_iter_next (&iter, &key, &value))
    next = MIN (next, *(gint64 *)value);
  if (next != G_MAXINT64)
    {
      gint64 delay_ms = CLAMP ((next - now_unix ()) * 1000, 0, (gint64)G_MAXUINT / 2);

      self->wake_time = next;
      self->wake_source = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint)delay_ms + 5, wake_cb, self, NULL);
    }
}

static gboolean
wake_cb (gpointer user_data)
{
  GateForwarder *self = user_data;

  /* This source ends here: release_waiting() must not remove it. */
  self->wake_source = 0;
  release_waiting (self, now_unix ());
  pump (self);
  return G_SOURCE_REMOVE;
}

static void
arm_wake (GateForwarder *self, gint64 next)
{
  gint64 delay_ms;

  if (self->wake_source != 0 && self->wake_time <= next)
    return;
  g_clear_handle_id (&self->wake_source, g_source_remove);
  delay_ms = CLAMP ((next - now_unix ()) * 1000, 0, (gint64)G_MAXUINT / 2);
  self->wake_time = next;
  /* A few milliseconds late so that the second boundary has passed. */
  self->wake_source = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint)delay_ms + 5, wake_cb, self, NULL);
}

/* Files a message according to its latest snapshot: due now, due later, or
 * none of the forwarder's business (held, failed, gone). */
static void
consider_entry (GateForwarder *self, const char *id, GateSpoolEntry *entry)
{
  forget_message (self, id);

  if (entry != NULL && gate_spool_entry_get_status (entry) == GATE_SPOOL_STATUS_QUEUED)
    {
      gint64 next = gate_spool_entry_get_next_attempt (entry);

      if (next <= now_unix ())
        push_ready (self, id);
      else
        {
          gint64 *when = g_new (gint64, 1);

          *when = next;
          g_hash_table_insert (self->waiting, g_strdup (id), when);
          arm_wake (self, next);
        }
    }
  update_queue_length (self);
}

static void
spool_changed_cb (GateSpool *spool, const char *id, GateSpoolEntry *entry, gpointer user_data)
{
  GateForwarder *self = user_data;

  /* A message being sent is filed again when its attempt ends, from the
   * snapshot that attempt returns. */
  if (g_hash_table_contains (self->in_flight, id))
    return;
  /* "Retry now" from the user also skips the wait before connecting again
   * after the server could not be reached: the user may just have fixed it. */
  if (entry != NULL && gate_spool_entry_get_status (entry) == GATE_SPOOL_STATUS_QUEUED
      && gate_spool_entry_get_release_time (entry) >= now_unix () - 10)
    {
      self->connect_not_before = 0;
      g_clear_handle_id (&self->connect_retry_source, g_source_remove);
    }
  consider_entry (self, id, entry);
  if (g_queue_get_length (&self->ready) > 0)
    pump_soon (self);
}

/* ---- The hourly rate cap: a token bucket holding at most a minute's worth. */

static gboolean
rate_cb (gpointer user_data)
{
  GateForwarder *self = user_data;

  self->rate_source = 0;
  pump (self);
  return G_SOURCE_REMOVE;
}

static gboolean
take_token (GateForwarder *self)
{
  double per_second, capacity;
  gint64 now;

  if (self->rate_per_hour == 0)
    return TRUE;

  per_second = self->rate_per_hour / 3600.0;
  capacity = MAX (1.0, self->rate_per_hour / 60.0);
  now = g_get_monotonic_time ();
  self->tokens = MIN (capacity, self->tokens + (now - self->tokens_time) * per_second / G_USEC_PER_SEC);
  self->tokens_time = now;

  if (self->tokens >= 1.0)
    {
      self->tokens -= 1.0;
      return TRUE;
    }
  if (self->rate_source == 0)
    {
      guint wait_ms = (guint)((1.0 - self->tokens) / per_second * 1000.0) + 1;

      self->rate_source = g_timeout_add (wait_ms, rate_cb, self);
    }
  return FALSE;
}

/* ---- Connections */

static void
connection_free (Connection *conn)
{
  g_clear_handle_id (&conn->idle_source, g_source_remove);
  g_clear_object (&conn->client);
  g_clear_object (&conn->cancellable);
  g_clear_pointer (&conn->id, g_free);
  g_clear_pointer (&conn->entry, gate_spool_entry_unref);
  g_free (conn);
}

static void
connection_remove (Connection *conn)
{
  GateForwarder *self = conn->self;

  g_ptr_array_remove (self->connections, conn); /* frees it */
  notify_connections (self);
  if (count_connections (self, TRUE) == 0 && self->upstream_connected)
    set_upstream_state (self, FALSE, _ ("Nothing to send; the last connection to the outgoing server worked"),
                        GATE_UPSTREAM_PROBLEM_NONE, NULL);
}

static char *
describe_error (const GError *error)
{
  GateSmtpReply *reply = NULL;

  if (error->domain == GATE_SMTP_ERROR)
    reply = gate_smtp_error_get_reply (error);
  if (reply != NULL)
    {
      g_autofree char *wire = gate_smtp_reply_to_string (reply);

      /* The reply as the server gave it, on one line: the user may need it
       * when asking the provider. */
      g_strdelimit (wire, "\n", ' ');
      return g_strdup_printf (_ ("%s (the server said: %s)"), error->message, wire);
    }
  return g_strdup (error->message);
}

static gboolean
idle_timeout_cb (gpointer user_data)
{
  Connection *conn = user_data;

  conn->idle_source = 0;
  connection_quit (conn);
  return G_SOURCE_REMOVE;
}

static void
connection_make_idle (Connection *conn)
{
  GateForwarder *self = conn->self;

  conn->state = CONN_IDLE;
  g_clear_handle_id (&conn->idle_source, g_source_remove);
  if (self->stopping)
    {
      connection_quit (conn);
      return;
    }
  /* Kept open briefly: a scanner sends its pages one message at a time. */
  conn->idle_source = g_timeout_add_seconds (MAX (self->idle_timeout, 1), idle_timeout_cb, conn);
}

static void
quit_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Connection *conn = user_data;
  GateForwarder *self = conn->self;

  /* A failed QUIT changes nothing: every message on it was already settled. */
  gate_smtp_client_quit_finish (GATE_SMTP_CLIENT (source), result, NULL);
  connection_remove (conn);
  maybe_finish_stop (self);
  pump (self);
  g_object_unref (self);
}

static void
connection_quit (Connection *conn)
{
  g_clear_handle_id (&conn->idle_source, g_source_remove);
  conn->state = CONN_CLOSING;
  if (!gate_smtp_client_is_connected (conn->client))
    {
      GateForwarder *self = conn->self;

      connection_remove (conn);
      maybe_finish_stop (self);
      return;
    }
  g_object_ref (conn->self);
  gate_smtp_client_quit_async (conn->client, conn->cancellable, quit_cb, conn);
}

/* Nothing could be sent because the server cannot be reached at all: each
 * message due now is put back with its own doubling delay and the reason, so
 * that the queue shows why it waits, and the forwarder does not hammer a
 * server that is down. */
static void
defer_ready_messages (GateForwarder *self, const char *reason)
{
  gint64 now = now_unix ();

  while (!g_queue_is_empty (&self->ready))
    {
      g_autofree char *id = g_queue_pop_head (&self->ready);
      g_autoptr (GateSpoolEntry) claimed = NULL;
      g_autoptr (GateSpoolEntry) after = NULL;
      g_autoptr (GError) error = NULL;
      gint64 age_start;

      g_hash_table_remove (self->ready_links, id);
      claimed = gate_spool_claim (self->spool, id, &error);
      if (claimed == NULL)
        continue;

      age_start
          = MAX (gate_spool_entry_get_received_time (claimed), gate_spool_entry_get_release_time (claimed));
      if (now - age_start >= (gint64)self->max_age)
        {
          g_autofree char *why
              = g_strdup_printf (_ ("Gave up after trying for too long. Last problem: %s"), reason);

          after = gate_spool_fail (self->spool, id, why, NULL);
          g_signal_emit (self, signals[SIGNAL_FAILED], 0, id, why);
        }
      else
        {
          gint64 next = now
                        + gate_forwarder_compute_retry_delay (self->retry_base, self->retry_max,
                                                              gate_spool_entry_get_attempts (claimed));

          after = gate_spool_finish_attempt (self->spool, id, next, reason, NULL, NULL);
          if (after != NULL)
            g_signal_emit (self, signals[SIGNAL_DEFERRED], 0, id, reason, next);
        }
      if (after != NULL)
        consider_entry (self, id, after);
    }
  update_queue_length (self);
}

static void connection_open (GateForwarder *self);

/* With nothing to send, one connection at start tells the user now, not at
 * a device's first message hours later, that the outgoing server cannot be
 * reached or refuses the password; after such a failure each retry checks
 * again (a relay started before the network, a password corrected).  The
 * connection then takes the first message, or closes when idle. */
static void
check_upstream (GateForwarder *self)
{
  if (!self->running || self->stopping || self->factory == NULL || self->connections->len > 0)
    return;
  connection_open (self);
}

static gboolean
connect_retry_cb (gpointer user_data)
{
  GateForwarder *self = user_data;

  self->connect_retry_source = 0;
  pump (self);
  if (self->upstream_problem != GATE_UPSTREAM_PROBLEM_NONE)
    check_upstream (self);
  return G_SOURCE_REMOVE;
}

static GateUpstreamProblem
classify_connect_error (const GError *error)
{
  if (error->domain != GATE_SMTP_ERROR)
    return GATE_UPSTREAM_PROBLEM_UNREACHABLE;
  switch ((GateSmtpError)error->code)
    {
      case GATE_SMTP_ERROR_AUTH_FAILED:
        /* A 454 "try again later" is the server's trouble, not the password's. */
        return gate_smtp_error_is_temporary (error) ? GATE_UPSTREAM_PROBLEM_UNREACHABLE
                                                    : GATE_UPSTREAM_PROBLEM_SIGN_IN;
      case GATE_SMTP_ERROR_NO_AUTH_MECHANISM:
      case GATE_SMTP_ERROR_PLAIN_AUTH_REFUSED:
        return GATE_UPSTREAM_PROBLEM_SIGN_IN;
      case GATE_SMTP_ERROR_TLS_FAILED:
      case GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED:
      case GATE_SMTP_ERROR_STARTTLS_NOT_OFFERED:
        return GATE_UPSTREAM_PROBLEM_SECURITY;
      default:
        return GATE_UPSTREAM_PROBLEM_UNREACHABLE;
    }
}

static void
connect_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Connection *conn = user_data;
  GateForwarder *self = conn->self;
  g_autoptr (GError) error = NULL;

  if (!gate_smtp_client_connect_finish (GATE_SMTP_CLIENT (source), result, &error))
    {
      g_autofree char *reason = describe_error (error);
      GateUpstreamProblem problem = classify_connect_error (error);
      g_autofree char *state = NULL;
      gboolean cancelled = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                           || g_error_matches (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CANCELLED);
      /* Opened before the settings changed (an old password): the
       * connections opened since decide. */
      gboolean stale = conn->settings_generation != self->settings_generation;

      /* "Cannot reach" for a refused password sends the user to check the
       * network instead of the password. */
      if (problem == GATE_UPSTREAM_PROBLEM_SIGN_IN)
        state = g_strdup_printf (_ ("The outgoing server did not let Postgate sign in: %s"), reason);
      else if (problem == GATE_UPSTREAM_PROBLEM_SECURITY)
        state = g_strdup_printf (_ ("Cannot make a secure connection to the outgoing server: %s"), reason);
      else
        state = g_strdup_printf (_ ("Cannot reach the outgoing server: %s"), reason);
      g_debug ("connection failed: %s", reason);
      gate_smtp_client_close (conn->client);
      connection_remove (conn);

      if (!cancelled && !self->stopping && stale)
        pump (self);
      else if (!cancelled && !self->stopping)
        {
          guint delay;

          self->n_connect_failures++;
          delay = gate_forwarder_compute_retry_delay (MIN (self->retry_base, 5), self->retry_max,
                                                      self->n_connect_failures);
          self->connect_not_before = g_get_monotonic_time () + (gint64)delay * G_USEC_PER_SEC;
          if (self->connect_retry_source == 0)
            self->connect_retry_source = g_timeout_add_seconds (delay, connect_retry_cb, self);

          if (count_connections (self, TRUE) == 0)
            {
              set_upstream_state (self, FALSE, state, problem,
                                  error->domain == GATE_SMTP_ERROR ? gate_smtp_error_get_next_step (error)
                                                                   : NULL);
              defer_ready_messages (self, reason);
            }
        }
      maybe_finish_stop (self);
      g_object_unref (self);
      return;
    }

  self->n_connect_failures = 0;
  self->connect_not_before = 0;
  {
    g_autofree char *state = g_strdup_printf (_ ("Connected to the outgoing server %s"),
                                              gate_smtp_client_get_host (conn->client));

    set_upstream_state (self, TRUE, state, GATE_UPSTREAM_PROBLEM_NONE, NULL);
  }
  connection_make_idle (conn);
  pump (self);
  g_object_unref (self);
}

static void
connection_open (GateForwarder *self)
{
  Connection *conn = g_new0 (Connection, 1);

  conn->self = self;
  conn->client = self->factory (self->factory_data);
  conn->cancellable = g_cancellable_new ();
  conn->state = CONN_CONNECTING;
  conn->settings_generation = self->settings_generation;
  g_ptr_array_add (self->connections, conn);
  notify_connections (self);

  g_object_ref (self);
  gate_smtp_client_connect_async (conn->client, conn->cancellable, connect_cb, conn);
}

/* ---- Sending one message */

static gboolean
error_is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
         || g_error_matches (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CANCELLED);
}

static gboolean
message_too_old (GateForwarder *self, GateSpoolEntry *entry)
{
  gint64 start = MAX (gate_spool_entry_get_received_time (entry), gate_spool_entry_get_release_time (entry));

  return now_unix () - start >= (gint64)self->max_age;
}

/* Ends an attempt that left recipients pending, or gives up when the message
 * is too old.  Returns the new snapshot. */
static GateSpoolEntry *
defer_or_fail (GateForwarder *self, const char *id, GateSpoolEntry *entry, const char *reason)
{
  if (message_too_old (self, entry))
    {
      g_autofree char *why
          = g_strdup_printf (_ ("Gave up after trying for too long. Last problem: %s"), reason);
      GateSpoolEntry *after = gate_spool_fail (self->spool, id, why, NULL);

      if (after != NULL)
        g_signal_emit (self, signals[SIGNAL_FAILED], 0, id, why);
      return after;
    }
  else
    {
      gint64 next = now_unix ()
                    + gate_forwarder_compute_retry_delay (self->retry_base, self->retry_max,
                                                          gate_spool_entry_get_attempts (entry));
      GateSpoolEntry *after = gate_spool_finish_attempt (self->spool, id, next, reason, NULL, NULL);

      if (after != NULL && gate_spool_entry_get_status (after) == GATE_SPOOL_STATUS_QUEUED)
        g_signal_emit (self, signals[SIGNAL_DEFERRED], 0, id, reason, next);
      return after;
    }
}

static char *
reply_to_line (GateSmtpReply *reply)
{
  char *wire = gate_smtp_reply_to_string (reply);

  return g_strdelimit (wire, "\n", ' ');
}

/* The server answered for each recipient and took the message for some. */
static GateSpoolEntry *
settle_result (GateForwarder *self, const char *id, GateSpoolEntry *entry, GateSmtpSendResult *result)
{
  g_autoptr (GPtrArray) delivered = g_ptr_array_new ();
  g_autoptr (GString) temporary = g_string_new (NULL);
  g_autoptr (GString) refused = g_string_new (NULL);
  g_autofree char *refused_reason = NULL;
  gboolean any_delivered;
  GateSmtpReply *final = gate_smtp_send_result_get_final_reply (result);
  g_autofree char *final_line = final != NULL ? reply_to_line (final) : g_strdup ("250");
  gboolean removed = FALSE;
  guint n = gate_smtp_send_result_get_n_recipients (result);
  GateSpoolEntry *after;
  g_autoptr (GError) error = NULL;

  /* The usual case: every recipient taken.  The message goes at once, with
   * one change to the spool instead of two. */
  if (n > 0 && gate_smtp_send_result_get_n_accepted (result) == n)
    {
      if (gate_spool_remove_delivered (self->spool, id, &error))
        {
          g_signal_emit (self, signals[SIGNAL_DELIVERED], 0, id, final_line);
          return NULL;
        }
      g_clear_error (&error);
    }

  for (guint i = 0; i < n; i++)
    {
      const char *rcpt = gate_smtp_send_result_get_recipient (result, i);
      GateSmtpReply *reply = gate_smtp_send_result_get_recipient_reply (result, i);

      if (gate_smtp_send_result_recipient_accepted (result, i))
        g_ptr_array_add (delivered, (gpointer)rcpt);
      else if (reply != NULL && gate_smtp_reply_is_permanent (reply))
        {
          g_autofree char *line = reply_to_line (reply);
          const char *one[] = { rcpt, NULL };
          g_autofree char *why = g_strdup_printf (_ ("The outgoing server refused this recipient: %s"), line);

          gate_spool_set_recipients (self->spool, id, one, GATE_SPOOL_RECIPIENT_FAILED, line, NULL);
          g_signal_emit (self, signals[SIGNAL_RECIPIENT_FAILED], 0, id, rcpt, why);
          if (refused->len > 0)
            g_string_append (refused, "; ");
          g_string_append_printf (refused, "%s (%s)", rcpt, line);
        }
      else
        {
          g_autofree char *line = reply != NULL ? reply_to_line (reply) : g_strdup (_ ("no answer"));

          if (temporary->len > 0)
            g_string_append (temporary, "; ");
          g_string_append_printf (temporary, "%s: %s", rcpt, line);
        }
    }
  any_delivered = delivered->len > 0;
  if (any_delivered)
    {
      g_ptr_array_add (delivered, NULL);
      gate_spool_set_recipients (self->spool, id, (const char *const *)delivered->pdata,
                                 GATE_SPOOL_RECIPIENT_DELIVERED, final_line, NULL);
    }

  if (temporary->len > 0)
    {
      g_autofree char *reason
          = g_strdup_printf (_ ("The outgoing server asked to try again later for %s"), temporary->str);

      return defer_or_fail (self, id, entry, reason);
    }

  /* What the queue keeps as the reason the message failed: whom the server
   * refused, and that the others have it. */
  if (refused->len > 0 && any_delivered)
    refused_reason = g_strdup_printf (
        _ ("The outgoing server refused some recipients, %s; the others got the message"), refused->str);
  else if (refused->len > 0)
    refused_reason = g_strdup_printf (_ ("The outgoing server refused some recipients: %s"), refused->str);
  after = gate_spool_finish_attempt (self->spool, id, 0, refused_reason, &removed, &error);
  if (removed)
    g_signal_emit (self, signals[SIGNAL_DELIVERED], 0, id, final_line);
  else if (after != NULL && gate_spool_entry_get_status (after) == GATE_SPOOL_STATUS_FAILED)
    {
      const char *last = gate_spool_entry_get_last_error (after);

      g_signal_emit (self, signals[SIGNAL_FAILED], 0, id,
                     last != NULL ? last : _ ("The outgoing server refused some recipients"));
    }
  return after;
}

/* The send failed as a whole: decide between trying again and giving up. */
static GateSpoolEntry *
settle_error (GateForwarder *self, Connection *conn, const char *id, GateSpoolEntry *entry,
              const GError *error)
{
  g_autofree char *reason = describe_error (error);
  GateSmtpReply *reply = error->domain == GATE_SMTP_ERROR ? gate_smtp_error_get_reply (error) : NULL;

  if (error_is_cancelled (error))
    return gate_spool_finish_attempt (self->spool, id, 0, NULL, NULL, NULL);

  /* A connection that sat idle may have been closed by the server just as it
   * was used again: that is no fault of the message, which goes straight to a
   * fresh connection. */
  if (conn->n_sent > 0 && !gate_smtp_client_is_connected (conn->client)
      && gate_smtp_error_get_stage (error) <= GATE_SMTP_STAGE_MAIL
      && (error->domain != GATE_SMTP_ERROR || gate_smtp_error_is_temporary (error)))
    return gate_spool_finish_attempt (self->spool, id, 0, NULL, NULL, NULL);

  if (reply != NULL && gate_smtp_reply_is_permanent (reply))
    {
      g_autoptr (GateSpoolEntry) failed = NULL;
      g_autofree char *why = NULL;

      if (g_error_matches (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_RECIPIENT_REFUSED))
        why = g_strdup_printf (_ ("The outgoing server refused every recipient: %s"), reason);
      else
        why = g_strdup_printf (_ ("The outgoing server refused the message: %s"), reason);
      failed = gate_spool_fail (self->spool, id, why, NULL);
      if (failed != NULL)
        g_signal_emit (self, signals[SIGNAL_FAILED], 0, id, why);
      return g_steal_pointer (&failed);
    }

  if (g_error_matches (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_MESSAGE_TOO_LARGE))
    {
      g_autofree char *why
          = g_strdup_printf (_ ("The message is too large for the outgoing server: %s"), reason);
      GateSpoolEntry *failed = gate_spool_fail (self->spool, id, why, NULL);

      if (failed != NULL)
        g_signal_emit (self, signals[SIGNAL_FAILED], 0, id, why);
      return failed;
    }

  return defer_or_fail (self, id, entry, reason);
}

static void
send_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Connection *conn = user_data;
  GateForwarder *self = conn->self;
  g_autoptr (GateSmtpSendResult) send_result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpoolEntry) after = NULL;
  g_autofree char *id = g_steal_pointer (&conn->id);
  g_autoptr (GateSpoolEntry) entry = g_steal_pointer (&conn->entry);

  send_result = gate_smtp_client_send_finish (GATE_SMTP_CLIENT (source), result, &error);
  g_hash_table_remove (self->in_flight, id);

  if (send_result != NULL)
    after = settle_result (self, id, entry, send_result);
  else
    after = settle_error (self, conn, id, entry, error);

  conn->n_sent++;
  consider_entry (self, id, after);

  if (!gate_smtp_client_is_connected (conn->client))
    {
      connection_remove (conn);
      maybe_finish_stop (self);
    }
  else if (conn->n_sent >= self->messages_per_connection || self->stopping)
    connection_quit (conn);
  else
    connection_make_idle (conn);

  pump (self);
  g_object_unref (self);
}

static void
connection_start_send (Connection *conn, const char *id)
{
  GateForwarder *self = conn->self;
  g_autoptr (GateSpoolEntry) entry = NULL;
  g_autoptr (GateSmtpEnvelope) envelope = NULL;
  g_autoptr (GInputStream) content = NULL;
  g_autoptr (GError) error = NULL;

  entry = gate_spool_claim (self->spool, id, &error);
  if (entry == NULL)
    {
      /* Deleted or held from the command line meanwhile. */
      g_debug ("not sending %s: %s", id, error->message);
      return;
    }

  if (gate_spool_entry_get_n_pending (entry) == 0)
    {
      g_autoptr (GateSpoolEntry) after = gate_spool_finish_attempt (self->spool, id, 0, NULL, NULL, NULL);

      consider_entry (self, id, after);
      return;
    }

  content = gate_spool_open_content (self->spool, id, &error);
  if (content == NULL)
    {
      g_autofree char *why = g_strdup_printf (_ ("The stored message cannot be read: %s"), error->message);
      g_autoptr (GateSpoolEntry) after = gate_spool_fail (self->spool, id, why, NULL);

      g_signal_emit (self, signals[SIGNAL_FAILED], 0, id, why);
      consider_entry (self, id, after);
      return;
    }

  envelope = gate_spool_entry_to_envelope (entry);
  g_clear_handle_id (&conn->idle_source, g_source_remove);
  conn->state = CONN_SENDING;
  conn->id = g_strdup (id);
  conn->entry = g_steal_pointer (&entry);
  g_hash_table_insert (self->in_flight, g_strdup (id), conn);
  update_queue_length (self);

  g_object_ref (self);
  gate_smtp_client_send_async (conn->client, envelope, content, conn->cancellable, send_cb, conn);
}

/* ---- The dispatcher */

static Connection *
find_idle_connection (GateForwarder *self)
{
  for (guint i = 0; i < self->connections->len; i++)
    {
      Connection *conn = g_ptr_array_index (self->connections, i);

      if (conn->state == CONN_IDLE)
        return conn;
    }
  return NULL;
}

static guint
count_connecting (GateForwarder *self)
{
  guint n = 0;

  for (guint i = 0; i < self->connections->len; i++)
    if (((Connection *)g_ptr_array_index (self->connections, i))->state == CONN_CONNECTING)
      n++;
  return n;
}

static void
pump (GateForwarder *self)
{
  g_clear_handle_id (&self->pump_source, g_source_remove);
  if (!self->running || self->stopping || self->factory == NULL)
    return;

  while (!g_queue_is_empty (&self->ready))
    {
      Connection *conn = find_idle_connection (self);
      g_autofree char *id = NULL;

      if (conn == NULL)
        break;
      if (!take_token (self))
        {
          self->last_held = g_get_monotonic_time ();
          set_paced (self, TRUE);
          return;
        }
      id = g_queue_pop_head (&self->ready);
      g_hash_table_remove (self->ready_links, id);
      connection_start_send (conn, id);
    }

  /* More messages due than connections to take them: open more, one per
   * waiting message, up to the limit, unless the server just failed us. */
  while (!g_queue_is_empty (&self->ready) && self->connections->len < self->max_connections
         && count_connecting (self) < g_queue_get_length (&self->ready))
    {
      if (self->connect_not_before > g_get_monotonic_time () && count_connections (self, TRUE) > 0)
        break;
      if (self->connect_not_before > g_get_monotonic_time () && self->connect_retry_source != 0)
        break;
      connection_open (self);
    }
  /* Caught up: the cap holds nothing back now. */
  if (self->paced && g_queue_is_empty (&self->ready) && self->unpace_source == 0)
    self->unpace_source = g_timeout_add_seconds (PACED_QUIET_SECONDS, unpace_cb, self);
  update_queue_length (self);
}

static gboolean
pump_cb (gpointer user_data)
{
  GateForwarder *self = user_data;

  self->pump_source = 0;
  pump (self);
  return G_SOURCE_REMOVE;
}

static void
pump_soon (GateForwarder *self)
{
  /* Not from inside a spool signal: the spool may be in the middle of a change. */
  if (self->pump_source == 0)
    self->pump_source = g_idle_add (pump_cb, self);
}

/* ---- Start and stop */

void
gate_forwarder_start (GateForwarder *self)
{
  g_autoptr (GPtrArray) entries = NULL;

  g_return_if_fail (GATE_IS_FORWARDER (self));
  g_return_if_fail (self->factory != NULL);

  if (self->running)
    return;
  self->running = TRUE;
  self->stopping = FALSE;
  self->tokens = MAX (1.0, self->rate_per_hour / 60.0);
  self->tokens_time = g_get_monotonic_time ();
  self->changed_handler = g_signal_connect (self->spool, "changed", G_CALLBACK (spool_changed_cb), self);

  entries = gate_spool_list (self->spool);
  for (guint i = 0; i < entries->len; i++)
    {
      GateSpoolEntry *entry = g_ptr_array_index (entries, i);

      consider_entry (self, gate_spool_entry_get_id (entry), entry);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  pump (self);
  check_upstream (self);
}

static void
maybe_finish_stop (GateForwarder *self)
{
  g_autoptr (GTask) task = NULL;

  if (!self->stopping || self->stop_task == NULL || self->connections->len > 0)
    return;

  g_clear_handle_id (&self->grace_source, g_source_remove);
  g_clear_signal_handler (&self->changed_handler, self->spool);
  g_clear_handle_id (&self->wake_source, g_source_remove);
  g_clear_handle_id (&self->rate_source, g_source_remove);
  g_clear_handle_id (&self->connect_retry_source, g_source_remove);
  g_clear_handle_id (&self->pump_source, g_source_remove);
  /* Anything still marked in flight goes back to the queue for the next start. */
  gate_spool_requeue_in_flight (self->spool);

  self->running = FALSE;
  self->stopping = FALSE;
  set_paced (self, FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);

  task = g_steal_pointer (&self->stop_task);
  g_task_return_boolean (task, TRUE);
}

static gboolean
grace_cb (gpointer user_data)
{
  GateForwarder *self = user_data;

  self->grace_source = 0;
  /* Deliveries still running are cut off; their messages stay queued. */
  for (guint i = 0; i < self->connections->len; i++)
    g_cancellable_cancel (((Connection *)g_ptr_array_index (self->connections, i))->cancellable);
  return G_SOURCE_REMOVE;
}

void
gate_forwarder_stop_async (GateForwarder *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GPtrArray) idle = NULL;

  g_return_if_fail (GATE_IS_FORWARDER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gate_forwarder_stop_async);

  if (!self->running || self->stop_task != NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  self->stopping = TRUE;
  self->stop_task = g_steal_pointer (&task);

  idle = g_ptr_array_new ();
  for (guint i = 0; i < self->connections->len; i++)
    {
      Connection *conn = g_ptr_array_index (self->connections, i);

      if (conn->state == CONN_IDLE)
        g_ptr_array_add (idle, conn);
      else if (conn->state == CONN_CONNECTING)
        g_cancellable_cancel (conn->cancellable);
    }
  for (guint i = 0; i < idle->len; i++)
    connection_quit (g_ptr_array_index (idle, i));

  self->grace_source = g_timeout_add_seconds (MAX (self->grace_period, 1), grace_cb, self);
  maybe_finish_stop (self);
}

gboolean
gate_forwarder_stop_finish (GateForwarder *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gate_forwarder_stop_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- GObject */

GateForwarder *
gate_forwarder_new (GateSpool *spool)
{
  g_return_val_if_fail (GATE_IS_SPOOL (spool), NULL);

  return g_object_new (GATE_TYPE_FORWARDER, "spool", spool, NULL);
}

void
gate_forwarder_set_client_factory (GateForwarder *self, GateForwarderClientFactory factory,
                                   gpointer user_data, GDestroyNotify destroy)
{
  g_return_if_fail (GATE_IS_FORWARDER (self));

  if (self->factory_destroy != NULL)
    self->factory_destroy (self->factory_data);
  self->factory = factory;
  self->factory_data = user_data;
  self->factory_destroy = destroy;
}

GateSpool *
gate_forwarder_get_spool (GateForwarder *self)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), NULL);
  return self->spool;
}

#define SETTER(name, field, prop, expr)                                                                      \
  void gate_forwarder_set_##name (GateForwarder *self, guint value)                                          \
  {                                                                                                          \
    g_return_if_fail (GATE_IS_FORWARDER (self));                                                             \
    value = (expr);                                                                                          \
    if (self->field == value)                                                                                \
      return;                                                                                                \
    self->field = value;                                                                                     \
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);                                            \
    pump_soon (self);                                                                                        \
  }

SETTER (max_connections, max_connections, PROP_MAX_CONNECTIONS,
        CLAMP (value, 1, GATE_FORWARDER_MAX_CONNECTIONS))
SETTER (messages_per_connection, messages_per_connection, PROP_MESSAGES_PER_CONNECTION, MAX (value, 1))
SETTER (idle_timeout, idle_timeout, PROP_IDLE_TIMEOUT, MAX (value, 1))
SETTER (rate_per_hour, rate_per_hour, PROP_RATE_PER_HOUR, value)
SETTER (max_age, max_age, PROP_MAX_AGE, value)
SETTER (grace_period, grace_period, PROP_GRACE_PERIOD, value)
SETTER (retry_base, retry_base, PROP_RETRY_BASE, MAX (value, 1))
SETTER (retry_max, retry_max, PROP_RETRY_MAX, MAX (value, 1))

#undef SETTER

void
gate_forwarder_set_retry (GateForwarder *self, guint base_seconds, guint max_seconds)
{
  gate_forwarder_set_retry_base (self, base_seconds);
  gate_forwarder_set_retry_max (self, MAX (max_seconds, base_seconds));
}

guint
gate_forwarder_get_max_connections (GateForwarder *self)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), 0);
  return self->max_connections;
}

gboolean
gate_forwarder_is_running (GateForwarder *self)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), FALSE);
  return self->running;
}

guint
gate_forwarder_get_queue_length (GateForwarder *self)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), 0);
  return self->queue_length;
}

guint
gate_forwarder_get_connections (GateForwarder *self)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), 0);
  return self->connections->len;
}

gboolean
gate_forwarder_get_upstream_connected (GateForwarder *self)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), FALSE);
  return self->upstream_connected;
}

GateUpstreamProblem
gate_forwarder_get_upstream_problem (GateForwarder *self)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), GATE_UPSTREAM_PROBLEM_NONE);
  return self->upstream_problem;
}

const char *
gate_forwarder_get_upstream_next_step (GateForwarder *self)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), NULL);
  return self->upstream_next_step;
}

void
gate_forwarder_retry_now (GateForwarder *self)
{
  g_return_if_fail (GATE_IS_FORWARDER (self));
  if (!self->running || self->stopping)
    return;

  self->settings_generation++;
  self->n_connect_failures = 0;
  self->connect_not_before = 0;
  g_clear_handle_id (&self->connect_retry_source, g_source_remove);

  /* The messages' own next tries stay in the spool: they only matter after
   * a restart, and this attempt will replace them. */
  release_waiting (self, G_MAXINT64);
  update_queue_length (self);
  pump (self);
  if (self->upstream_problem != GATE_UPSTREAM_PROBLEM_NONE)
    check_upstream (self);
}

const char *
gate_forwarder_get_upstream_state (GateForwarder *self)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), NULL);
  return self->upstream_state;
}

gboolean
gate_forwarder_get_paced (GateForwarder *self)
{
  g_return_val_if_fail (GATE_IS_FORWARDER (self), FALSE);
  return self->paced;
}

static void
gate_forwarder_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateForwarder *self = GATE_FORWARDER (object);

  switch (prop_id)
    {
      case PROP_SPOOL:
        g_value_set_object (value, self->spool);
        break;
      case PROP_MAX_CONNECTIONS:
        g_value_set_uint (value, self->max_connections);
        break;
      case PROP_MESSAGES_PER_CONNECTION:
        g_value_set_uint (value, self->messages_per_connection);
        break;
      case PROP_IDLE_TIMEOUT:
        g_value_set_uint (value, self->idle_timeout);
        break;
      case PROP_RATE_PER_HOUR:
        g_value_set_uint (value, self->rate_per_hour);
        break;
      case PROP_RETRY_BASE:
        g_value_set_uint (value, self->retry_base);
        break;
      case PROP_RETRY_MAX:
        g_value_set_uint (value, self->retry_max);
        break;
      case PROP_MAX_AGE:
        g_value_set_uint (value, self->max_age);
        break;
      case PROP_GRACE_PERIOD:
        g_value_set_uint (value, self->grace_period);
        break;
      case PROP_RUNNING:
        g_value_set_boolean (value, self->running);
        break;
      case PROP_QUEUE_LENGTH:
        g_value_set_uint (value, self->queue_length);
        break;
      case PROP_CONNECTIONS:
        g_value_set_uint (value, self->connections->len);
        break;
      case PROP_UPSTREAM_CONNECTED:
        g_value_set_boolean (value, self->upstream_connected);
        break;
      case PROP_UPSTREAM_STATE:
        g_value_set_string (value, self->upstream_state);
        break;
      case PROP_UPSTREAM_PROBLEM:
        g_value_set_uint (value, self->upstream_problem);
        break;
      case PROP_PACED:
        g_value_set_boolean (value, self->paced);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_forwarder_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GateForwarder *self = GATE_FORWARDER (object);

  switch (prop_id)
    {
      case PROP_SPOOL:
        self->spool = g_value_dup_object (value);
        break;
      case PROP_MAX_CONNECTIONS:
        gate_forwarder_set_max_connections (self, g_value_get_uint (value));
        break;
      case PROP_MESSAGES_PER_CONNECTION:
        gate_forwarder_set_messages_per_connection (self, g_value_get_uint (value));
        break;
      case PROP_IDLE_TIMEOUT:
        gate_forwarder_set_idle_timeout (self, g_value_get_uint (value));
        break;
      case PROP_RATE_PER_HOUR:
        gate_forwarder_set_rate_per_hour (self, g_value_get_uint (value));
        break;
      case PROP_RETRY_BASE:
        gate_forwarder_set_retry_base (self, g_value_get_uint (value));
        break;
      case PROP_RETRY_MAX:
        gate_forwarder_set_retry_max (self, g_value_get_uint (value));
        break;
      case PROP_MAX_AGE:
        gate_forwarder_set_max_age (self, g_value_get_uint (value));
        break;
      case PROP_GRACE_PERIOD:
        gate_forwarder_set_grace_period (self, g_value_get_uint (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_forwarder_dispose (GObject *object)
{
  GateForwarder *self = GATE_FORWARDER (object);

  /* Pending operations hold a reference, so every connection is settled here. */
  g_clear_handle_id (&self->wake_source, g_source_remove);
  g_clear_handle_id (&self->pump_source, g_source_remove);
  g_clear_handle_id (&self->rate_source, g_source_remove);
  g_clear_handle_id (&self->unpace_source, g_source_remove);
  g_clear_handle_id (&self->connect_retry_source, g_source_remove);
  g_clear_handle_id (&self->grace_source, g_source_remove);
  if (self->spool != NULL)
    g_clear_signal_handler (&self->changed_handler, self->spool);
  if (self->connections != NULL)
    g_ptr_array_set_size (self->connections, 0);
  if (self->factory_destroy != NULL)
    self->factory_destroy (self->factory_data);
  self->factory = NULL;
  self->factory_destroy = NULL;
  self->factory_data = NULL;
  g_clear_object (&self->spool);

  G_OBJECT_CLASS (gate_forwarder_parent_class)->dispose (object);
}

static void
gate_forwarder_finalize (GObject *object)
{
  GateForwarder *self = GATE_FORWARDER (object);

  g_queue_clear_full (&self->ready, g_free);
  g_hash_table_unref (self->ready_links);
  g_hash_table_unref (self->waiting);
  g_hash_table_unref (self->in_flight);
  g_ptr_array_unref (self->connections);
  g_free (self->upstream_state);
  g_free (self->upstream_next_step);

  G_OBJECT_CLASS (gate_forwarder_parent_class)->finalize (object);
}

static void
gate_forwarder_class_init (GateForwarderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->get_property = gate_forwarder_get_property;
  object_class->set_property = gate_forwarder_set_property;
  object_class->dispose = gate_forwarder_dispose;
  object_class->finalize = gate_forwarder_finalize;

  properties[PROP_SPOOL]
      = g_param_spec_object ("spool", NULL, NULL, GATE_TYPE_SPOOL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_CONNECTIONS]
      = g_param_spec_uint ("max-connections", NULL, NULL, 1, GATE_FORWARDER_MAX_CONNECTIONS,
                           GATE_FORWARDER_DEFAULT_CONNECTIONS, rw);
  properties[PROP_MESSAGES_PER_CONNECTION]
      = g_param_spec_uint ("messages-per-connection", NULL, NULL, 1, G_MAXUINT,
                           GATE_FORWARDER_DEFAULT_MESSAGES_PER_CONNECTION, rw);
  properties[PROP_IDLE_TIMEOUT]
      = g_param_spec_uint ("idle-timeout", NULL, NULL, 1, G_MAXUINT, GATE_FORWARDER_DEFAULT_IDLE_SECONDS, rw);
  properties[PROP_RATE_PER_HOUR] = g_param_spec_uint ("rate-per-hour", NULL, NULL, 0, G_MAXUINT,
                                                      GATE_FORWARDER_DEFAULT_RATE_PER_HOUR, rw);
  properties[PROP_RETRY_BASE]
      = g_param_spec_uint ("retry-base", NULL, NULL, 1, G_MAXUINT, GATE_FORWARDER_DEFAULT_RETRY_BASE, rw);
  properties[PROP_RETRY_MAX]
      = g_param_spec_uint ("retry-max", NULL, NULL, 1, G_MAXUINT, GATE_FORWARDER_DEFAULT_RETRY_MAX, rw);
  properties[PROP_MAX_AGE]
      = g_param_spec_uint ("max-age", NULL, NULL, 0, G_MAXUINT, GATE_FORWARDER_DEFAULT_MAX_AGE, rw);
  properties[PROP_GRACE_PERIOD] = g_param_spec_uint ("grace-period", NULL, NULL, 0, G_MAXUINT, 10, rw);
  properties[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE, ro);
  properties[PROP_QUEUE_LENGTH] = g_param_spec_uint ("queue-length", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_CONNECTIONS] = g_param_spec_uint ("connections", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_UPSTREAM_CONNECTED] = g_param_spec_boolean ("upstream-connected", NULL, NULL, FALSE, ro);
  properties[PROP_UPSTREAM_STATE] = g_param_spec_string ("upstream-state", NULL, NULL, NULL, ro);
  /* A GateUpstreamProblem (the engine registers no enum types). */
  properties[PROP_UPSTREAM_PROBLEM]
      = g_param_spec_uint ("upstream-problem", NULL, NULL, GATE_UPSTREAM_PROBLEM_NONE,
                           GATE_UPSTREAM_PROBLEM_SIGN_IN, GATE_UPSTREAM_PROBLEM_NONE, ro);
  properties[PROP_PACED] = g_param_spec_boolean ("paced", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_DELIVERED] = g_signal_new ("delivered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                            NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_DEFERRED]
      = g_signal_new ("deferred", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_INT64);
  signals[SIGNAL_FAILED] = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                         NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_RECIPIENT_FAILED]
      = g_signal_new ("recipient-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
}

static void
gate_forwarder_init (GateForwarder *self)
{
  self->max_connections = GATE_FORWARDER_DEFAULT_CONNECTIONS;
  self->messages_per_connection = GATE_FORWARDER_DEFAULT_MESSAGES_PER_CONNECTION;
  self->idle_timeout = GATE_FORWARDER_DEFAULT_IDLE_SECONDS;
  self->rate_per_hour = GATE_FORWARDER_DEFAULT_RATE_PER_HOUR;
  self->retry_base = GATE_FORWARDER_DEFAULT_RETRY_BASE;
  self->retry_max = GATE_FORWARDER_DEFAULT_RETRY_MAX;
  self->max_age = GATE_FORWARDER_DEFAULT_MAX_AGE;
  self->grace_period = 10;
  g_queue_init (&self->ready);
  self->ready_links = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->in_flight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->connections = g_ptr_array_new_with_free_func ((GDestroyNotify)connection_free);
  self->upstream_state = g_strdup (_ ("Not connected to the outgoing server yet"));
}
