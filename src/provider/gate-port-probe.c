/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-probe"

#include "config.h"

#include "gate-port-probe.h"

#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_SECONDS 10

static const GatePortCandidate default_candidates[] = {
  { 2525, GATE_SMTP_SECURITY_STARTTLS },
  { 8025, GATE_SMTP_SECURITY_STARTTLS },
  { 587, GATE_SMTP_SECURITY_STARTTLS },
  { 80, GATE_SMTP_SECURITY_STARTTLS },
  { 25, GATE_SMTP_SECURITY_STARTTLS },
  { 465, GATE_SMTP_SECURITY_TLS },
  { 8465, GATE_SMTP_SECURITY_TLS },
  { 443, GATE_SMTP_SECURITY_TLS },
};

const GatePortCandidate *
gate_port_probe_get_default_candidates (gsize *n_candidates)
{
  g_return_val_if_fail (n_candidates != NULL, NULL);

  *n_candidates = G_N_ELEMENTS (default_candidates);
  return default_candidates;
}

static gboolean
port_is_implicit_tls (guint16 port)
{
  return port == 465 || port == 8465 || port == 443;
}

GArray *
gate_port_candidates_parse (const char *text, GError **error)
{
  g_autoptr (GArray) candidates = g_array_new (FALSE, TRUE, sizeof (GatePortCandidate));
  g_auto (GStrv) parts = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  parts = g_strsplit (text, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      GatePortCandidate candidate = { 0, GATE_SMTP_SECURITY_STARTTLS };
      g_autofree char *part = g_strstrip (g_strdup (parts[i]));
      char *colon;
      guint64 port = 0;

      if (*part == '\0')
        continue;

      colon = strchr (part, ':');
      if (colon != NULL)
        *colon = '\0';

      if (!g_ascii_string_to_unsigned (part, 10, 1, G_MAXUINT16, &port, NULL))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not a port number (1 to 65535)."), part);
          return NULL;
        }
      candidate.port = (guint16) port;
      candidate.security = port_is_implicit_tls (candidate.port) ? GATE_SMTP_SECURITY_TLS
                                                                  : GATE_SMTP_SECURITY_STARTTLS;

      if (colon != NULL && !gate_smtp_security_from_string (g_strstrip (colon + 1), &candidate.security))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not a security mode: use none, starttls or tls."), colon + 1);
          return NULL;
        }

      g_array_append_val (candidates, candidate);
    }

  if (candidates->len == 0)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("The list of ports is empty."));
      return NULL;
    }

  return g_steal_pointer (&candidates);
}

/* ---- GatePortProbeResult ---- */

struct _GatePortProbeResult {
  gatomicrefcount ref_count;
  GatePortCandidate candidate;
  GError *error;
  GateTlsInfo *tls_info;
  char **auth_mechanisms;
  char *server_name;
  guint elapsed_ms;
};

G_DEFINE_BOXED_TYPE (GatePortProbeResult, gate_port_probe_result, gate_port_probe_result_ref,
                     gate_port_probe_result_unref)

static GatePortProbeResult *
gate_port_probe_result_new (const GatePortCandidate *candidate)
{
  GatePortProbeResult *result = g_new0 (GatePortProbeResult, 1);

  g_atomic_ref_count_init (&result->ref_count);
  result->candidate = *candidate;
  return result;
}

GatePortProbeResult *
gate_port_probe_result_ref (GatePortProbeResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);

  g_atomic_ref_count_inc (&result->ref_count);
  return result;
}

void
gate_port_probe_result_unref (GatePortProbeResult *result)
{
  g_return_if_fail (result != NULL);

  if (!g_atomic_ref_count_dec (&result->ref_count))
    return;

  g_clear_error (&result->error);
  g_clear_pointer (&result->tls_info, gate_tls_info_unref);
  g_strfreev (result->auth_mechanisms);
  g_free (result->server_name);
  g_free (result);
}

guint16
gate_port_probe_result_get_port (const GatePortProbeResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->candidate.port;
}

GateSmtpSecurity
gate_port_probe_result_get_security (const GatePortProbeResult *result)
{
  g_return_val_if_fail (result != NULL, GATE_SMTP_SECURITY_NONE);
  return result->candidate.security;
}

