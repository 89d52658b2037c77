/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-platform"

#include "config.h"

#include "gate-secret-store.h"

#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>

/* The Secret Service (GNOME Keyring, KeePassXC, KWallet's bridge) through
 * libsecret.  Items are keyed by profile id and kind, so renaming a profile
 * never orphans its password. */

static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    "io.github.postgate.Postgate.Secret",
    SECRET_SCHEMA_NONE,
    {
        { "profile-id", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { NULL, 0 },
    },
  };

  return &schema;
}

static char *
make_label (GateSecretKind kind, const char *label_name)
{
  if (label_name == NULL || *label_name == '\0')
    label_name = _("unnamed profile");

  switch (kind)
    {
      case GATE_SECRET_API_KEY:
        return g_strdup_printf (_("Postgate API key for “%s”"), label_name);
      case GATE_SECRET_RELAY_PASSWORD:
        return g_strdup_printf (_("Postgate relay password for “%s”"), label_name);
      case GATE_SECRET_PASSWORD:
      default:
        return g_strdup_printf (_("Postgate password for “%s”"), label_name);
    }
}

/* libsecret tries to unlock a locked keyring with a prompt; when there is no
 * way to show one (no desktop), a lookup finds nothing and says nothing.  A
 * search that does not unlock tells that case from a missing secret. */
static GError *
locked_error (void)
{
  return g_error_new_literal (SECRET_ERROR, SECRET_ERROR_IS_LOCKED, _("the keyring is locked"));
}

/* Every failure to talk to the keyring becomes one error a user can act on;
 * the lower-level reason is kept in parentheses for whoever reads a bug
 * report.  Cancellation stays cancellation.  The words suit the window and
 * the command line alike: what the command line can do without a keyring,
 * it adds itself (gate_cli_add_keyring_hint). */
static void
propagate_keyring_error (GError **error, GError *keyring_error)
{
  gboolean locked;

  if (g_error_matches (keyring_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, keyring_error);
      return;
    }

  locked = g_error_matches (keyring_error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED);
  if (locked)
    g_set_error (error, GATE_SECRET_STORE_ERROR, GATE_SECRET_STORE_ERROR_UNAVAILABLE,
                 _("The system keyring is locked and Postgate could not unlock it (%s). "
                    "Unlock it, for example by logging in to the desktop, and try again."),
                 keyring_error->message);
  else if (keyring_error->domain == SECRET_ERROR)
    g_set_error (error, GATE_SECRET_STORE_ERROR, GATE_SECRET_STORE_ERROR_FAILED,
                 _("The system keyring refused the request (%s)."), keyring_error->message);
  else
    g_set_error (error, GATE_SECRET_STORE_ERROR, GATE_SECRET_STORE_ERROR_UNAVAILABLE,
                 _("Postgate could not reach the system keyring (%s). Passwords are kept "
                    "only there, never in a plain file. Start a desktop session with a keyring "
                    "such as GNOME Keyring."),
                 keyring_error->message);
  g_error_free (keyring_error);
}

void
gate_secret_free (char *secret)
{
  if (secret != NULL)
    secret_password_free (secret);
}

gboolean
gate_secret_store_store_sync (const char *profile_id, GateSecretKind kind, const char *label_name,
                              const char *secret, GCancellable *cancellable, GError **error)
{
  g_autofree char *label = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (profile_id != NULL, FALSE);
  g_return_val_if_fail (gate_secret_kind_to_string (kind) != NULL, FALSE);
  g_return_val_if_fail (secret != NULL, FALSE);

  label = make_label (kind, label_name);
  if (!secret_password_store_sync (get_schema (), SECRET_COLLECTION_DEFAULT, label, secret, cancellable,
                                   &local_error, "profile-id", profile_id, "kind",
                                   gate_secret_kind_to_string (kind), NULL))
    {
      if (local_error == NULL)
        local_error = g_error_new_literal (SECRET_ERROR, SECRET_ERROR_IS_LOCKED,
                                           _("the keyring did not save the secret"));
      propagate_keyring_error (error, local_error);
      return FALSE;
    }

  return TRUE;
}

char *
gate_secret_store_lookup_sync (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                               GError **error)
{
  GError *local_error = NULL;
  char *secret;

  g_return_val_if_fail (profile_id != NULL, NULL);
  g_return_val_if_fail (gate_secret_kind_to_string (kind) != NULL, NULL);

  secret = secret_password_lookup_sync (get_schema (), cancellable, &local_error, "profile-id", profile_id,
                                        "kind", gate_secret_kind_to_string (kind), NULL);
  if (local_error == NULL && secret == NULL)
    {
      GList *items = secret_password_search_sync (get_schema (), SECRET_SEARCH_ALL, cancellable, &local_error,
                                                  "profile-id", profile_id, "kind",
                                                  gate_secret_kind_to_string (kind), NULL);

      if (items != NULL)
        local_error = locked_error ();
      g_list_free_full (items, g_object_unref);
    }
  if (local_error != NULL)
    {
      propagate_keyring_error (error, local_error);
      return NULL;
    }

  return secret;
}

