/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-relay"

#include "config.h"

#include "gate-relay.h"

#include <glib/gi18n-lib.h>

#include "gate-local-certificate.h"
#include "gate-secret-store.h"

struct _GateRelay
{
  GObject parent_instance;

  /* Configuration */
  GateProfile *profile;
  char *password;
  GateForwarderClientFactory factory;
  gpointer factory_data;
  GDestroyNotify factory_destroy;
  GPtrArray *listen;
  GPtrArray *listen_tls;
  GPtrArray *allowed;
  char *spool_path;
  gboolean rewrite_set;
  char *rewrite_sender;
  gboolean device_settings_set; /* by the caller: the profile's are not used */
  gboolean device_starttls;
  char *device_tls_cert;
  char *device_tls_key;
  char *device_user;
  char *device_password;
  gboolean device_auth_without_tls;
  gboolean device_auth_required;
  guint max_connections;
  guint rate_per_hour;
  gboolean max_connections_set; /* by the caller: the profile's is not used */
  gboolean rate_set;
  guint retry_base;
  guint retry_max;
  guint max_age;
  guint grace_period;

  /* While running */
  char *owner_note; /* the line `postgate-cli queue list` shows, or NULL */
  GateSpool *spool;
  GateRelayServer *server;
  GateForwarder *forwarder;
  char *tls_fingerprint;
  gboolean starting;
  gboolean running;
  GTask *stop_task;
};

G_DEFINE_FINAL_TYPE (GateRelay, gate_relay, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_RUNNING,
  PROP_QUEUE_LENGTH,
  PROP_UPSTREAM_CONNECTED,
  PROP_UPSTREAM_STATE,
  PROP_UPSTREAM_PROBLEM,
  PROP_PACED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_ACCEPTED,
  SIGNAL_DELIVERED,
  SIGNAL_DEFERRED,
  SIGNAL_FAILED,
  SIGNAL_RECIPIENT_FAILED,
  SIGNAL_CLIENT_REFUSED,
  SIGNAL_LOG,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
wipe_password (GateRelay *self)
{
  g_clear_pointer (&self->password, gate_secret_free);
}

GateRelay *
gate_relay_new (void)
{
  return g_object_new (GATE_TYPE_RELAY, NULL);
}

static GateSmtpClient *
profile_client_factory (gpointer user_data)
{
  GateRelay *self = user_data;

  return gate_profile_create_client (self->profile, self->password);
}

void
gate_relay_set_profile (GateRelay *self, GateProfile *profile, const char *password)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  g_return_if_fail (profile == NULL || GATE_IS_PROFILE (profile));

  g_set_object (&self->profile, profile);
  wipe_password (self);
  self->password = g_strdup (password);
}

/* Left as written: formatted, the quark's name would get spaces. */
/* clang-format off */
G_DEFINE_QUARK (gate-relay-error-quark, gate_relay_error)
/* clang-format on */

void
gate_relay_set_device_tls (GateRelay *self, gboolean starttls, const char *cert_file, const char *key_file)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  g_return_if_fail (key_file == NULL || cert_file != NULL);

  self->device_settings_set = TRUE;
  self->device_starttls = starttls;
  g_free (self->device_tls_cert);
  self->device_tls_cert = g_strdup (cert_file);
  g_free (self->device_tls_key);
  self->device_tls_key = g_strdup (key_file);
}

GateRelaySignInProblem
gate_relay_check_sign_in (gboolean secured, gboolean has_user, gboolean has_password, gboolean required,
                          gboolean allow_without_tls)
{
  if (has_user != has_password)
    return GATE_RELAY_SIGN_IN_HALF_GIVEN;
  if (!has_user && (required || allow_without_tls))
    return GATE_RELAY_SIGN_IN_RULE_WITHOUT_USER;
  /* Without TLS, sign-in is offered only when the user allows it in plain
   * text: otherwise it would never be offered at all. */
  if (has_user && !secured && !allow_without_tls)
    return GATE_RELAY_SIGN_IN_NEVER_OFFERED;
  return GATE_RELAY_SIGN_IN_USABLE;
}

void
gate_relay_set_device_credentials (GateRelay *self, const char *username, const char *password,
                                   gboolean allow_without_tls, gboolean required)
{
  g_return_if_fail (GATE_IS_RELAY (self));

  self->device_settings_set = TRUE;
  g_free (self->device_user);
  self->device_user = g_strdup (username);
  g_clear_pointer (&self->device_password, gate_secret_free);
  self->device_password = username != NULL ? g_strdup (password != NULL ? password : "") : NULL;
  self->device_auth_without_tls = username != NULL && allow_without_tls;
  self->device_auth_required = username != NULL && required;
}

