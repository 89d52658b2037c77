/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-queue"

#include "config.h"

#include "gate-queue.h"

#include <glib/gi18n-lib.h>

struct _GateQueue
{
  GObject parent_instance;

  GateSpool *spool;
  gulong changed_id;
  guint counts[GATE_SPOOL_STATUS_FAILED + 1];
};

enum
{
  PROP_0,
  PROP_SPOOL,
  PROP_N_WAITING,
  PROP_N_SENDING,
  PROP_N_HELD,
  PROP_N_FAILED,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (GateQueue, gate_queue, G_TYPE_OBJECT)

/* Recounts from the spool's snapshot and notifies the counts that moved. */
static void
recount (GateQueue *self)
{
  guint counts[GATE_SPOOL_STATUS_FAILED + 1] = { 0 };
  g_autoptr (GPtrArray) entries = gate_spool_list (self->spool);

  for (guint i = 0; i < entries->len; i++)
    counts[gate_spool_entry_get_status (entries->pdata[i])]++;
  g_object_freeze_notify (G_OBJECT (self));
  for (guint s = 0; s <= GATE_SPOOL_STATUS_FAILED; s++)
    if (counts[s] != self->counts[s])
      {
        self->counts[s] = counts[s];
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_WAITING + s]);
      }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
spool_changed_cb (GateSpool *spool, const char *id, GateSpoolEntry *entry, gpointer user_data)
{
  GateQueue *self = user_data;

  recount (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0, id, entry);
}

static void
gate_queue_constructed (GObject *object)
{
  GateQueue *self = GATE_QUEUE (object);

  G_OBJECT_CLASS (gate_queue_parent_class)->constructed (object);
  self->changed_id = g_signal_connect (self->spool, "changed", G_CALLBACK (spool_changed_cb), self);
  recount (self);
}

static void
gate_queue_dispose (GObject *object)
{
  GateQueue *self = GATE_QUEUE (object);

  if (self->spool)
    g_clear_signal_handler (&self->changed_id, self->spool);
  g_clear_object (&self->spool);
  G_OBJECT_CLASS (gate_queue_parent_class)->dispose (object);
}