gboolean
gate_port_probe_result_get_reached (const GatePortProbeResult *result)
{
  g_return_val_if_fail (result != NULL, FALSE);
  return result->error == NULL;
}

const GError *
gate_port_probe_result_get_error (const GatePortProbeResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->error;
}

const char *
gate_port_probe_result_get_tls_protocol (const GatePortProbeResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->tls_info != NULL ? gate_tls_info_get_protocol (result->tls_info) : NULL;
}

GateTlsInfo *
gate_port_probe_result_get_tls_info (const GatePortProbeResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->tls_info;
}

const char *const *
gate_port_probe_result_get_auth_mechanisms (const GatePortProbeResult *result)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (result != NULL, none);
  return result->auth_mechanisms != NULL ? (const char *const *) result->auth_mechanisms : none;
}

const char *
gate_port_probe_result_get_server_name (const GatePortProbeResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->server_name;
}

guint
gate_port_probe_result_get_elapsed_ms (const GatePortProbeResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->elapsed_ms;
}

gboolean
gate_port_probe_result_is_encrypted (const GatePortProbeResult *result)
{
  g_return_val_if_fail (result != NULL, FALSE);
  return result->error == NULL && result->tls_info != NULL;
}

/* ---- GatePortProbe ---- */

struct _GatePortProbe {
  GObject parent_instance;

  char *host;
  char *ca_file;
  char *pinned_fingerprint;
  guint timeout;
  GArray *candidates; /* GatePortCandidate; NULL means the defaults */
};

G_DEFINE_FINAL_TYPE (GatePortProbe, gate_port_probe, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_HOST,
  PROP_CA_FILE,
  PROP_PINNED_FINGERPRINT,
  PROP_TIMEOUT,
  N_PROPS
};

enum {
  SIGNAL_CANDIDATE_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* One run: shared by the callbacks of every candidate through the task's
 * data.  The task is returned once, at the first of: every candidate
 * answered, the time limit, the caller's cancellation.  Callbacks arriving
 * later only clean up. */
typedef struct {
  GatePortCandidate *candidates;
  gsize n_candidates;
  GateSmtpClient **clients;
  GatePortProbeResult **results; /* NULL until the candidate finished */
  GCancellable *cancellable;     /* ours: cancelled at the time limit */
  GCancellable *caller_cancellable;
  GSource *deadline_source;
  GSource *cancelled_source;
  gint64 start_us;
  gsize n_unfinished;
  gsize n_quitting; /* QUITs still under way: the run waits for them */
  gboolean returned;
} ProbeRun;

typedef struct {
  GTask *task; /* owned */
  gsize index;
} CandidateOp;

static void
probe_run_free (gpointer data)
{
  ProbeRun *run = data;

  g_clear_object (&run->caller_cancellable);
  for (gsize i = 0; i < run->n_candidates; i++)
    {
      g_clear_object (&run->clients[i]);
      g_clear_pointer (&run->results[i], gate_port_probe_result_unref);
    }
  g_free (run->clients);
  g_free (run->results);
  g_free (run->candidates);
  g_clear_object (&run->cancellable);
  g_free (run);
}

static void
candidate_op_free (CandidateOp *op)
{
  g_clear_object (&op->task);
  g_free (op);
}

static void
gate_port_probe_finalize (GObject *object)
{
  GatePortProbe *self = GATE_PORT_PROBE (object);

  g_free (self->host);
  g_free (self->ca_file);
  g_free (self->pinned_fingerprint);
  g_clear_pointer (&self->candidates, g_array_unref);

  G_OBJECT_CLASS (gate_port_probe_parent_class)->finalize (object);
}

static void
gate_port_probe_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GatePortProbe *self = GATE_PORT_PROBE (object);