gboolean
gate_secret_store_delete_sync (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                               GError **error)
{
  GError *local_error = NULL;

  g_return_val_if_fail (profile_id != NULL, FALSE);
  g_return_val_if_fail (gate_secret_kind_to_string (kind) != NULL, FALSE);

  /* FALSE without an error means there was nothing to delete. */
  secret_password_clear_sync (get_schema (), cancellable, &local_error, "profile-id", profile_id, "kind",
                              gate_secret_kind_to_string (kind), NULL);
  if (local_error != NULL)
    {
      propagate_keyring_error (error, local_error);
      return FALSE;
    }

  return TRUE;
}

static void
store_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *local_error = NULL;

  if (!secret_password_store_finish (result, &local_error))
    {
      GError *error = NULL;

      if (local_error == NULL)
        local_error = g_error_new_literal (SECRET_ERROR, SECRET_ERROR_IS_LOCKED,
                                           _("the keyring did not save the secret"));
      propagate_keyring_error (&error, local_error);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

void
gate_secret_store_store_async (const char *profile_id, GateSecretKind kind, const char *label_name,
                               const char *secret, GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autofree char *label = NULL;

  g_return_if_fail (profile_id != NULL);
  g_return_if_fail (gate_secret_kind_to_string (kind) != NULL);
  g_return_if_fail (secret != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gate_secret_store_store_async);

  label = make_label (kind, label_name);
  secret_password_store (get_schema (), SECRET_COLLECTION_DEFAULT, label, secret, cancellable, store_cb,
                         g_steal_pointer (&task), "profile-id", profile_id, "kind",
                         gate_secret_kind_to_string (kind), NULL);
}

gboolean
gate_secret_store_store_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gate_secret_store_store_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
search_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *local_error = NULL;
  GList *items;

  items = secret_password_search_finish (result, &local_error);
  if (items != NULL)
    local_error = locked_error ();
  g_list_free_full (items, g_object_unref);
  if (local_error != NULL)
    {
      GError *error = NULL;

      propagate_keyring_error (&error, local_error);
      g_task_return_error (task, error);
      return;
    }

  /* Really not there. */
  g_task_return_pointer (task, NULL, NULL);
}

static void
lookup_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *local_error = NULL;
  char *secret;

  secret = secret_password_lookup_finish (result, &local_error);
  if (local_error != NULL)
    {
      GError *error = NULL;

      propagate_keyring_error (&error, local_error);
      g_task_return_error (task, error);
      return;
    }

  if (secret == NULL)
    {
      GateSecretKind kind = GPOINTER_TO_UINT (g_task_get_task_data (task));
      const char *profile_id = g_object_get_data (G_OBJECT (task), "profile-id");

      /* Not found, or found only locked (see lookup_sync). */
      secret_password_search (get_schema (), SECRET_SEARCH_ALL, g_task_get_cancellable (task), search_cb,
                              g_object_ref (task), "profile-id", profile_id, "kind",
                              gate_secret_kind_to_string (kind), NULL);
      return;
    }

  g_task_return_pointer (task, secret, (GDestroyNotify)secret_password_free);
}

void
gate_secret_store_lookup_async (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (profile_id != NULL);
  g_return_if_fail (gate_secret_kind_to_string (kind) != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gate_secret_store_lookup_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (kind), NULL);
  g_object_set_data_full (G_OBJECT (task), "profile-id", g_strdup (profile_id), g_free);

  secret_password_lookup (get_schema (), cancellable, lookup_cb, g_steal_pointer (&task), "profile-id",
                          profile_id, "kind", gate_secret_kind_to_string (kind), NULL);
}

char *
gate_secret_store_lookup_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gate_secret_store_lookup_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
delete_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *local_error = NULL;

  secret_password_clear_finish (result, &local_error);
  if (local_error != NULL)
    {
      GError *error = NULL;

      propagate_keyring_error (&error, local_error);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

void
gate_secret_store_delete_async (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (profile_id != NULL);
  g_return_if_fail (gate_secret_kind_to_string (kind) != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gate_secret_store_delete_async);

  secret_password_clear (get_schema (), cancellable, delete_cb, g_steal_pointer (&task), "profile-id",
                         profile_id, "kind", gate_secret_kind_to_string (kind), NULL);
}

gboolean
gate_secret_store_delete_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gate_secret_store_delete_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