void
gate_relay_set_client_factory (GateRelay *self, GateForwarderClientFactory factory, gpointer user_data,
                               GDestroyNotify destroy)
{
  g_return_if_fail (GATE_IS_RELAY (self));

  if (self->factory_destroy != NULL)
    self->factory_destroy (self->factory_data);
  self->factory = factory;
  self->factory_data = user_data;
  self->factory_destroy = destroy;
}

GateProfile *
gate_relay_get_profile (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), NULL);
  return self->profile;
}

void
gate_relay_add_listen (GateRelay *self, const char *listen)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  g_return_if_fail (listen != NULL);
  g_ptr_array_add (self->listen, g_strdup (listen));
}

void
gate_relay_add_listen_tls (GateRelay *self, const char *listen)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  g_return_if_fail (listen != NULL);
  g_ptr_array_add (self->listen_tls, g_strdup (listen));
}

void
gate_relay_add_allowed (GateRelay *self, const char *cidr)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  g_return_if_fail (cidr != NULL);
  g_ptr_array_add (self->allowed, g_strdup (cidr));
}

void
gate_relay_set_spool_path (GateRelay *self, const char *path)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  g_free (self->spool_path);
  self->spool_path = g_strdup (path);
}

void
gate_relay_set_sender_rewrite (GateRelay *self, const char *verified_sender)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  self->rewrite_set = TRUE;
  g_free (self->rewrite_sender);
  self->rewrite_sender = g_strdup (verified_sender);
}

void
gate_relay_set_max_connections (GateRelay *self, guint max_connections)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  self->max_connections = max_connections;
  self->max_connections_set = TRUE;
  if (self->forwarder != NULL)
    gate_forwarder_set_max_connections (self->forwarder, max_connections);
}

void
gate_relay_set_rate_per_hour (GateRelay *self, guint rate)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  self->rate_per_hour = rate;
  self->rate_set = TRUE;
  if (self->forwarder != NULL)
    gate_forwarder_set_rate_per_hour (self->forwarder, rate);
}

void
gate_relay_set_retry (GateRelay *self, guint base_seconds, guint max_seconds)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  self->retry_base = base_seconds;
  self->retry_max = max_seconds;
  if (self->forwarder != NULL)
    gate_forwarder_set_retry (self->forwarder, base_seconds, max_seconds);
}

void
gate_relay_set_max_age (GateRelay *self, guint seconds)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  self->max_age = seconds;
  if (self->forwarder != NULL)
    gate_forwarder_set_max_age (self->forwarder, seconds);
}

void
gate_relay_set_grace_period (GateRelay *self, guint seconds)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  self->grace_period = seconds;
  if (self->forwarder != NULL)
    gate_forwarder_set_grace_period (self->forwarder, seconds);
}

char *
gate_relay_dup_spool_path (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), NULL);

  if (self->spool != NULL)
    return g_strdup (gate_spool_get_path (self->spool));
  if (self->spool_path != NULL)
    return g_strdup (self->spool_path);
  return gate_spool_default_path (self->profile != NULL ? gate_profile_get_id (self->profile) : NULL);
}

/* ---- Passing the parts' signals on */

static void
message_accepted_cb (GateRelayServer *server, GateSpoolEntry *entry, GateRelay *self)
{
  g_signal_emit (self, signals[SIGNAL_ACCEPTED], 0, entry);
}

static void
client_refused_cb (GateRelayServer *server, const char *address, const char *reason, GateRelay *self)
{
  g_signal_emit (self, signals[SIGNAL_CLIENT_REFUSED], 0, address, reason);
}

static void
server_log_cb (GateRelayServer *server, const char *line, GateRelay *self)
{
  g_signal_emit (self, signals[SIGNAL_LOG], 0, line);
}

static void
delivered_cb (GateForwarder *forwarder, const char *id, const char *reply, GateRelay *self)
{
  g_signal_emit (self, signals[SIGNAL_DELIVERED], 0, id, reply);
}

static void
deferred_cb (GateForwarder *forwarder, const char *id, const char *reason, gint64 next, GateRelay *self)
{
  g_signal_emit (self, signals[SIGNAL_DEFERRED], 0, id, reason, next);
}

static void
failed_cb (GateForwarder *forwarder, const char *id, const char *reason, GateRelay *self)
{
  g_signal_emit (self, signals[SIGNAL_FAILED], 0, id, reason);
}

