/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-platform"

#include "config.h"

#include "gate-secret-store.h"

#include <string.h>

/* What every platform's secret store shares. */

/* Left as written: formatted, the quark's name would get spaces. */
/* clang-format off */
G_DEFINE_QUARK (gate-secret-store-error-quark, gate_secret_store_error)
/* clang-format on */

static const char *const kind_names[] = {
  [GATE_SECRET_PASSWORD] = "password",
  [GATE_SECRET_API_KEY] = "api-key",
  [GATE_SECRET_RELAY_PASSWORD] = "relay-password",
};

const char *
gate_secret_kind_to_string (GateSecretKind kind)
{
  if ((guint)kind >= G_N_ELEMENTS (kind_names))
    return NULL;
  return kind_names[kind];
}

gboolean
gate_secret_kind_from_string (const char *name, GateSecretKind *kind)
{
  g_return_val_if_fail (kind != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    {
      if (g_strcmp0 (name, kind_names[i]) == 0)
        {
          *kind = (GateSecretKind)i;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
gate_secret_store_delete_all_sync (const char *profile_id, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (profile_id != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (!gate_secret_store_delete_sync (profile_id, (GateSecretKind)i, cancellable, error))
      return FALSE;
  return TRUE;
}

typedef struct
{
  char *from_id;
  char *to_id;
  char *label_name;
  guint kinds;
} CopyData;

static void
copy_data_free (CopyData *data)
{
  g_free (data->from_id);
  g_free (data->to_id);
  g_free (data->label_name);
  g_free (data);
}

gboolean
gate_secret_store_copy_all_sync (const char *from_id, const char *to_id, guint kinds, const char *label_name,
                                 guint *copied_kinds, GCancellable *cancellable, GError **error)
{
  guint copied = 0;

  g_return_val_if_fail (from_id != NULL, FALSE);
  g_return_val_if_fail (to_id != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    {
      g_autoptr (GError) local_error = NULL;
      char *secret;
      gboolean stored = FALSE;

      if ((kinds & GATE_SECRET_KIND_FLAG (i)) == 0)
        continue;
      secret = gate_secret_store_lookup_sync (from_id, (GateSecretKind)i, cancellable, &local_error);
      if (secret != NULL)
        stored = gate_secret_store_store_sync (to_id, (GateSecretKind)i, label_name, secret, cancellable,
                                               &local_error);
      gate_secret_free (secret);
      if (local_error != NULL)
        {
          if (copied_kinds != NULL)
            *copied_kinds = copied;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (stored)
        copied |= GATE_SECRET_KIND_FLAG (i);
    }
  if (copied_kinds != NULL)
    *copied_kinds = copied;
  return TRUE;
}

/* Worker thread: each platform's sync calls are safe there (libsecret runs
 * them on a main context of its own). */
static void
copy_all_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  CopyData *data = task_data;
  GError *error = NULL;
  guint copied = 0;

  if (gate_secret_store_copy_all_sync (data->from_id, data->to_id, data->kinds, data->label_name, &copied,
                                       cancellable, &error))
    g_task_return_int (task, copied);
  else
    g_task_return_error (task, error);
}

void
gate_secret_store_copy_all_async (const char *from_id, const char *to_id, guint kinds, const char *label_name,
                                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  CopyData *data;

  g_return_if_fail (from_id != NULL);
  g_return_if_fail (to_id != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gate_secret_store_copy_all_async);
  data = g_new0 (CopyData, 1);
  data->from_id = g_strdup (from_id);
  data->to_id = g_strdup (to_id);
  data->label_name = g_strdup (label_name);
  data->kinds = kinds;
  g_task_set_task_data (task, data, (GDestroyNotify)copy_data_free);
  g_task_run_in_thread (task, copy_all_thread);
}

gboolean
gate_secret_store_copy_all_finish (GAsyncResult *result, guint *copied_kinds, GError **error)
{
  gssize copied;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  copied = g_task_propagate_int (G_TASK (result), error);
  if (copied < 0)
    return FALSE;
  if (copied_kinds != NULL)
    *copied_kinds = (guint)copied;
  return TRUE;
}