static void
gate_queue_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateQueue *self = GATE_QUEUE (object);

  switch (prop_id)
    {
      case PROP_SPOOL:
        g_value_set_object (value, self->spool);
        break;
      case PROP_N_WAITING:
      case PROP_N_SENDING:
      case PROP_N_HELD:
      case PROP_N_FAILED:
        g_value_set_uint (value, self->counts[prop_id - PROP_N_WAITING]);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_queue_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GateQueue *self = GATE_QUEUE (object);

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
gate_queue_class_init (GateQueueClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const char *const names[] = { "n-waiting", "n-sending", "n-held", "n-failed" };

  object_class->constructed = gate_queue_constructed;
  object_class->dispose = gate_queue_dispose;
  object_class->get_property = gate_queue_get_property;
  object_class->set_property = gate_queue_set_property;

  properties[PROP_SPOOL] = g_param_spec_object ("spool", NULL, NULL, GATE_TYPE_SPOOL,
                                                G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                                    | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    properties[PROP_N_WAITING + i]
        = g_param_spec_uint (names[i], NULL, NULL, 0, G_MAXUINT, 0,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                          NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, GATE_TYPE_SPOOL_ENTRY);
}

static void
gate_queue_init (GateQueue *self)
{
}

GateQueue *
gate_queue_new (GateSpool *spool)
{
  g_return_val_if_fail (GATE_IS_SPOOL (spool), NULL);
  return g_object_new (GATE_TYPE_QUEUE, "spool", spool, NULL);
}

GateSpool *
gate_queue_get_spool (GateQueue *self)
{
  g_return_val_if_fail (GATE_IS_QUEUE (self), NULL);
  return self->spool;
}

GPtrArray *
gate_queue_list (GateQueue *self, int status)
{
  GPtrArray *entries;

  g_return_val_if_fail (GATE_IS_QUEUE (self), NULL);
  entries = gate_spool_list (self->spool);
  if (status < 0)
    return entries;
  for (guint i = entries->len; i > 0; i--)
    if ((int)gate_spool_entry_get_status (entries->pdata[i - 1]) != status)
      g_ptr_array_remove_index (entries, i - 1);
  return entries;
}

guint
gate_queue_get_n_waiting (GateQueue *self)
{
  g_return_val_if_fail (GATE_IS_QUEUE (self), 0);
  return self->counts[GATE_SPOOL_STATUS_QUEUED];
}

guint
gate_queue_get_n_sending (GateQueue *self)
{
  g_return_val_if_fail (GATE_IS_QUEUE (self), 0);
  return self->counts[GATE_SPOOL_STATUS_IN_FLIGHT];
}

guint
gate_queue_get_n_held (GateQueue *self)
{
  g_return_val_if_fail (GATE_IS_QUEUE (self), 0);
  return self->counts[GATE_SPOOL_STATUS_HELD];
}

guint
gate_queue_get_n_failed (GateQueue *self)
{
  g_return_val_if_fail (GATE_IS_QUEUE (self), 0);
  return self->counts[GATE_SPOOL_STATUS_FAILED];
}

gboolean
gate_queue_retry (GateQueue *self, const char *id, GError **error)
{
  g_autoptr (GateSpoolEntry) entry = NULL;

  g_return_val_if_fail (GATE_IS_QUEUE (self), FALSE);
  entry = gate_spool_retry (self->spool, id, error);
  return entry != NULL;
}

/* Every message in @status (< 0: any) but those being sent: retried, or
 * deleted only if still in @status when it is locked. */
static guint
act_on_each (GateQueue *self, int status, gboolean delete, GError **error)
{
  g_autoptr (GPtrArray) entries = gate_spool_list (self->spool);
  guint n = 0;

  for (guint i = 0; i < entries->len; i++)
    {
      GateSpoolEntry *entry = entries->pdata[i];
      GateSpoolStatus state = gate_spool_entry_get_status (entry);
      const char *id = gate_spool_entry_get_id (entry);
      g_autoptr (GError) local_error = NULL;
      gboolean done;

      /* A message being sent: its attempt decides. */
      if (state == GATE_SPOOL_STATUS_IN_FLIGHT || (status >= 0 && (int)state != status))
        continue;
      if (!delete)
        done = gate_queue_retry (self, id, &local_error);
      else if (status >= 0)
        done = gate_spool_delete_in_state (self->spool, id, state, &local_error);
      else
        done = gate_queue_delete (self, id, &local_error);
      if (done)
        n++;
      /* Gone or changed by another program since the list was read. */
      else if (!g_error_matches (local_error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NOT_FOUND)
               && !g_error_matches (local_error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID) && error != NULL
               && *error == NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
    }
  return n;
}

guint
gate_queue_retry_each (GateQueue *self, int status, GError **error)
{
  g_return_val_if_fail (GATE_IS_QUEUE (self), 0);
  return act_on_each (self, status, FALSE, error);
}

guint
gate_queue_delete_each (GateQueue *self, int status, GError **error)
{
  g_return_val_if_fail (GATE_IS_QUEUE (self), 0);
  return act_on_each (self, status, TRUE, error);
}

guint
gate_queue_retry_all (GateQueue *self)
{
  g_autoptr (GError) error = NULL;
  guint n;

  g_return_val_if_fail (GATE_IS_QUEUE (self), 0);
  n = gate_queue_retry_each (self, -1, &error);
  if (error != NULL)
    g_warning ("%s", error->message);
  return n;
}

gboolean
gate_queue_hold (GateQueue *self, const char *id, GError **error)
{
  g_autoptr (GateSpoolEntry) entry = NULL;

  g_return_val_if_fail (GATE_IS_QUEUE (self), FALSE);
  entry = gate_spool_hold (self->spool, id, error);
  return entry != NULL;
}

gboolean
gate_queue_delete (GateQueue *self, const char *id, GError **error)
{
  g_return_val_if_fail (GATE_IS_QUEUE (self), FALSE);
  return gate_spool_delete (self->spool, id, error);
}

char *
gate_queue_describe (GateSpoolEntry *entry)
{
  const char *error;
  gint64 next, now;

  g_return_val_if_fail (entry != NULL, NULL);

  error = gate_spool_entry_get_last_error (entry);
  switch (gate_spool_entry_get_status (entry))
    {
      case GATE_SPOOL_STATUS_IN_FLIGHT:
        return g_strdup (_ ("Sending now"));
      case GATE_SPOOL_STATUS_HELD:
        return g_strdup (_ ("On hold until you retry it"));
      case GATE_SPOOL_STATUS_FAILED:
        return g_strdup_printf (_ ("Failed: %s"), error ? error : _ ("the outgoing server refused it"));
      case GATE_SPOOL_STATUS_QUEUED:
      default:
        break;
    }
  next = gate_spool_entry_get_next_attempt (entry);
  now = g_get_real_time () / G_USEC_PER_SEC;
  if (next <= now)
    return error ? g_strdup_printf (_ ("Waiting to be sent (last problem: %s)"), error)
                 : g_strdup (_ ("Waiting to be sent"));
  {
    gint64 minutes = (next - now + 59) / 60;
    g_autofree char *when = g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "in %d minute", "in %d minutes", (gulong)minutes), (int)minutes);
    return error ? g_strdup_printf (_ ("Waiting; next try %s (last problem: %s)"), when, error)
                 : g_strdup_printf (_ ("Waiting; next try %s"), when);
  }
}