static void
recipient_failed_cb (GateForwarder *forwarder, const char *id, const char *rcpt, const char *reason,
                     GateRelay *self)
{
  g_signal_emit (self, signals[SIGNAL_RECIPIENT_FAILED], 0, id, rcpt, reason);
}

static char *
paced_line (GateRelay *self)
{
  return g_strdup_printf (
      _ ("Holding mail back to keep to the limit of %u messages an hour; the rest goes out "
         "at about %u a minute"),
      self->rate_per_hour, MAX (self->rate_per_hour / 60, 1));
}

/* What `postgate-cli queue list`, which sees the queue and not the relay,
 * shows above the messages: why they wait, when it is not their own doing
 * (mail waiting behind an unreachable server or the hourly cap looks like a
 * fault otherwise).  Written only when it changes. */
static void
update_owner_note (GateRelay *self)
{
  g_autofree char *note = NULL;
  GateUpstreamProblem problem;

  if (self->spool == NULL || self->forwarder == NULL)
    return;
  problem = gate_forwarder_get_upstream_problem (self->forwarder);
  switch (problem)
    {
      case GATE_UPSTREAM_PROBLEM_UNREACHABLE:
        note = g_strdup_printf ("%s %s", gate_forwarder_get_upstream_state (self->forwarder),
                                _ ("Messages wait in the queue until it can be reached."));
        break;
      case GATE_UPSTREAM_PROBLEM_SECURITY:
      case GATE_UPSTREAM_PROBLEM_SIGN_IN:
        {
          const char *next_step = gate_forwarder_get_upstream_next_step (self->forwarder);

          /* Waiting alone will not mend these: say what the user can do. */
          const char *waiting
              = problem == GATE_UPSTREAM_PROBLEM_SIGN_IN
                    ? _ ("Messages wait in the queue; the relay tries again by itself, and at once when the "
                         "password is corrected.")
                    : _ ("Messages wait in the queue; the relay tries again by itself.");

          note = g_strdup_printf ("%s%s%s %s", gate_forwarder_get_upstream_state (self->forwarder),
                                  next_step != NULL ? " " : "", next_step != NULL ? next_step : "", waiting);
          break;
        }
      case GATE_UPSTREAM_PROBLEM_NONE:
        break;
    }
  if (note == NULL && gate_forwarder_get_paced (self->forwarder))
    note = paced_line (self);
  if (g_strcmp0 (note, self->owner_note) == 0)
    return;
  gate_spool_set_owner_note (self->spool, note);
  g_free (self->owner_note);
  self->owner_note = g_steal_pointer (&note);
}

static void
forwarder_notify_cb (GateForwarder *forwarder, GParamSpec *pspec, GateRelay *self)
{
  if (g_strcmp0 (pspec->name, "queue-length") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUEUE_LENGTH]);
  else if (g_strcmp0 (pspec->name, "upstream-connected") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPSTREAM_CONNECTED]);
  else if (g_strcmp0 (pspec->name, "upstream-state") == 0)
    {
      update_owner_note (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPSTREAM_STATE]);
    }
  else if (g_strcmp0 (pspec->name, "upstream-problem") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPSTREAM_PROBLEM]);
  else if (g_strcmp0 (pspec->name, "paced") == 0)
    {
      /* Without a word, mail piling up behind the cap looks like a fault. */
      if (gate_forwarder_get_paced (forwarder))
        {
          g_autofree char *line = paced_line (self);

          g_signal_emit (self, signals[SIGNAL_LOG], 0, line);
        }
      else
        g_signal_emit (self, signals[SIGNAL_LOG], 0, _ ("The hourly limit holds no mail back any more"));
      update_owner_note (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PACED]);
    }
}

/* ---- Start and stop */

static void
release_parts (GateRelay *self)
{
  if (self->server != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->server, self);
      gate_relay_server_stop (self->server);
    }
  if (self->forwarder != NULL)
    g_signal_handlers_disconnect_by_data (self->forwarder, self);
  g_clear_object (&self->server);
  g_clear_object (&self->forwarder);
  g_clear_object (&self->spool);
  g_clear_pointer (&self->tls_fingerprint, g_free);
  g_clear_pointer (&self->owner_note, g_free);
}

/* A setting of the profile that cannot be used (a profiles file edited by
 * hand, certificate files moved since): the error names the profile. */
