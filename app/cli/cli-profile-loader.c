/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-cli"

#include "config.h"

#include "cli-profile-loader.h"
#include "cli-output.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>

#include "gate-secret-store.h"

GateProfileStore *
gate_cli_open_profile_store (GError **error)
{
  g_autoptr (GateProfileStore) store = gate_profile_store_new (NULL);

  if (!gate_profile_store_load (store, error))
    return NULL;
  if (gate_profile_store_get_problem (store) != NULL)
    gate_cli_print_warning ("%s\n", gate_profile_store_get_problem (store));
  return g_steal_pointer (&store);
}

static void
fill_string (char **field, const char *value)
{
  if (*field == NULL && value != NULL && *value != '\0')
    *field = g_strdup (value);
}

gboolean
gate_cli_profile_loader (GateCliConnectionOptions *options, GError **error)
{
  g_autoptr (GateProfileStore) store = NULL;
  g_autoptr (GError) local_error = NULL;
  GateProfile *profile;
  const char *env_password;
  gboolean port_given;

  g_return_val_if_fail (options != NULL, FALSE);
  g_return_val_if_fail (options->profile_name != NULL, FALSE);

  store = gate_cli_open_profile_store (error);
  if (store == NULL)
    return FALSE;

  profile = gate_cli_find_profile (store, options->profile_name, error);
  if (profile == NULL)
    return FALSE;

  port_given = options->port != 0;
  fill_string (&options->server, gate_profile_get_host (profile));
  if (!port_given)
    options->port = gate_profile_get_port (profile);
  /* The profile's security goes with the profile's port; a port typed here
   * gets the security that fits it (decided by the option parser). */
  if (options->security == NULL && !port_given)
    options->security = g_strdup (gate_smtp_security_to_string (gate_profile_get_security (profile)));

  if (options->flags & GATE_CLI_CONNECTION_SENDER)
    fill_string (&options->from, gate_profile_get_sender_address (profile));

  if (options->flags & GATE_CLI_CONNECTION_TRUST)
    {
      fill_string (&options->ca_file, gate_profile_get_ca_file (profile));
      fill_string (&options->pin_sha256, gate_profile_get_pinned_fingerprint (profile));
    }

  if (!(options->flags & GATE_CLI_CONNECTION_CREDENTIALS))
    return TRUE;

  if (options->allow_plain_auth == FALSE)
    options->allow_plain_auth = gate_profile_get_allow_plain_auth (profile);
  /* Set directly, so a combination of mechanisms survives; --auth, when
   * given, replaces it in the option parser. */
  if (options->auth == NULL)
    options->auth_value = gate_profile_get_auth_mechanism (profile);

  /* A user typed here is someone else than the profile's: its password is
   * not theirs. */
  if (options->user != NULL)
    return TRUE;
  fill_string (&options->user, gate_profile_get_username (profile));
  if (options->user == NULL)
    return TRUE;

  /* Given on the command line: the option parser reads it. */
  if (options->password_file != NULL || options->password_stdin)
    return TRUE;

  env_password = g_getenv (GATE_CLI_PASSWORD_ENV);
  if (env_password != NULL && *env_password != '\0')
    {
      gate_cli_print_warning ("%s\n",
                              _("Using the password from the environment variable POSTGATE_PASSWORD "
                                 "(less safe than the keyring or a private password file)."));
      gate_cli_secret_free (g_steal_pointer (&options->password));
      options->password = g_strdup (env_password);
      return TRUE;
    }

  options->password = gate_secret_store_lookup_sync (gate_profile_get_id (profile), GATE_SECRET_PASSWORD,
                                                     NULL, &local_error);
  if (local_error != NULL)
    {
      gate_cli_add_keyring_hint (&local_error, _("Without a keyring, put the password in a file readable "
                                                 "only by you and pass --password-file."));
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (options->password == NULL)
    {
      /* Nothing saved: the option parser asks on a terminal, or explains. */
      if (gate_profile_get_has_password (profile))
        gate_cli_print_warning (_("The password of the profile “%s” is no longer in the keyring.\n"),
                                gate_profile_get_name (profile));
    }
  else
    {
      /* The secret store's memory is not the CLI's: copy into a string the
       * option code wipes with its own function. */
      char *copy = g_strdup (options->password);

      gate_secret_free (options->password);
      options->password = copy;
      options->password_from_keyring = TRUE;
    }

  return TRUE;
}

GateProfile *
gate_cli_find_profile (GateProfileStore *store, const char *name, GError **error)
{
  GateProfile *profile = gate_profile_store_lookup (store, name);

  if (profile == NULL)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 _("There is no profile named “%s”. See the list with: postgate-cli profile list"), name);
  return profile;
}
