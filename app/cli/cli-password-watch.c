/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-cli"

#include "config.h"

#include "cli-password-watch.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "gate-profile-store.h"
#include "gate-secret-store.h"

/* Often enough that a corrected password is used before the user wonders;
 * a keyring lookup or a file read every few seconds costs nothing. */
#define RECHECK_SECONDS 5

struct _GateCliPasswordWatch
{
  GateRelay *relay;
  GateCliConnectionOptions *options;
  char *keyring_profile_id;
  GateCliPasswordWatchAnnounce announce;
  gulong notify_handler;
  guint recheck_source;
  struct KeyringRead *reading; /* a keyring lookup under way */
  char *profile_user;          /* the profile's user name as last read, for the lookup's end */
};

/* A lookup outlives a watch freed meanwhile: it then finds no watch. */
typedef struct KeyringRead
{
  GateCliPasswordWatch *watch;
  GCancellable *cancellable;
} KeyringRead;

/* A new user name (the profile edited: a new SMTP user at the provider) or
 * a new password: the relay tries them at once. */
static void
take_credentials (GateCliPasswordWatch *watch, const char *user, const char *password)
{
  gboolean user_changed = user != NULL && *user != '\0' && g_strcmp0 (user, watch->options->user) != 0;
  gboolean password_changed
      = password != NULL && *password != '\0' && g_strcmp0 (password, watch->options->password) != 0;

  if (!user_changed && !password_changed)
    return;
  if (user_changed)
    {
      g_free (watch->options->user);
      watch->options->user = g_strdup (user);
    }
  if (password_changed)
    {
      gate_cli_secret_free (watch->options->password);
      watch->options->password = g_strdup (password);
    }
  watch->announce (user_changed ? _ ("The user name for the outgoing server has changed; trying it now")
                                : _ ("The password for the outgoing server has changed; trying it now"));
  gate_relay_retry_now (watch->relay);
}

/* The profile's user name as saved now, or NULL (the profile removed, its
 * file being rewritten): read quietly, the next check reads it again. */
static char *
read_profile_user (const char *profile_id)
{
  g_autoptr (GateProfileStore) store = gate_profile_store_new (NULL);
  GateProfile *profile;

  if (!gate_profile_store_load (store, NULL))
    return NULL;
  profile = gate_profile_store_lookup_by_id (store, profile_id);
  return profile != NULL ? g_strdup (gate_profile_get_username (profile)) : NULL;
}

static void
keyring_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  KeyringRead *reading = user_data;
  GateCliPasswordWatch *watch = reading->watch;
  g_autoptr (GError) error = NULL;
  char *password = gate_secret_store_lookup_finish (result, &error);

  if (watch != NULL)
    {
      watch->reading = NULL;
      /* A keyring out of reach now is tried again at the next check. */
      if (password != NULL)
        take_credentials (watch, watch->profile_user, password);
      else if (error != NULL)
        g_debug ("reading the password again: %s", error->message);
    }
  gate_secret_free (password);
  g_object_unref (reading->cancellable);
  g_free (reading);
}

static gboolean
recheck_cb (gpointer user_data)
{
  GateCliPasswordWatch *watch = user_data;

  if (watch->options->password_file != NULL)
    {
      g_autoptr (GError) error = NULL;
      char *password = gate_cli_read_secret_file (watch->options->password_file, _ ("password"), &error);

      /* A file being rewritten may be briefly empty or missing: the next
       * check reads it again. */
      take_credentials (watch, NULL, password);
      gate_cli_secret_free (password);
    }
  else if (watch->keyring_profile_id != NULL && watch->reading == NULL)
    {
      g_free (watch->profile_user);
      watch->profile_user = read_profile_user (watch->keyring_profile_id);
      watch->reading = g_new0 (KeyringRead, 1);
      watch->reading->watch = watch;
      watch->reading->cancellable = g_cancellable_new ();
      gate_secret_store_lookup_async (watch->keyring_profile_id, GATE_SECRET_PASSWORD,
                                      watch->reading->cancellable, keyring_read_cb, watch->reading);
    }
  return G_SOURCE_CONTINUE;
}

static void
problem_changed_cb (GateRelay *relay, GParamSpec *pspec, gpointer user_data)
{
  GateCliPasswordWatch *watch = user_data;

  if (gate_relay_get_upstream_problem (relay) == GATE_UPSTREAM_PROBLEM_SIGN_IN)
    {
      if (watch->recheck_source == 0)
        watch->recheck_source = g_timeout_add_seconds (RECHECK_SECONDS, recheck_cb, watch);
      return;
    }
  g_clear_handle_id (&watch->recheck_source, g_source_remove);
}

GateCliPasswordWatch *
gate_cli_password_watch_new (GateRelay *relay, GateCliConnectionOptions *options,
                             const char *keyring_profile_id, GateCliPasswordWatchAnnounce announce)
{
  GateCliPasswordWatch *watch = g_new0 (GateCliPasswordWatch, 1);

  watch->relay = relay;
  watch->options = options;
  watch->keyring_profile_id = g_strdup (keyring_profile_id);
  watch->announce = announce;
  /* Nothing to read again: a password typed, piped or in the environment. */
  if (options->password_file != NULL || keyring_profile_id != NULL)
    watch->notify_handler
        = g_signal_connect (relay, "notify::upstream-problem", G_CALLBACK (problem_changed_cb), watch);
  return watch;
}

void
gate_cli_password_watch_free (GateCliPasswordWatch *watch)
{
  if (watch == NULL)
    return;
  g_clear_signal_handler (&watch->notify_handler, watch->relay);
  g_clear_handle_id (&watch->recheck_source, g_source_remove);
  if (watch->reading != NULL)
    {
      watch->reading->watch = NULL;
      g_cancellable_cancel (watch->reading->cancellable);
    }
  g_free (watch->keyring_profile_id);
  g_free (watch->profile_user);
  g_free (watch);
}