static void
name_profile_in_error (GateRelay *self, GError **error)
{
  g_prefix_error (error, _ ("The profile “%s” has a relay setting that cannot be used: "),
                  gate_profile_get_name (self->profile));
}

/* What a start reads before the relay can run: the devices' settings, the
 * caller's or the profile's, then their password and certificate. */
typedef struct
{
  gboolean from_profile;
  gboolean starttls;
  GStrv listen_tls; /* where devices connect with TLS from the first byte */
  gboolean listen_tls_from_profile;
  char *tls_cert;
  char *tls_key;
  char *user;
  char *password;
  gboolean allow_without_tls;
  gboolean required;
  GateLocalCertificate *local;
  GTlsCertificate *certificate;
  char *fingerprint;
} StartData;

static void
start_data_free (gpointer pointer)
{
  StartData *data = pointer;

  g_strfreev (data->listen_tls);
  g_free (data->tls_cert);
  g_free (data->tls_key);
  g_free (data->user);
  gate_secret_free (data->password);
  g_clear_object (&data->local);
  g_clear_object (&data->certificate);
  g_free (data->fingerprint);
  g_free (data);
}

static StartData *
start_data_new (GateRelay *self)
{
  StartData *data = g_new0 (StartData, 1);
  GateProfile *profile = self->profile;

  /* As the plain addresses: the caller's list wins over the profile's. */
  if (self->listen_tls->len > 0)
    data->listen_tls = g_strdupv ((char **)self->listen_tls->pdata);
  else if (profile != NULL)
    {
      data->listen_tls = g_strdupv ((char **)gate_profile_get_relay_listen_tls (profile));
      data->listen_tls_from_profile = data->listen_tls[0] != NULL;
    }
  else
    data->listen_tls = g_new0 (char *, 1);

  if (self->device_settings_set || profile == NULL)
    {
      data->starttls = self->device_starttls;
      data->tls_cert = g_strdup (self->device_tls_cert);
      data->tls_key = g_strdup (self->device_tls_key);
      data->user = g_strdup (self->device_user);
      data->password = g_strdup (self->device_password);
      data->allow_without_tls = self->device_auth_without_tls;
      data->required = self->device_auth_required;
      return data;
    }

  data->from_profile = TRUE;
  /* As saved: `profile edit` turns STARTTLS on with a certificate unless
   * told otherwise, when the certificate is for the TLS addresses alone. */
  data->starttls = gate_profile_get_relay_starttls (profile);
  if (*gate_profile_get_relay_tls_cert (profile) != '\0')
    {
      data->tls_cert = g_strdup (gate_profile_get_relay_tls_cert (profile));
      if (*gate_profile_get_relay_tls_key (profile) != '\0')
        data->tls_key = g_strdup (gate_profile_get_relay_tls_key (profile));
    }
  /* Without a user, the sign-in rules mean nothing: devices do not sign in.
   * The password is read from the keyring next. */
  if (*gate_profile_get_relay_device_user (profile) != '\0')
    {
      data->user = g_strdup (gate_profile_get_relay_device_user (profile));
      data->allow_without_tls = gate_profile_get_relay_allow_plain_sign_in (profile);
      data->required = gate_profile_get_relay_require_sign_in (profile);
    }
  return data;
}

