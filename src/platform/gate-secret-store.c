/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-platform"

#include "config.h"

#include "gate-secret-store.h"

#include <string.h>

/* What every platform's secret store shares. */

G_DEFINE_QUARK (gate - secret - store - error - quark, gate_secret_store_error)

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