  switch (prop_id)
    {
    case PROP_HOST:
      g_value_set_string (value, self->host);
      break;
    case PROP_CA_FILE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_PINNED_FINGERPRINT:
      g_value_set_string (value, self->pinned_fingerprint);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_port_probe_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GatePortProbe *self = GATE_PORT_PROBE (object);

  switch (prop_id)
    {
    case PROP_HOST:
      g_free (self->host);
      self->host = g_value_dup_string (value);
      break;
    case PROP_CA_FILE:
      gate_port_probe_set_ca_file (self, g_value_get_string (value));
      break;
    case PROP_PINNED_FINGERPRINT:
      gate_port_probe_set_pinned_fingerprint (self, g_value_get_string (value));
      break;
    case PROP_TIMEOUT:
      gate_port_probe_set_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_port_probe_class_init (GatePortProbeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = gate_port_probe_finalize;
  object_class->get_property = gate_port_probe_get_property;
  object_class->set_property = gate_port_probe_set_property;

  properties[PROP_HOST] =
    g_param_spec_string ("host", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CA_FILE] =
    g_param_spec_string ("ca-file", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PINNED_FINGERPRINT] =
    g_param_spec_string ("pinned-fingerprint", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL, 1, 600, DEFAULT_TIMEOUT_SECONDS,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_CANDIDATE_FINISHED] =
    g_signal_new ("candidate-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, GATE_TYPE_PORT_PROBE_RESULT | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
gate_port_probe_init (GatePortProbe *self)
{
  self->timeout = DEFAULT_TIMEOUT_SECONDS;
}

GatePortProbe *
gate_port_probe_new (const char *host)
{
  g_return_val_if_fail (host != NULL && *host != '\0', NULL);

  return g_object_new (GATE_TYPE_PORT_PROBE, "host", host, NULL);
}

const char *
gate_port_probe_get_host (GatePortProbe *self)
{
  g_return_val_if_fail (GATE_IS_PORT_PROBE (self), NULL);
  return self->host;
}

void
gate_port_probe_set_ca_file (GatePortProbe *self, const char *ca_file)
{
  g_return_if_fail (GATE_IS_PORT_PROBE (self));

  if (g_strcmp0 (self->ca_file, ca_file) == 0)
    return;
  g_free (self->ca_file);
  self->ca_file = g_strdup (ca_file);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CA_FILE]);
}

const char *
gate_port_probe_get_ca_file (GatePortProbe *self)
{
  g_return_val_if_fail (GATE_IS_PORT_PROBE (self), NULL);
  return self->ca_file;
}

void
gate_port_probe_set_pinned_fingerprint (GatePortProbe *self, const char *sha256_hex)
{
  g_return_if_fail (GATE_IS_PORT_PROBE (self));

  if (g_strcmp0 (self->pinned_fingerprint, sha256_hex) == 0)
    return;
  g_free (self->pinned_fingerprint);
  self->pinned_fingerprint = g_strdup (sha256_hex);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PINNED_FINGERPRINT]);
}

const char *
gate_port_probe_get_pinned_fingerprint (GatePortProbe *self)
{
  g_return_val_if_fail (GATE_IS_PORT_PROBE (self), NULL);
  return self->pinned_fingerprint;
}

void
gate_port_probe_set_timeout (GatePortProbe *self, guint seconds)
{
  g_return_if_fail (GATE_IS_PORT_PROBE (self));
  g_return_if_fail (seconds > 0);

  if (self->timeout == seconds)
    return;
  self->timeout = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
}

guint
gate_port_probe_get_timeout (GatePortProbe *self)
{
  g_return_val_if_fail (GATE_IS_PORT_PROBE (self), 0);
  return self->timeout;
}

void
gate_port_probe_set_candidates (GatePortProbe *self, const GatePortCandidate *candidates, gsize n_candidates)
{
  g_return_if_fail (GATE_IS_PORT_PROBE (self));
  g_return_if_fail (candidates != NULL || n_candidates == 0);

  g_clear_pointer (&self->candidates, g_array_unref);
  if (n_candidates == 0)
    return;
  self->candidates = g_array_sized_new (FALSE, FALSE, sizeof (GatePortCandidate), (guint) n_candidates);
  g_array_append_vals (self->candidates, candidates, (guint) n_candidates);
}

const GatePortCandidate *
gate_port_probe_get_candidates (GatePortProbe *self, gsize *n_candidates)
{
  g_return_val_if_fail (GATE_IS_PORT_PROBE (self), NULL);
  g_return_val_if_fail (n_candidates != NULL, NULL);

  if (self->candidates == NULL)
    return gate_port_probe_get_default_candidates (n_candidates);
  *n_candidates = self->candidates->len;
  return (const GatePortCandidate *) (gpointer) self->candidates->data;
}

static void
probe_run_return (GTask *task)
{
  ProbeRun *run = g_task_get_task_data (task);
  g_autoptr (GPtrArray) results = NULL;

  if (run->returned)
    return;
  run->returned = TRUE;

  /* The sources hold the task: drop them so nothing lingers until the
   * time limit. */
  if (run->deadline_source != NULL)
    g_source_destroy (run->deadline_source);
  g_clear_pointer (&run->deadline_source, g_source_unref);
  if (run->cancelled_source != NULL)
    g_source_destroy (run->cancelled_source);
  g_clear_pointer (&run->cancelled_source, g_source_unref);

  /* Whatever still runs (a QUIT, a candidate past the limit) stops now; its
   * callback only cleans up. */
  g_cancellable_cancel (run->cancellable);

  if (run->caller_cancellable != NULL && g_cancellable_is_cancelled (run->caller_cancellable))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s",
                               _("The connection check was cancelled."));
      return;
    }

  results = g_ptr_array_new_full ((guint) run->n_candidates, (GDestroyNotify) gate_port_probe_result_unref);
  for (gsize i = 0; i < run->n_candidates; i++)
    g_ptr_array_add (results, gate_port_probe_result_ref (run->results[i]));
  g_task_return_pointer (task, g_steal_pointer (&results), (GDestroyNotify) g_ptr_array_unref);
}