/* Listens on each of @addresses, plain or with TLS from the first byte. */
static gboolean
listen_on (GateRelay *self, const char *const *addresses, gboolean tls_on_connect, gboolean from_profile,
           GError **error)
{
  for (guint i = 0; addresses[i] != NULL; i++)
    if (!gate_relay_server_listen_string (self->server, addresses[i], tls_on_connect, error))
      {
        /* Not an address in use: only a value that is not an address. */
        if (from_profile && g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
          name_profile_in_error (self, error);
        return FALSE;
      }
  return TRUE;
}

/* The last step of a start, once the devices' settings are read: nothing in
 * it waits. */
static gboolean
start_parts (GateRelay *self, StartData *data, GError **error)
{
  static const char *const default_listen[] = { GATE_RELAY_DEFAULT_LISTEN, NULL };
  g_autofree char *path = NULL;
  const char *rewrite = NULL;
  const char *const *listen = default_listen;
  const char *const *allowed = NULL;
  gboolean listen_from_profile = FALSE;
  gboolean allowed_from_profile = FALSE;

  path = gate_relay_dup_spool_path (self);
  self->spool = gate_spool_open (path, GATE_SPOOL_OPEN_OWNER | GATE_SPOOL_OPEN_WATCH, error);
  if (self->spool == NULL)
    return FALSE;

  self->server = gate_relay_server_new (self->spool);
  /* What the caller gave wins over the profile, list by list. */
  if (self->allowed->len > 0)
    allowed = (const char *const *)self->allowed->pdata;
  else if (self->profile != NULL)
    {
      allowed = gate_profile_get_relay_allow (self->profile);
      allowed_from_profile = TRUE;
    }
  if (self->listen->len > 0)
    listen = (const char *const *)self->listen->pdata;
  else if (self->profile != NULL && gate_profile_get_relay_listen (self->profile)[0] != NULL)
    {
      listen = gate_profile_get_relay_listen (self->profile);
      listen_from_profile = TRUE;
    }
  for (guint i = 0; allowed != NULL && allowed[i] != NULL; i++)
    if (!gate_relay_server_add_allowed (self->server, allowed[i], error))
      {
        /* Not an address in use: only a value that is not an address. */
        if (allowed_from_profile && g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
          name_profile_in_error (self, error);
        goto fail;
      }

  if (self->rewrite_set)
    rewrite = self->rewrite_sender;
  else if (self->profile != NULL && gate_profile_get_rewrite_sender (self->profile)
           && gate_profile_get_sender_address (self->profile)[0] != '\0')
    rewrite = gate_profile_get_sender_address (self->profile);
  gate_relay_server_set_sender_rewrite (self->server, rewrite);
  gate_relay_server_set_tls_certificate (self->server, data->certificate);
  gate_relay_server_set_starttls (self->server, data->starttls);
  gate_relay_server_set_credentials (self->server, data->user, data->password, data->allow_without_tls,
                                     data->required);

  g_signal_connect (self->server, "message-accepted", G_CALLBACK (message_accepted_cb), self);
  g_signal_connect (self->server, "client-refused", G_CALLBACK (client_refused_cb), self);
  g_signal_connect (self->server, "log", G_CALLBACK (server_log_cb), self);

  if (!listen_on (self, listen, FALSE, listen_from_profile, error)
      || !listen_on (self, (const char *const *)data->listen_tls, TRUE, data->listen_tls_from_profile, error))
    goto fail;
  for (guint i = 0; allowed != NULL && allowed[i] != NULL; i++)
    gate_relay_server_log (self->server, _ ("Devices in %s may send mail through the relay too"), allowed[i]);

  self->forwarder = gate_forwarder_new (self->spool);
  if (self->factory != NULL)
    gate_forwarder_set_client_factory (self->forwarder, self->factory, self->factory_data, NULL);
  else
    gate_forwarder_set_client_factory (self->forwarder, profile_client_factory, self, NULL);
  if (self->profile != NULL && !self->max_connections_set
      && gate_profile_get_relay_connections (self->profile) > 0)
    self->max_connections = gate_profile_get_relay_connections (self->profile);
  if (self->profile != NULL && !self->rate_set && gate_profile_get_relay_rate (self->profile) >= 0)
    self->rate_per_hour = (guint)gate_profile_get_relay_rate (self->profile);
  gate_forwarder_set_max_connections (self->forwarder, self->max_connections);
  gate_forwarder_set_rate_per_hour (self->forwarder, self->rate_per_hour);
  gate_forwarder_set_retry (self->forwarder, self->retry_base, self->retry_max);
  gate_forwarder_set_max_age (self->forwarder, self->max_age);
  gate_forwarder_set_grace_period (self->forwarder, self->grace_period);
  g_signal_connect (self->forwarder, "delivered", G_CALLBACK (delivered_cb), self);
  g_signal_connect (self->forwarder, "deferred", G_CALLBACK (deferred_cb), self);
  g_signal_connect (self->forwarder, "failed", G_CALLBACK (failed_cb), self);
  g_signal_connect (self->forwarder, "recipient-failed", G_CALLBACK (recipient_failed_cb), self);
  g_signal_connect (self->forwarder, "notify", G_CALLBACK (forwarder_notify_cb), self);
  gate_forwarder_start (self->forwarder);
  return TRUE;

fail:
  release_parts (self);
  return FALSE;
}

/* Whether devices can secure their connection one way or the other: then
 * the relay needs its certificate, and devices may sign in inside TLS. */
static gboolean
offers_tls (StartData *data)
{
  return data->starttls || data->listen_tls[0] != NULL;
}

static gboolean
check_sign_in (GateRelay *self, StartData *data, GError **error)
{
  const char *problem;

  switch (gate_relay_check_sign_in (offers_tls (data), data->user != NULL, data->password != NULL,
                                    data->required, data->allow_without_tls))
    {
      case GATE_RELAY_SIGN_IN_USABLE:
        return TRUE;
      case GATE_RELAY_SIGN_IN_HALF_GIVEN:
        problem = _ ("Devices need both a user name and a password to sign in.");
        break;
      case GATE_RELAY_SIGN_IN_RULE_WITHOUT_USER:
        problem = _ ("Rules for how devices sign in need a user name and a password for them.");
        break;
      case GATE_RELAY_SIGN_IN_NEVER_OFFERED:
      default:
        problem = _ ("Devices can sign in only over a secured connection (STARTTLS or TLS), and both are "
                     "turned off.");
        break;
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, problem);
  if (data->from_profile)
    name_profile_in_error (self, error);
  return FALSE;
}

static void relay_log (GateRelay *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
relay_log (GateRelay *self, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  g_signal_emit (self, signals[SIGNAL_LOG], 0, line);
}

/* What devices are told to expect, for the relay's log. */
static void
log_device_settings (GateRelay *self, StartData *data)
{
  if (data->local != NULL && gate_local_certificate_get_created (data->local))
    relay_log (self, _ ("Made the relay's certificate for secure connections: %s"),
               gate_local_certificate_get_certificate_path (data->local));
  if (self->tls_fingerprint != NULL && data->starttls)
    /* Translators: %s is a long series of hexadecimal pairs (AB:CD:…). */
    relay_log (self,
               _ ("Devices can secure their connection (STARTTLS). The relay's certificate has the SHA-256 "
                  "fingerprint %s"),
               self->tls_fingerprint);
  else if (self->tls_fingerprint != NULL)
    /* Translators: %s is a long series of hexadecimal pairs (AB:CD:…). */
    relay_log (self,
               _ ("Devices connect secured from the start (TLS) where the relay listens so. The relay's "
                  "certificate has the SHA-256 fingerprint %s"),
               self->tls_fingerprint);
  if (data->user == NULL)
    return;
  if (data->required)
    relay_log (self, _ ("Devices must sign in as “%s” to send mail"), data->user);
  else
    relay_log (self, _ ("Devices may sign in as “%s”"), data->user);
  if (data->allow_without_tls)
    relay_log (self, "%s",
               _ ("Devices may sign in without securing the connection: their password travels "
                  "over the network unprotected"));
}

static void
start_return_error (GTask *task, GError *error)
{
  GateRelay *self = g_task_get_source_object (task);

  self->starting = FALSE;
  g_task_return_error (task, error);
}

static void
finish_start (GTask *task)
{
  GateRelay *self = g_task_get_source_object (task);
  StartData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error)
      || !start_parts (self, data, &error))
    {
      start_return_error (task, error);
      return;
    }
  self->starting = FALSE;
  self->running = TRUE;
  self->tls_fingerprint = g_steal_pointer (&data->fingerprint);
  log_device_settings (self, data);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUEUE_LENGTH]);
  g_task_return_boolean (task, TRUE);
}

static void
certificate_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  StartData *data = g_task_get_task_data (task);
  GError *error = NULL;

  data->certificate = gate_local_certificate_load_finish (GATE_LOCAL_CERTIFICATE (source), result, &error);
  if (data->certificate == NULL)
    {
      start_return_error (task, error);
      return;
    }
  data->fingerprint = g_strdup (gate_local_certificate_get_fingerprint (data->local));
  finish_start (task);
}

static void
load_certificate (GTask *owned_task)
{
  g_autoptr (GTask) task = owned_task;
  GateRelay *self = g_task_get_source_object (task);
  StartData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  GError *error = NULL;

  if (!check_sign_in (self, data, &error))
    {
      start_return_error (task, error);
      return;
    }
  if (data->tls_cert != NULL)
    {
      data->certificate
          = gate_local_certificate_load_files (data->tls_cert, data->tls_key, &data->fingerprint, &error);
      if (data->certificate == NULL)
        {
          /* Moved or changed since the profile was edited. */
          if (data->from_profile)
            name_profile_in_error (self, &error);
          start_return_error (task, error);
          return;
        }
    }
  else if (offers_tls (data))
    {
      g_autofree char *folder = g_build_filename (g_get_user_data_dir (), "postgate", NULL);

      /* Made in a worker thread the first time: a key takes a moment. */
      data->local = gate_local_certificate_new (folder);
      gate_local_certificate_load_async (data->local, cancellable, certificate_loaded_cb,
                                         g_steal_pointer (&task));
      return;
    }
  finish_start (task);
}