static void
candidate_finish (GTask *task, gsize index, GError *error /* owned */)
{
  GatePortProbe *self = g_task_get_source_object (task);
  ProbeRun *run = g_task_get_task_data (task);
  GateSmtpClient *client = run->clients[index];
  GatePortProbeResult *result;

  g_assert (run->results[index] == NULL);

  result = gate_port_probe_result_new (&run->candidates[index]);
  result->elapsed_ms = (guint) ((g_get_monotonic_time () - run->start_us) / 1000);
  result->error = error;
  if (error == NULL)
    {
      GateSmtpCapabilities *caps = gate_smtp_client_get_capabilities (client);
      GateTlsInfo *tls_info = gate_smtp_client_get_tls_info (client);

      if (tls_info != NULL)
        result->tls_info = gate_tls_info_ref (tls_info);
      if (caps != NULL)
        {
          result->auth_mechanisms = g_strdupv ((char **) gate_smtp_capabilities_get_auth_mechanisms (caps));
          result->server_name = g_strdup (gate_smtp_capabilities_get_server_name (caps));
        }
    }
  run->results[index] = result;
  run->n_unfinished--;

  g_signal_emit (self, signals[SIGNAL_CANDIDATE_FINISHED], 0, result);
}

static void
quit_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CandidateOp *op = user_data;
  ProbeRun *run = g_task_get_task_data (op->task);

  /* A failed QUIT does not change what the candidate showed. */
  gate_smtp_client_quit_finish (GATE_SMTP_CLIENT (source), res, NULL);
  run->n_quitting--;
  if (run->n_unfinished == 0 && run->n_quitting == 0)
    probe_run_return (op->task);
  candidate_op_free (op);
}

static void
connect_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CandidateOp *op = user_data;
  GateSmtpClient *client = GATE_SMTP_CLIENT (source);
  ProbeRun *run = g_task_get_task_data (op->task);
  g_autoptr (GError) error = NULL;
  gboolean reached;

  reached = gate_smtp_client_connect_finish (client, res, &error);
  if (run->returned)
    {
      /* Too late: the candidate already counted as timed out. */
      if (reached)
        gate_smtp_client_close (client);
      candidate_op_free (op);
      return;
    }

  candidate_finish (op->task, op->index, g_steal_pointer (&error));

  if (reached)
    {
      CandidateOp *quit_op = g_new0 (CandidateOp, 1);

      quit_op->task = g_object_ref (op->task);
      quit_op->index = op->index;
      run->n_quitting++;
      gate_smtp_client_quit_async (client, run->cancellable, quit_cb, quit_op);
    }
  else
    {
      gate_smtp_client_close (client);
    }

  /* Each server hears its QUIT before the run ends (within the limit). */
  if (run->n_unfinished == 0 && run->n_quitting == 0)
    probe_run_return (op->task);
  candidate_op_free (op);
}

static gboolean
deadline_cb (gpointer user_data)
{
  GTask *task = user_data;
  ProbeRun *run = g_task_get_task_data (task);

  for (gsize i = 0; i < run->n_candidates; i++)
    {
      GateSmtpErrorContext context = { 0 };

      if (run->results[i] != NULL)
        continue;

      context.stage = gate_smtp_client_get_stage (run->clients[i]);
      if (context.stage == GATE_SMTP_STAGE_NONE)
        context.stage = GATE_SMTP_STAGE_CONNECT;
      context.host = gate_smtp_client_get_host (run->clients[i]);
      context.port = run->candidates[i].port;
      candidate_finish (task, i, gate_smtp_error_new (GATE_SMTP_ERROR_TIMED_OUT, &context));
    }

  probe_run_return (task);
  return G_SOURCE_REMOVE;
}

static gboolean
caller_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  /* Return on the task's own context as soon as the caller cancels, even if
   * a candidate is slow to notice. */
  probe_run_return (G_TASK (user_data));
  return G_SOURCE_REMOVE;
}

void
gate_port_probe_run_async (GatePortProbe *self,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  const GatePortCandidate *candidates;
  ProbeRun *run;

  g_return_if_fail (GATE_IS_PORT_PROBE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gate_port_probe_run_async);

  run = g_new0 (ProbeRun, 1);
  candidates = gate_port_probe_get_candidates (self, &run->n_candidates);
  run->candidates = g_memdup2 (candidates, run->n_candidates * sizeof (GatePortCandidate));
  run->clients = g_new0 (GateSmtpClient *, run->n_candidates);
  run->results = g_new0 (GatePortProbeResult *, run->n_candidates);
  run->n_unfinished = run->n_candidates;
  run->cancellable = g_cancellable_new ();
  run->start_us = g_get_monotonic_time ();
  g_task_set_task_data (task, run, probe_run_free);

  if (cancellable != NULL)
    {
      run->caller_cancellable = g_object_ref (cancellable);
      run->cancelled_source = g_cancellable_source_new (cancellable);
      g_task_attach_source (task, run->cancelled_source, (GSourceFunc) (GCallback) caller_cancelled_cb);
    }

  run->deadline_source = g_timeout_source_new_seconds (self->timeout);
  g_task_attach_source (task, run->deadline_source, deadline_cb);

  for (gsize i = 0; i < run->n_candidates; i++)
    {
      GateSmtpClient *client;
      CandidateOp *op;

      client = gate_smtp_client_new (self->host, run->candidates[i].port, run->candidates[i].security);
      if (self->ca_file != NULL)
        gate_smtp_client_set_ca_file (client, self->ca_file);
      if (self->pinned_fingerprint != NULL)
        gate_smtp_client_set_pinned_fingerprint (client, self->pinned_fingerprint);
      /* No stage may outlast the whole probe. */
      gate_smtp_client_set_timeouts (client, self->timeout, self->timeout, self->timeout);
      run->clients[i] = client;

      op = g_new0 (CandidateOp, 1);
      op->task = g_object_ref (task);
      op->index = i;
      gate_smtp_client_connect_async (client, run->cancellable, connect_cb, op);
    }

  if (run->n_candidates == 0)
    probe_run_return (task);
}