static void
device_password_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GateRelay *self = g_task_get_source_object (task);
  StartData *data = g_task_get_task_data (task);
  const char *name = gate_profile_get_name (self->profile);
  g_autoptr (GError) error = NULL;

  data->password = gate_secret_store_lookup_finish (result, &error);
  if (data->password != NULL)
    {
      load_certificate (task);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    start_return_error (task, g_steal_pointer (&error));
  else if (error != NULL)
    start_return_error (task, g_error_new (error->domain, error->code,
                                           _ ("The devices’ password of the profile “%s” could not be read "
                                              "from the keyring: %s"),
                                           name, error->message));
  else if (gate_profile_get_has_relay_password (self->profile))
    start_return_error (task, g_error_new (GATE_RELAY_ERROR, GATE_RELAY_ERROR_DEVICE_PASSWORD_MISSING,
                                           _ ("The devices’ password of the profile “%s” is no longer in the "
                                              "keyring."),
                                           name));
  else
    start_return_error (task, g_error_new (GATE_RELAY_ERROR, GATE_RELAY_ERROR_DEVICE_PASSWORD_MISSING,
                                           _ ("The profile “%s” lets devices sign in, but their password is "
                                              "not saved."),
                                           name));
  g_object_unref (task);
}

void
gate_relay_start_async (GateRelay *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  StartData *data;

  g_return_if_fail (GATE_IS_RELAY (self));
  g_return_if_fail (!self->running && !self->starting);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gate_relay_start_async);
  if (self->profile == NULL && self->factory == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s",
                               _ ("Choose the outgoing server the relay forwards mail to."));
      return;
    }

  data = start_data_new (self);
  g_task_set_task_data (task, data, start_data_free);
  self->starting = TRUE;
  if (data->from_profile && data->user != NULL)
    {
      gate_secret_store_lookup_async (gate_profile_get_id (self->profile), GATE_SECRET_RELAY_PASSWORD,
                                      cancellable, device_password_cb, g_steal_pointer (&task));
      return;
    }
  load_certificate (g_steal_pointer (&task));
}

gboolean
gate_relay_start_finish (GateRelay *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gate_relay_start_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
forwarder_stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GateRelay *self = user_data;
  g_autoptr (GTask) task = g_steal_pointer (&self->stop_task);

  gate_forwarder_stop_finish (GATE_FORWARDER (source), result, NULL);
  if (self->spool != NULL)
    gate_spool_requeue_in_flight (self->spool);
  release_parts (self);
  self->running = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUEUE_LENGTH]);
  g_task_return_boolean (task, TRUE);
  g_object_unref (self);
}

void
gate_relay_stop_async (GateRelay *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (GATE_IS_RELAY (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gate_relay_stop_async);

  if (!self->running || self->stop_task != NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* No new mail from now on; devices whose message was not yet stored get a
   * 421 and send it again later. */
  g_signal_handlers_disconnect_by_data (self->server, self);
  gate_relay_server_stop (self->server);

  self->stop_task = g_steal_pointer (&task);
  gate_forwarder_stop_async (self->forwarder, NULL, forwarder_stopped_cb, g_object_ref (self));
}

gboolean
gate_relay_stop_finish (GateRelay *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gate_relay_stop_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
gate_relay_is_running (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), FALSE);
  return self->running;
}

GateSpool *
gate_relay_get_spool (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), NULL);
  return self->spool;
}

GateRelayServer *
gate_relay_get_server (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), NULL);
  return self->server;
}

GateForwarder *
gate_relay_get_forwarder (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), NULL);
  return self->forwarder;
}

guint16
gate_relay_get_port (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), 0);
  return self->server != NULL ? gate_relay_server_get_port (self->server) : 0;
}

guint
gate_relay_get_queue_length (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), 0);
  return self->forwarder != NULL ? gate_forwarder_get_queue_length (self->forwarder) : 0;
}

gboolean
gate_relay_get_upstream_connected (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), FALSE);
  return self->forwarder != NULL && gate_forwarder_get_upstream_connected (self->forwarder);
}

const char *
gate_relay_get_upstream_state (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), NULL);
  return self->forwarder != NULL ? gate_forwarder_get_upstream_state (self->forwarder)
                                 : _ ("The relay is not running");
}

GateUpstreamProblem
gate_relay_get_upstream_problem (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), GATE_UPSTREAM_PROBLEM_NONE);
  return self->forwarder != NULL ? gate_forwarder_get_upstream_problem (self->forwarder)
                                 : GATE_UPSTREAM_PROBLEM_NONE;
}