GPtrArray *
gate_port_probe_run_finish (GatePortProbe *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GATE_IS_PORT_PROBE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gate_port_probe_run_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- choosing ---- */

/* 2: the submission ports networks rarely block; 1: a relay service's extra
 * ports; 0: 25 (often blocked or throttled), 80 and 443 (web ports, a last
 * resort through strict firewalls) and anything else. */
static int
port_rank (guint16 port)
{
  switch (port)
    {
    case 587:
    case 2525:
    case 465:
      return 2;
    case 8025:
    case 8465:
      return 1;
    default:
      return 0;
    }
}

static gboolean
offers_auth (const GatePortProbeResult *result)
{
  return result->auth_mechanisms != NULL && result->auth_mechanisms[0] != NULL;
}

/* Negative when @a is better than @b. */
static int
compare_candidates (const GatePortProbeResult *a, const GatePortProbeResult *b)
{
  int diff;

  diff = (int) gate_port_probe_result_is_encrypted (b) - (int) gate_port_probe_result_is_encrypted (a);
  if (diff != 0)
    return diff;
  diff = (int) offers_auth (b) - (int) offers_auth (a);
  if (diff != 0)
    return diff;
  diff = port_rank (b->candidate.port) - port_rank (a->candidate.port);
  if (diff != 0)
    return diff;
  if (a->elapsed_ms != b->elapsed_ms)
    return a->elapsed_ms < b->elapsed_ms ? -1 : 1;
  return 0;
}

GatePortProbeResult *
gate_port_probe_choose_best (GPtrArray *results, char **explanation)
{
  GatePortProbeResult *best = NULL;
  gboolean tie = FALSE;
  gboolean any_certificate_problem = FALSE;
  g_autoptr (GString) text = NULL;

  g_return_val_if_fail (results != NULL, NULL);

  for (guint i = 0; i < results->len; i++)
    {
      GatePortProbeResult *result = g_ptr_array_index (results, i);

      if (!gate_port_probe_result_get_reached (result))
        {
          if (g_error_matches (result->error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED))
            any_certificate_problem = TRUE;
          continue;
        }
      if (best == NULL || compare_candidates (result, best) < 0)
        best = result;
    }

  if (explanation == NULL)
    return best != NULL ? gate_port_probe_result_ref (best) : NULL;

  text = g_string_new (NULL);

  if (best == NULL)
    {
      if (any_certificate_problem)
        g_string_append (text, _("No port could be used: the server answered, but its certificate "
                                 "was not trusted. See the reason in the table; if you know this "
                                 "server, check its certificate’s fingerprint with its "
                                 "administrator and pin it."));
      else
        g_string_append (text, _("None of the ports could be reached. Check the server name and "
                                 "your internet connection. If both are right, a firewall on "
                                 "this network may block outgoing mail: ask the network’s "
                                 "administrator, or try from another network."));
      *explanation = g_string_free (g_steal_pointer (&text), FALSE);
      return NULL;
    }

  for (guint i = 0; i < results->len; i++)
    {
      GatePortProbeResult *result = g_ptr_array_index (results, i);

      if (result != best && gate_port_probe_result_get_reached (result)
          && gate_port_probe_result_is_encrypted (result) == gate_port_probe_result_is_encrypted (best)
          && offers_auth (result) == offers_auth (best)
          && port_rank (result->candidate.port) == port_rank (best->candidate.port))
        tie = TRUE;
    }

  /* TRANSLATORS: %u is a port number, %s a security mode such as "STARTTLS". */
  g_string_append_printf (text, _("Use port %u with %s."), best->candidate.port,
                          gate_smtp_security_get_label (best->candidate.security));
  g_string_append_c (text, ' ');

  if (gate_port_probe_result_is_encrypted (best))
    g_string_append (text, _("The connection is encrypted."));
  else
    g_string_append (text, _("No port could be reached with encryption, so your password and "
                             "messages would cross the network unprotected. Ask the service "
                             "which secure ports it offers."));
  g_string_append_c (text, ' ');

  if (offers_auth (best))
    g_string_append (text, _("The server offers sign-in there."));
  else
    g_string_append (text, _("The server does not offer sign-in there, so it may refuse to "
                             "send mail for you."));
  g_string_append_c (text, ' ');

  switch (port_rank (best->candidate.port))
    {
    case 2:
      g_string_append (text, _("Networks rarely block this port."));
      break;
    case 1:
      g_string_append (text, _("This is one of the service’s extra ports, for networks that "
                               "block the usual ones."));
      break;
    default:
      if (best->candidate.port == 25)
        g_string_append (text, _("Many home and mobile networks block or slow down port 25, but "
                                 "no better port could be reached here."));
      else if (best->candidate.port == 80 || best->candidate.port == 443)
        g_string_append (text, _("This port is usually kept for the web; it is a last resort "
                                 "when a firewall lets nothing else through."));
      else
        g_string_append (text, _("It is not one of the usual mail ports, but it works from here."));
      break;
    }
  g_string_append_c (text, ' ');

  if (tie)
    /* TRANSLATORS: %u is a time in milliseconds. */
    g_string_append_printf (text, _("Of the equally good ports it answered fastest, in %u ms."),
                            best->elapsed_ms);
  else
    /* TRANSLATORS: %u is a time in milliseconds. */
    g_string_append_printf (text, _("It answered in %u ms."), best->elapsed_ms);

  *explanation = g_string_free (g_steal_pointer (&text), FALSE);
  return gate_port_probe_result_ref (best);
}