void
gate_relay_retry_now (GateRelay *self)
{
  g_return_if_fail (GATE_IS_RELAY (self));
  if (self->forwarder != NULL)
    gate_forwarder_retry_now (self->forwarder);
}

gboolean
gate_relay_get_paced (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), FALSE);
  return self->forwarder != NULL && gate_forwarder_get_paced (self->forwarder);
}

const char *
gate_relay_get_tls_fingerprint (GateRelay *self)
{
  g_return_val_if_fail (GATE_IS_RELAY (self), NULL);
  return self->tls_fingerprint;
}

/* ---- GObject */

static void
gate_relay_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateRelay *self = GATE_RELAY (object);

  switch (prop_id)
    {
      case PROP_RUNNING:
        g_value_set_boolean (value, self->running);
        break;
      case PROP_QUEUE_LENGTH:
        g_value_set_uint (value, gate_relay_get_queue_length (self));
        break;
      case PROP_UPSTREAM_CONNECTED:
        g_value_set_boolean (value, gate_relay_get_upstream_connected (self));
        break;
      case PROP_UPSTREAM_STATE:
        g_value_set_string (value, gate_relay_get_upstream_state (self));
        break;
      case PROP_UPSTREAM_PROBLEM:
        g_value_set_uint (value, gate_relay_get_upstream_problem (self));
        break;
      case PROP_PACED:
        g_value_set_boolean (value, gate_relay_get_paced (self));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_relay_dispose (GObject *object)
{
  GateRelay *self = GATE_RELAY (object);

  release_parts (self);
  g_clear_object (&self->profile);
  if (self->factory_destroy != NULL)
    self->factory_destroy (self->factory_data);
  self->factory = NULL;
  self->factory_destroy = NULL;

  G_OBJECT_CLASS (gate_relay_parent_class)->dispose (object);
}

static void
gate_relay_finalize (GObject *object)
{
  GateRelay *self = GATE_RELAY (object);

  wipe_password (self);
  g_clear_pointer (&self->device_password, gate_secret_free);
  g_free (self->device_tls_cert);
  g_free (self->device_tls_key);
  g_free (self->device_user);
  g_ptr_array_unref (self->listen);
  g_ptr_array_unref (self->listen_tls);
  g_ptr_array_unref (self->allowed);
  g_free (self->spool_path);
  g_free (self->rewrite_sender);

  G_OBJECT_CLASS (gate_relay_parent_class)->finalize (object);
}

static void
gate_relay_class_init (GateRelayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->get_property = gate_relay_get_property;
  object_class->dispose = gate_relay_dispose;
  object_class->finalize = gate_relay_finalize;

  properties[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE, ro);
  properties[PROP_QUEUE_LENGTH] = g_param_spec_uint ("queue-length", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_UPSTREAM_CONNECTED] = g_param_spec_boolean ("upstream-connected", NULL, NULL, FALSE, ro);
  properties[PROP_UPSTREAM_STATE] = g_param_spec_string ("upstream-state", NULL, NULL, NULL, ro);
  properties[PROP_UPSTREAM_PROBLEM]
      = g_param_spec_uint ("upstream-problem", NULL, NULL, GATE_UPSTREAM_PROBLEM_NONE,
                           GATE_UPSTREAM_PROBLEM_SIGN_IN, GATE_UPSTREAM_PROBLEM_NONE, ro);
  properties[PROP_PACED] = g_param_spec_boolean ("paced", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_ACCEPTED] = g_signal_new ("accepted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                           NULL, NULL, G_TYPE_NONE, 1, GATE_TYPE_SPOOL_ENTRY);
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
  signals[SIGNAL_CLIENT_REFUSED]
      = g_signal_new ("client-refused", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_LOG] = g_signal_new ("log", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
gate_relay_init (GateRelay *self)
{
  /* NULL-terminated: read as string vectors, as the profile's lists. */
  self->listen = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  self->listen_tls = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  self->allowed = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  self->max_connections = GATE_FORWARDER_DEFAULT_CONNECTIONS;
  self->rate_per_hour = GATE_FORWARDER_DEFAULT_RATE_PER_HOUR;
  self->retry_base = GATE_FORWARDER_DEFAULT_RETRY_BASE;
  self->retry_max = GATE_FORWARDER_DEFAULT_RETRY_MAX;
  self->max_age = GATE_FORWARDER_DEFAULT_MAX_AGE;
  self->grace_period = 10;
}
