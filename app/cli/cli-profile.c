/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-cli"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>
#ifdef G_OS_UNIX
#include <unistd.h>
#else
#include <io.h>
#endif

#include "cli-commands.h"
#include "cli-connection-options.h"
#include "cli-output.h"
#include "cli-profile-loader.h"
#include "gate-local-certificate.h"
#include "gate-profile-store.h"
#include "gate-provider-preset.h"
#include "gate-relay-address.h"
#include "gate-relay.h"
#include "gate-secret-store.h"
#include "gate-tls-info.h"

/* Longest secret read from standard input. */
#define SECRET_MAX 16384

enum
{
  STATUS_OK = 0,
  STATUS_FAILED = 1,
};

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: postgate-cli profile COMMAND [ARGUMENT…] [OPTION…]"));
  fprintf (out, "%s\n", _("Commands:"));
  fprintf (out, "  list                    %s\n", _("List the profiles"));
  fprintf (out, "  show NAME               %s\n", _("Show the settings of a profile (never its password)"));
  fprintf (out, "  add NAME [OPTION…]      %s\n", _("Add a profile"));
  fprintf (out, "  edit NAME [OPTION…]     %s\n", _("Change a profile"));
  fprintf (out, "  remove NAME             %s\n", _("Remove a profile and its saved password"));
  fprintf (out, "  duplicate NAME [NEW]    %s\n", _("Copy a profile and its saved passwords"));
  fprintf (out, "  export FILE [NAME…]     %s\n",
           _("Write profiles to a file, without passwords or API keys"));
  fprintf (out, "  import FILE             %s\n", _("Add the profiles of an exported file"));
  fprintf (out, "\n%s\n", _("Run “postgate-cli profile COMMAND --help” for the options of a command."));
  fprintf (out, "\n%s\n",
           _("Passwords and API keys are kept in the system keyring (GNOME Keyring, KeePassXC, KWallet;\n"
              "the Credential Manager on Windows), never in the profile file. “send --profile NAME”\n"
              "and “probe --profile NAME” take the password from there.\n"
              "\n"
              "On a server without a keyring, give the password another way, in this order of\n"
              "preference:\n"
              "  --password-file FILE   a file readable only by you (chmod 600; checked)\n"
              "  --password-stdin       from a pipe\n"
              "  POSTGATE_PASSWORD      an environment variable; less safe, because other programs\n"
              "                         you start, and sometimes other users, can read it\n"
              "Postgate never falls back to keeping a password in a plain file by itself."));
}

static int
fail (const char *message)
{
  fprintf (stderr, "%s\n", message);
  return STATUS_FAILED;
}

static int
fail_error (GError *error)
{
  return fail (error->message);
}

/* ---- secrets from standard input ---- */

static void
wipe (void *data, gsize len)
{
  volatile guchar *p = data;

  while (len-- > 0)
    *p++ = 0;
}

/* Reads standard input and splits it into @n_wanted lines (the password,
 * then the API key, when both are asked for). */
static gboolean
read_stdin_secrets (guint n_wanted, char **first, char **second, GError **error)
{
  char *buffer = g_malloc0 (SECRET_MAX + 1);
  gsize len = 0;
  char *line_end;

  for (;;)
    {
      gssize n = read (0, buffer + len, SECRET_MAX - len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          wipe (buffer, SECRET_MAX);
          g_free (buffer);
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, _("Could not read standard input: %s"),
                       g_strerror (saved_errno));
          return FALSE;
        }
      if (n == 0)
        break;
      len += (gsize)n;
      if (len == SECRET_MAX)
        {
          wipe (buffer, SECRET_MAX);
          g_free (buffer);
          g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                               _("Standard input is too long for a password or API key."));
          return FALSE;
        }
    }

  line_end = memchr (buffer, '\n', len);
  if (line_end != NULL)
    *line_end = '\0';
  if (line_end != NULL && line_end > buffer && line_end[-1] == '\r')
    line_end[-1] = '\0';
  *first = g_strdup (buffer);

  if (n_wanted > 1)
    {
      char *rest = line_end ? line_end + 1 : buffer + len;
      char *rest_end = memchr (rest, '\n', (gsize)(buffer + len - rest));

      if (rest_end != NULL)
        *rest_end = '\0';
      if (rest_end != NULL && rest_end > rest && rest_end[-1] == '\r')
        rest_end[-1] = '\0';
      *second = g_strdup (rest);
    }

  wipe (buffer, SECRET_MAX);
  g_free (buffer);

  if (**first == '\0' || (n_wanted > 1 && **second == '\0'))
    {
      gate_cli_secret_free (g_steal_pointer (first));
      if (second != NULL)
        gate_cli_secret_free (g_steal_pointer (second));
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           n_wanted > 1
                               ? _("Standard input must hold the password on the first line and the API key "
                                    "on the second.")
                               : _("Standard input is empty."));
      return FALSE;
    }

  return TRUE;
}

/* ---- add and edit ---- */

typedef struct
{
  GateCliConnectionOptions *connection;
  char *preset;
  char *region;
  char *from_name;
  char *new_name;
  char *rewrite_sender;
  GStrv relay_listen;
  GStrv relay_listen_tls;
  GStrv relay_allow;
  char *relay_starttls;
  char *relay_tls_cert;
  char *relay_tls_key;
  char *relay_device_user;
  char *relay_device_password_file;
  char *relay_require_sign_in;
  char *relay_allow_plain_sign_in;
  char *relay_connections;
  char *relay_rate;
  char *relay_password; /* read from relay_device_password_file */
  gboolean api_key_stdin;
  gboolean no_allow_plain_auth;
  gboolean forget_password;
  gboolean forget_api_key;
} EditOptions;

static void
edit_options_clear (EditOptions *options)
{
  g_clear_pointer (&options->connection, gate_cli_connection_options_free);
  g_free (options->preset);
  g_free (options->region);
  g_free (options->from_name);
  g_free (options->new_name);
  g_free (options->rewrite_sender);
  g_strfreev (options->relay_listen);
  g_strfreev (options->relay_listen_tls);
  g_strfreev (options->relay_allow);
  g_free (options->relay_starttls);
  g_free (options->relay_tls_cert);
  g_free (options->relay_tls_key);
  g_free (options->relay_device_user);
  g_free (options->relay_device_password_file);
  g_free (options->relay_require_sign_in);
  g_free (options->relay_allow_plain_sign_in);
  g_free (options->relay_connections);
  g_free (options->relay_rate);
  gate_cli_secret_free (options->relay_password);
}

static char *
list_presets (void)
{
  GListModel *presets = gate_provider_preset_list ();
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (presets); i++)
    {
      g_autoptr (GateProviderPreset) preset = g_list_model_get_item (presets, i);

      g_string_append_printf (text, "%s%s", i ? ", " : "", gate_provider_preset_get_id (preset));
    }
  return g_string_free (text, FALSE);
}

static char *
list_regions (GateProviderPreset *preset)
{
  GListModel *regions = gate_provider_preset_get_regions (preset);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (regions); i++)
    {
      g_autoptr (GateProviderRegion) region = g_list_model_get_item (regions, i);

      g_string_append_printf (text, "%s%s", i ? ", " : "", gate_provider_region_get_id (region));
    }
  return g_string_free (text, FALSE);
}

/* Opens the profile store into *@store and finds the profile named @name in
 * it (owned by the store); NULL with @error set when either fails. */
static GateProfile *
open_store_at_profile (const char *name, GateProfileStore **store, GError **error)
{
  *store = gate_cli_open_profile_store (error);
  if (*store == NULL)
    return NULL;
  return gate_cli_find_profile (*store, name, error);
}

static gboolean
bad_value (GError **error, const char *message)
{
  g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, message);
  return FALSE;
}

/* A repeatable relay option, NULL when not given: its values, checked by
 * @check and without repeats, replace the profile's list (an empty value
 * alone clears it). */
static gboolean
apply_relay_values (GateProfile *profile, char **given, gboolean (*check) (const char *value, GError **error),
                    void (*set) (GateProfile *profile, const char *const *values), GError **error)
{
  g_autoptr (GPtrArray) values = NULL;

  if (given == NULL)
    return TRUE;
  values = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  for (guint i = 0; given[i] != NULL; i++)
    {
      g_autofree char *value = g_strstrip (g_strdup (given[i]));

      if (*value == '\0' || g_ptr_array_find_with_equal_func (values, value, g_str_equal, NULL))
        continue;
      if (!check (value, error))
        return FALSE;
      g_ptr_array_add (values, g_steal_pointer (&value));
    }
  set (profile, (const char *const *)values->pdata);
  return TRUE;
}

/* A yes-or-no option: NULL when not given. */
static gboolean
apply_yes_no (GateProfile *profile, const char *given, const char *option,
              void (*set) (GateProfile *profile, gboolean value), GError **error)
{
  if (given == NULL)
    return TRUE;
  if (g_ascii_strcasecmp (given, "yes") == 0)
    set (profile, TRUE);
  else if (g_ascii_strcasecmp (given, "no") == 0)
    set (profile, FALSE);
  else
    {
      /* Translators: both %s are the same option, --relay-starttls. */
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("Give %s yes or %s no."), option, option);
      return FALSE;
    }
  return TRUE;
}

/* A file of the relay's own certificate: "" clears it; otherwise kept as an
 * absolute path, since the relay runs from other folders. */
static void
set_certificate_file (GateProfile *profile, const char *given, void (*set) (GateProfile *profile, const char *path))
{
  g_autofree char *absolute = NULL;

  if (given == NULL)
    return;
  if (*given != '\0')
    absolute = g_canonicalize_filename (given, NULL);
  set (profile, absolute);
}

/* The certificate devices are offered instead of the one Postgate makes:
 * giving one turns STARTTLS on, unless --relay-starttls no in the same
 * command keeps it for the addresses secured from the start.  STARTTLS
 * turned off with no such address leaves the certificate nothing to serve:
 * its files go with it.  Checked now, not when the relay starts unattended. */
static gboolean
apply_certificate_options (GateProfile *profile, EditOptions *options, GError **error)
{
  const char *cert, *key;
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autoptr (GError) local_error = NULL;
  gboolean starttls_turned_off = options->relay_starttls != NULL && !gate_profile_get_relay_starttls (profile);
  gboolean tls_addresses = gate_profile_get_relay_listen_tls (profile)[0] != NULL;

  set_certificate_file (profile, options->relay_tls_cert, gate_profile_set_relay_tls_cert);
  set_certificate_file (profile, options->relay_tls_key, gate_profile_set_relay_tls_key);
  if (options->relay_tls_cert != NULL && *options->relay_tls_cert == '\0')
    gate_profile_set_relay_tls_key (profile, NULL);
  if (starttls_turned_off && !tls_addresses)
    {
      if (options->relay_tls_cert != NULL && *options->relay_tls_cert != '\0')
        return bad_value (error, _("With --relay-starttls no, a certificate serves only the addresses secured "
                                    "from the start: add --relay-listen-tls, or leave out one of the two."));
      gate_profile_set_relay_tls_cert (profile, NULL);
      gate_profile_set_relay_tls_key (profile, NULL);
    }
  cert = gate_profile_get_relay_tls_cert (profile);
  key = gate_profile_get_relay_tls_key (profile);
  if (*key != '\0' && *cert == '\0')
    return bad_value (error, _("--relay-tls-key goes with --relay-tls-cert."));
  if (options->relay_tls_cert == NULL && options->relay_tls_key == NULL)
    return TRUE;
  if (*cert == '\0')
    return TRUE;
  certificate = gate_local_certificate_load_files (cert, *key != '\0' ? key : NULL, NULL, &local_error);
  if (certificate == NULL)
    return bad_value (error, local_error->message);
  if (!starttls_turned_off)
    gate_profile_set_relay_starttls (profile, TRUE);
  return TRUE;
}

/* How devices secure their connection and sign in, as the relay's own
 * options do (see cli-relay.c): refused when it would not work. */
static gboolean
apply_device_options (GateProfile *profile, EditOptions *options, GError **error)
{
  gboolean has_user, has_password;

  if (!apply_yes_no (profile, options->relay_starttls, "--relay-starttls", gate_profile_set_relay_starttls, error)
      || !apply_certificate_options (profile, options, error)
      || !apply_yes_no (profile, options->relay_require_sign_in, "--relay-require-sign-in",
                        gate_profile_set_relay_require_sign_in, error)
      || !apply_yes_no (profile, options->relay_allow_plain_sign_in, "--relay-allow-plain-sign-in",
                        gate_profile_set_relay_allow_plain_sign_in, error))
    return FALSE;
  if (options->relay_device_user != NULL)
    {
      g_autofree char *user = g_strstrip (g_strdup (options->relay_device_user));

      gate_profile_set_relay_device_user (profile, user);
      /* No user: no sign-in, and nothing of it left behind. */
      if (*user == '\0')
        {
          gate_profile_set_relay_require_sign_in (profile, FALSE);
          gate_profile_set_relay_allow_plain_sign_in (profile, FALSE);
        }
    }

  has_user = *gate_profile_get_relay_device_user (profile) != '\0';
  /* The password of a user cleared now goes with it (save_secrets). */
  has_password = options->relay_device_password_file != NULL
                 || (has_user && gate_profile_get_has_relay_password (profile));
  switch (gate_relay_check_sign_in (gate_profile_get_relay_starttls (profile)
                                        || gate_profile_get_relay_listen_tls (profile)[0] != NULL,
                                    has_user, has_password,
                                    gate_profile_get_relay_require_sign_in (profile),
                                    gate_profile_get_relay_allow_plain_sign_in (profile)))
    {
      case GATE_RELAY_SIGN_IN_USABLE:
        return TRUE;
      case GATE_RELAY_SIGN_IN_HALF_GIVEN:
        return bad_value (error, _("Devices sign in with both --relay-device-user NAME and "
                                    "--relay-device-password-file FILE."));
      case GATE_RELAY_SIGN_IN_RULE_WITHOUT_USER:
        return bad_value (error, _("--relay-require-sign-in and --relay-allow-plain-sign-in need "
                                    "--relay-device-user and --relay-device-password-file."));
      case GATE_RELAY_SIGN_IN_NEVER_OFFERED:
      default:
        return bad_value (error, _("Devices can sign in only over a secured connection: add --relay-starttls "
                                    "yes or --relay-listen-tls, or --relay-allow-plain-sign-in yes for devices "
                                    "that cannot secure it."));
    }
}

static gboolean
check_listen (const char *value, GError **error)
{
  return gate_relay_address_parse_listen (value, NULL, NULL, error);
}

static gboolean
check_range (const char *value, GError **error)
{
  g_autoptr (GInetAddressMask) mask = gate_relay_address_parse_range (value, error);

  return mask != NULL;
}

/* Preset and region first (they fill host, port and security), then every
 * option given, so what was typed wins. */
static gboolean
apply_options (GateProfile *profile, EditOptions *options, gboolean adding, GError **error)
{
  GateCliConnectionOptions *c = options->connection;
  GateProviderPreset *preset;
  const char *problem;

  if (options->preset != NULL || options->region != NULL)
    {
      const char *preset_id = options->preset ? options->preset : gate_profile_get_preset_id (profile);

      preset = gate_provider_preset_lookup (preset_id);
      if (preset == NULL)
        {
          g_autofree char *known = list_presets ();

          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not a known provider. Known providers: %s."), preset_id, known);
          return FALSE;
        }
      if (options->region != NULL && gate_provider_preset_get_region (preset, options->region) == NULL)
        {
          g_autofree char *known = list_regions (preset);

          if (*known == '\0')
            g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         _("The provider “%s” has no regions to choose from."), preset_id);
          else
            g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         _("“%s” is not a region of %s. Regions: %s."), options->region,
                         gate_provider_preset_get_name (preset), known);
          return FALSE;
        }
      if (options->preset != NULL)
        gate_profile_apply_preset (profile, preset_id, options->region);
      else
        {
          /* Only the region changes: the server follows it, the port stays. */
          gate_profile_set_region (profile, options->region);
          gate_profile_set_host (profile, gate_provider_preset_get_host (preset, options->region));
        }
    }

  preset = gate_provider_preset_lookup (gate_profile_get_preset_id (profile));

  if (c->server != NULL)
    gate_profile_set_host (profile, c->server);

  if (c->port != 0)
    {
      if ((problem = gate_profile_check_port ((guint)MAX (c->port, 0))) != NULL)
        return bad_value (error, problem);
      gate_profile_set_port (profile, (guint16)c->port);
      if (c->security == NULL)
        gate_profile_set_security (profile,
                                   gate_provider_preset_get_port_security (preset, (guint16)c->port));
    }

  if (c->security != NULL)
    {
      GateSmtpSecurity security;

      if (!gate_smtp_security_from_string (c->security, &security))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not a security mode: use none, starttls or tls."), c->security);
          return FALSE;
        }
      gate_profile_set_security (profile, security);
    }

  if (c->user != NULL)
    gate_profile_set_username (profile, c->user);

  if (c->auth != NULL)
    {
      GateSmtpAuthMechanism mechanism = gate_smtp_auth_mechanism_from_string (c->auth);

      if (mechanism == GATE_SMTP_AUTH_NONE || mechanism == GATE_SMTP_AUTH_XOAUTH2)
        {
          g_set_error (
              error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
              _("“%s” is not a sign-in method a profile can keep: use auto, plain, login or cram-md5."),
              c->auth);
          return FALSE;
        }
      gate_profile_set_auth_mechanism (profile, mechanism);
    }

  if (c->oauth_token_file != NULL)
    return bad_value (error, _("Profiles do not keep OAuth access tokens; give --oauth-token-file to "
                                "“postgate-cli send” instead."));

  if (c->allow_plain_auth && options->no_allow_plain_auth)
    return bad_value (error, _("Give either --allow-plain-auth or --no-allow-plain-auth, not both."));
  if (c->allow_plain_auth)
    gate_profile_set_allow_plain_auth (profile, TRUE);
  if (options->no_allow_plain_auth)
    gate_profile_set_allow_plain_auth (profile, FALSE);

  if (c->from != NULL)
    {
      if ((problem = gate_profile_check_address (c->from, FALSE)) != NULL)
        return bad_value (error, problem);
      gate_profile_set_sender_address (profile, c->from);
    }
  if (options->from_name != NULL)
    gate_profile_set_sender_name (profile, options->from_name);

  if (c->ca_file != NULL)
    {
      g_autofree char *absolute = NULL;

      if ((problem = gate_profile_check_ca_file (c->ca_file)) != NULL)
        return bad_value (error, problem);
      /* The profile is used from other folders later. */
      if (*c->ca_file != '\0')
        absolute = g_canonicalize_filename (c->ca_file, NULL);
      gate_profile_set_ca_file (profile, absolute);
    }

  if (c->pin_sha256 != NULL)
    {
      g_autofree char *canonical = NULL;

      if (*c->pin_sha256 != '\0' && !gate_tls_fingerprint_normalize (c->pin_sha256, &canonical))
        return bad_value (error, _("The fingerprint given with --pin-sha256 is not a SHA-256 fingerprint "
                                    "(64 hexadecimal digits, colons allowed)."));
      gate_profile_set_pinned_fingerprint (profile, canonical);
    }

  if (options->rewrite_sender != NULL)
    {
      if (g_ascii_strcasecmp (options->rewrite_sender, "yes") == 0)
        gate_profile_set_rewrite_sender (profile, TRUE);
      else if (g_ascii_strcasecmp (options->rewrite_sender, "no") == 0)
        gate_profile_set_rewrite_sender (profile, FALSE);
      else
        return bad_value (error, _("Give --rewrite-sender yes or --rewrite-sender no."));
    }

  if (!apply_relay_values (profile, options->relay_listen, check_listen, gate_profile_set_relay_listen, error)
      || !apply_relay_values (profile, options->relay_listen_tls, check_listen, gate_profile_set_relay_listen_tls,
                              error)
      || !apply_relay_values (profile, options->relay_allow, check_range, gate_profile_set_relay_allow, error))
    return FALSE;
  if (!apply_device_options (profile, options, error))
    return FALSE;

  /* "" is the relay's default again. */
  if (options->relay_connections != NULL)
    {
      guint64 connections = 0;

      if (*options->relay_connections != '\0'
          && !g_ascii_string_to_unsigned (options->relay_connections, 10, 1, GATE_PROFILE_RELAY_MAX_CONNECTIONS,
                                          &connections, NULL))
        return bad_value (error, _("--relay-connections takes a number from 1 to 40."));
      gate_profile_set_relay_connections (profile, (guint)connections);
    }
  if (options->relay_rate != NULL)
    {
      guint64 rate = 0;

      if (*options->relay_rate == '\0')
        gate_profile_set_relay_rate (profile, -1);
      else if (!g_ascii_string_to_unsigned (options->relay_rate, 10, 0, G_MAXINT, &rate, NULL))
        return bad_value (error, _("--relay-rate takes a number of messages an hour (0: no limit)."));
      else
        gate_profile_set_relay_rate (profile, (gint)rate);
    }

  if (adding && *gate_profile_get_host (profile) == '\0')
    {
      g_autofree char *known = list_presets ();

      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Give the outgoing server with --server HOST, or a provider with --preset "
                      "(known providers: %s)."),
                   known);
      return FALSE;
    }

  return gate_profile_validate (profile, error);
}

/* Reads the secrets the options ask for: *@password and *@api_key stay NULL
 * when not asked for. */
static gboolean
read_secrets (EditOptions *options, GateProfile *profile, char **password, char **api_key, GError **error)
{
  GateCliConnectionOptions *c = options->connection;

  if (c->password_file != NULL && c->password_stdin)
    return bad_value (error, _("Give the password either with --password-file or with --password-stdin, "
                                "not both."));
  if ((c->password_file != NULL || c->password_stdin) && options->forget_password)
    return bad_value (error, _("Give either a new password or --forget-password, not both."));
  if (options->api_key_stdin && options->forget_api_key)
    return bad_value (error, _("Give either a new API key or --forget-api-key, not both."));
  if ((c->password_file != NULL || c->password_stdin) && *gate_profile_get_username (profile) == '\0')
    return bad_value (error, _("A password needs a user name: add --user NAME."));

  if (c->password_stdin && options->api_key_stdin)
    return read_stdin_secrets (2, password, api_key, error);
  if (c->password_stdin)
    return read_stdin_secrets (1, password, NULL, error);
  if (options->api_key_stdin && !read_stdin_secrets (1, api_key, NULL, error))
    return FALSE;
  if (c->password_file != NULL)
    {
      *password = gate_cli_read_secret_file (c->password_file, _("password"), error);
      if (*password == NULL)
        return FALSE;
    }
  if (options->relay_device_password_file != NULL)
    {
      options->relay_password = gate_cli_read_secret_file (options->relay_device_password_file,
                                                           _("password"), error);
      if (options->relay_password == NULL)
        return FALSE;
    }
  return TRUE;
}

/* Saves what was given into the keyring and updates the profile's flags.
 * @name labels the keyring items (the new name when renaming). */
static gboolean
store_secrets (GateProfile *profile, const char *name, EditOptions *options, const char *password,
              const char *api_key, GError **error)
{
  const char *id = gate_profile_get_id (profile);

  if (options->relay_password != NULL)
    {
      if (!gate_secret_store_store_sync (id, GATE_SECRET_RELAY_PASSWORD, name, options->relay_password, NULL,
                                         error))
        return FALSE;
      gate_profile_set_has_relay_password (profile, TRUE);
    }
  else if (options->relay_device_user != NULL && *g_strstrip (options->relay_device_user) == '\0'
           && gate_profile_get_has_relay_password (profile))
    {
      if (!gate_secret_store_delete_sync (id, GATE_SECRET_RELAY_PASSWORD, NULL, error))
        return FALSE;
      gate_profile_set_has_relay_password (profile, FALSE);
    }

  if (password != NULL)
    {
      if (!gate_secret_store_store_sync (id, GATE_SECRET_PASSWORD, name, password, NULL, error))
        return FALSE;
      gate_profile_set_has_password (profile, TRUE);
    }
  else if (options->forget_password)
    {
      if (!gate_secret_store_delete_sync (id, GATE_SECRET_PASSWORD, NULL, error))
        return FALSE;
      gate_profile_set_has_password (profile, FALSE);
    }

  if (api_key != NULL)
    {
      if (!gate_secret_store_store_sync (id, GATE_SECRET_API_KEY, name, api_key, NULL, error))
        return FALSE;
      gate_profile_set_has_api_key (profile, TRUE);
    }
  else if (options->forget_api_key)
    {
      if (!gate_secret_store_delete_sync (id, GATE_SECRET_API_KEY, NULL, error))
        return FALSE;
      gate_profile_set_has_api_key (profile, FALSE);
    }

  return TRUE;
}

static gboolean
save_secrets (GateProfile *profile, const char *name, EditOptions *options, const char *password,
              const char *api_key, GError **error)
{
  if (store_secrets (profile, name, options, password, api_key, error))
    return TRUE;
  gate_cli_add_keyring_hint (error, _("Without a keyring, keep the passwords out of the profile and give them "
                                      "each time instead: with --password-file when sending, and with "
                                      "--device-user and --device-password-file to the relay."));
  return FALSE;
}

static GOptionContext *
make_edit_context (EditOptions *options, gboolean adding)
{
  GOptionContext *context;
  const GOptionEntry add_entries[]
      = { { "preset", 0, 0, G_OPTION_ARG_STRING, &options->preset,
            N_("Provider: smtp2go or other (fills server, port and security)"), N_("ID") },
          { "region", 0, 0, G_OPTION_ARG_STRING, &options->region,
            N_("Provider region: global, us, eu or au for smtp2go"), N_("ID") },
          { "from-name", 0, 0, G_OPTION_ARG_STRING, &options->from_name,
            N_("Sender name shown to recipients"), N_("TEXT") },
          { "api-key-stdin", 0, 0, G_OPTION_ARG_NONE, &options->api_key_stdin,
            N_("Read the provider's API key from standard input (after the password with --password-stdin)"),
            NULL },
          { "rewrite-sender", 0, 0, G_OPTION_ARG_STRING, &options->rewrite_sender,
            N_("Whether the relay sends devices' mail as this profile's sender: yes or no"), N_("yes|no") },
          { "relay-listen", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options->relay_listen,
            N_("Where the relay takes mail, e.g. 0.0.0.0:2525 for the whole network (repeatable; \"\": "
               "127.0.0.1:2525)"),
            N_("ADDR:PORT") },
          { "relay-listen-tls", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options->relay_listen_tls,
            N_("Where the relay also takes mail secured from the start (TLS, as on port 465; for devices "
               "that offer only \"SSL\"), e.g. 0.0.0.0:4650 (repeatable; \"\": nowhere)"),
            N_("ADDR:PORT") },
          { "relay-allow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options->relay_allow,
            N_("Let the relay take mail from devices in this address range, e.g. 192.168.1.0/24 "
               "(repeatable; \"\": this computer only)"),
            N_("CIDR") },
          { "relay-starttls", 0, 0, G_OPTION_ARG_STRING, &options->relay_starttls,
            N_("Whether the relay lets devices secure their connection (STARTTLS), with a certificate "
               "Postgate makes: yes or no"),
            N_("yes|no") },
          { "relay-tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &options->relay_tls_cert,
            N_("Let devices secure their connection with this certificate (PEM, with its key unless "
               "--relay-tls-key is given) instead of one Postgate makes (\"\": Postgate's)"),
            N_("FILE") },
          { "relay-tls-key", 0, 0, G_OPTION_ARG_FILENAME, &options->relay_tls_key,
            N_("The private key of --relay-tls-cert, when it is not in the same file (PEM)"), N_("FILE") },
          { "relay-device-user", 0, 0, G_OPTION_ARG_STRING, &options->relay_device_user,
            N_("Let devices sign in to the relay with this user name (\"\": no sign-in)"), N_("NAME") },
          { "relay-device-password-file", 0, 0, G_OPTION_ARG_FILENAME, &options->relay_device_password_file,
            N_("Read the devices' password from FILE (it must be private: chmod 600) into the keyring"),
            N_("FILE") },
          { "relay-require-sign-in", 0, 0, G_OPTION_ARG_STRING, &options->relay_require_sign_in,
            N_("Whether the relay takes mail only from devices that signed in: yes or no"), N_("yes|no") },
          { "relay-allow-plain-sign-in", 0, 0, G_OPTION_ARG_STRING, &options->relay_allow_plain_sign_in,
            N_("Whether devices may sign in without securing the connection first: yes or no"),
            N_("yes|no") },
          { "relay-connections", 0, 0, G_OPTION_ARG_STRING, &options->relay_connections,
            N_("Connections the relay opens to the outgoing server at most (1–40; \"\": 4)"), N_("N") },
          { "relay-rate", 0, 0, G_OPTION_ARG_STRING, &options->relay_rate,
            N_("Messages an hour the relay sends at most (0: no limit; \"\": 200000)"), N_("N") },
          { NULL } };
  const GOptionEntry edit_entries[]
      = { { "name", 0, 0, G_OPTION_ARG_STRING, &options->new_name, N_("Rename the profile"), N_("NAME") },
          { "no-allow-plain-auth", 0, 0, G_OPTION_ARG_NONE, &options->no_allow_plain_auth,
            N_("Never send the password without encryption (the default)"), NULL },
          { "forget-password", 0, 0, G_OPTION_ARG_NONE, &options->forget_password,
            N_("Delete the saved password from the keyring"), NULL },
          { "forget-api-key", 0, 0, G_OPTION_ARG_NONE, &options->forget_api_key,
            N_("Delete the saved API key from the keyring"), NULL },
          { NULL } };

  options->connection = gate_cli_connection_options_new (GATE_CLI_CONNECTION_ALL);
  context = g_option_context_new (_("NAME"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, adding ? _("Add a profile.") : _("Change a profile."));
  g_option_context_set_description (
      context, _("Options take the same names as in “postgate-cli send”. Passwords and API keys are\n"
                  "saved in the system keyring, never in the profile file. Give an empty value\n"
                  "(--pin-sha256 \"\") to clear a setting.\n"
                  "\n"
                  "Example:\n"
                  "  printf '%s\\n' \"$PASSWORD\" | postgate-cli profile add Office --preset smtp2go \\\n"
                  "      --region eu --user office --password-stdin --from office@example.com"));
  gate_cli_connection_options_add_to_context (options->connection, context);
  g_option_context_add_main_entries (context, add_entries, GETTEXT_PACKAGE);
  if (!adding)
    g_option_context_add_main_entries (context, edit_entries, GETTEXT_PACKAGE);
  return context;
}

static void
print_secret_note (GateProfile *profile, const char *password, const char *api_key)
{
  if (password != NULL)
    printf ("%s\n", _("The password was saved in the system keyring."));
  else if (*gate_profile_get_username (profile) != '\0' && !gate_profile_get_has_password (profile))
    printf ("%s\n", _("No password is saved: send will ask for it, or add it with "
                       "“postgate-cli profile edit NAME --password-stdin”."));
  if (api_key != NULL)
    printf ("%s\n", _("The API key was saved in the system keyring."));
}

static int
command_add (int argc, char **argv)
{
  EditOptions options = { 0 };
  g_autoptr (GOptionContext) context = make_edit_context (&options, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GateProfileStore) store = NULL;
  g_autoptr (GateProfile) profile = NULL;
  char *password = NULL;
  char *api_key = NULL;
  const char *problem;
  int status = STATUS_FAILED;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    goto out;
  if (argc != 2)
    {
      g_set_error_literal (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("Give the name of the new profile: postgate-cli profile add NAME [OPTION…]"));
      goto out;
    }

  store = gate_cli_open_profile_store (&error);
  if (store == NULL)
    goto out;
  if ((problem = gate_profile_store_check_name (store, argv[1], NULL)) != NULL)
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: “%s”", problem, argv[1]);
      goto out;
    }

  profile = gate_profile_new (argv[1]);
  gate_profile_apply_preset (profile, options.preset ? options.preset : GATE_PRESET_OTHER, NULL);
  if (!apply_options (profile, &options, TRUE, &error)
      || !read_secrets (&options, profile, &password, &api_key, &error)
      || !save_secrets (profile, gate_profile_get_name (profile), &options, password, api_key, &error))
    goto out;

  if (!gate_profile_store_add (store, profile, &error))
    {
      /* Do not leave secrets of a profile that does not exist. */
      gate_secret_store_delete_all_sync (gate_profile_get_id (profile), NULL, NULL);
      goto out;
    }

  printf (_("Added the profile “%s”.\n"), gate_profile_get_name (profile));
  print_secret_note (profile, password, api_key);
  status = STATUS_OK;

out:
  if (error != NULL)
    fprintf (stderr, "%s\n", error->message);
  gate_cli_secret_free (password);
  gate_cli_secret_free (api_key);
  edit_options_clear (&options);
  return status;
}

static int
command_edit (int argc, char **argv)
{
  EditOptions options = { 0 };
  g_autoptr (GOptionContext) context = make_edit_context (&options, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GateProfileStore) store = NULL;
  g_autoptr (GateProfile) edited = NULL;
  GateProfile *profile;
  char *password = NULL;
  char *api_key = NULL;
  int status = STATUS_FAILED;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    goto out;
  if (argc != 2)
    {
      g_set_error_literal (
          &error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
          _("Give the name of the profile to change: postgate-cli profile edit NAME [OPTION…]"));
      goto out;
    }

  profile = open_store_at_profile (argv[1], &store, &error);
  if (profile == NULL)
    goto out;

  /* Work on a copy, so nothing half-changed is ever saved. */
  edited = gate_profile_duplicate (profile, gate_profile_get_name (profile));
  gate_profile_copy_settings (edited, profile);
  if (options.new_name != NULL)
    {
      const char *problem = gate_profile_store_check_name (store, options.new_name, profile);

      if (problem != NULL)
        {
          g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: “%s”", problem,
                       options.new_name);
          goto out;
        }
      gate_profile_set_name (edited, options.new_name);
    }
  if (!apply_options (edited, &options, FALSE, &error)
      || !read_secrets (&options, edited, &password, &api_key, &error)
      || !save_secrets (profile, gate_profile_get_name (edited), &options, password, api_key, &error))
    goto out;

  /* save_secrets() set the flags on the stored profile; keep them. */
  gate_profile_set_secret_kinds (edited, gate_profile_get_secret_kinds (profile));
  gate_profile_copy_settings (profile, edited);
  if (!gate_profile_store_save (store, &error))
    goto out;

  printf (_("Changed the profile “%s”.\n"), gate_profile_get_name (profile));
  print_secret_note (profile, password, api_key);
  status = STATUS_OK;

out:
  if (error != NULL)
    fprintf (stderr, "%s\n", error->message);
  gate_cli_secret_free (password);
  gate_cli_secret_free (api_key);
  edit_options_clear (&options);
  return status;
}

/* ---- list and show ---- */

static GOptionContext *
make_plain_context (const char *parameter, const char *summary)
{
  GOptionContext *context = g_option_context_new (parameter);

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, summary);
  return context;
}

static int
command_list (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = make_plain_context (NULL, _("List the profiles."));
  g_autoptr (GError) error = NULL;
  g_autoptr (GateProfileStore) store = NULL;
  guint n;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail_error (error);
  if (argc > 1)
    return fail (_("“profile list” takes no arguments."));

  store = gate_cli_open_profile_store (&error);
  if (store == NULL)
    return fail_error (error);

  n = g_list_model_get_n_items (G_LIST_MODEL (store));
  if (n == 0)
    {
      printf ("%s\n", _("No profiles yet. Add one with, for example:"));
      printf (
          "  postgate-cli profile add Office --preset smtp2go --user NAME --password-stdin --from ADDRESS\n");
      return STATUS_OK;
    }

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GateProfile) profile = g_list_model_get_item (G_LIST_MODEL (store), i);
      const char *user = gate_profile_get_username (profile);

      printf ("%s\t%s:%u\t%s\t%s\n", gate_profile_get_name (profile), gate_profile_get_host (profile),
              gate_profile_get_port (profile),
              gate_smtp_security_to_string (gate_profile_get_security (profile)), *user ? user : "-");
    }
  return STATUS_OK;
}

static void
print_field (const char *label, const char *value)
{
  printf ("  %s: %s\n", label, value != NULL && *value != '\0' ? value : "—");
}

/* What the keyring holds, in words; never the secret itself. */
static char *
describe_secret (GateProfile *profile, GateSecretKind kind, gboolean flag)
{
  g_autoptr (GError) error = NULL;
  char *secret = gate_secret_store_lookup_sync (gate_profile_get_id (profile), kind, NULL, &error);
  gboolean found = secret != NULL;

  gate_secret_free (secret);
  if (error != NULL)
    return g_strdup (flag ? _("saved in the keyring (the keyring cannot be reached now)")
                          : _("not saved (the keyring cannot be reached now)"));
  return g_strdup (found ? _("saved in the keyring") : _("not saved"));
}

static char *
format_time (GDateTime *when)
{
  g_autoptr (GDateTime) local = NULL;

  if (when == NULL)
    return NULL;
  local = g_date_time_to_local (when);
  return g_date_time_format (local, "%Y-%m-%d %H:%M");
}

static int
command_show (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = make_plain_context (_("NAME"), _("Show the settings of a profile."));
  g_autoptr (GError) error = NULL;
  g_autoptr (GateProfileStore) store = NULL;
  GateProfile *profile;
  GateProviderPreset *preset;
  g_autofree char *provider = NULL;
  g_autofree char *port = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *sender = NULL;
  g_autofree char *password = NULL;
  g_autofree char *api_key = NULL;
  g_autofree char *created = NULL;
  g_autofree char *last_success = NULL;
  g_autofree char *relay_listen = NULL;
  g_autofree char *relay_listen_tls = NULL;
  g_autofree char *relay_allow = NULL;
  g_autofree char *relay_connections = NULL;
  g_autofree char *relay_rate = NULL;
  GateSmtpAuthMechanism mechanism;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail_error (error);
  if (argc != 2)
    return fail (_("Give the name of the profile: postgate-cli profile show NAME"));

  profile = open_store_at_profile (argv[1], &store, &error);
  if (profile == NULL)
    return fail_error (error);

  preset = gate_provider_preset_lookup (gate_profile_get_preset_id (profile));
  if (preset != NULL)
    {
      GateProviderRegion *region = NULL;

      if (*gate_profile_get_region (profile) != '\0')
        region = gate_provider_preset_get_region (preset, gate_profile_get_region (profile));
      provider = region ? g_strdup_printf ("%s (%s)", gate_provider_preset_get_name (preset),
                                           gate_provider_region_get_name (region))
                        : g_strdup (gate_provider_preset_get_name (preset));
    }
  else
    provider = g_strdup (gate_profile_get_preset_id (profile));

  port = g_strdup_printf ("%u", gate_profile_get_port (profile));
  mechanism = gate_profile_get_auth_mechanism (profile);
  auth = mechanism == GATE_SMTP_AUTH_AUTOMATIC
             ? g_strdup (_("automatic"))
             : g_strdup (gate_smtp_auth_mechanism_to_string (mechanism) ?: _("several"));
  if (*gate_profile_get_sender_name (profile) != '\0')
    sender = g_strdup_printf ("%s <%s>", gate_profile_get_sender_name (profile),
                              gate_profile_get_sender_address (profile));
  else
    sender = g_strdup (gate_profile_get_sender_address (profile));
  password = describe_secret (profile, GATE_SECRET_PASSWORD, gate_profile_get_has_password (profile));
  api_key = describe_secret (profile, GATE_SECRET_API_KEY, gate_profile_get_has_api_key (profile));
  created = format_time (gate_profile_get_created (profile));
  last_success = format_time (gate_profile_get_last_success (profile));
  if (gate_profile_get_relay_listen (profile)[0] != NULL)
    relay_listen = g_strjoinv (", ", (char **)gate_profile_get_relay_listen (profile));
  else
    /* Translators: %s is an address and port, 127.0.0.1:2525. */
    relay_listen = g_strdup_printf (_("%s (the default: this computer only)"), GATE_RELAY_DEFAULT_LISTEN);
  relay_listen_tls = g_strjoinv (", ", (char **)gate_profile_get_relay_listen_tls (profile));
  if (gate_profile_get_relay_allow (profile)[0] != NULL)
    {
      g_autofree char *ranges = g_strjoinv (", ", (char **)gate_profile_get_relay_allow (profile));

      /* Translators: %s is a list of address ranges, 192.168.1.0/24, fd00::/8. */
      relay_allow = g_strdup_printf (_("this computer and %s"), ranges);
    }
  else
    relay_allow = g_strdup (_("this computer only"));
  if (gate_profile_get_relay_connections (profile) > 0)
    relay_connections = g_strdup_printf ("%u", gate_profile_get_relay_connections (profile));
  else
    /* Translators: %u is a number of connections. */
    relay_connections = g_strdup_printf (_("%u (the default)"), (guint)GATE_FORWARDER_DEFAULT_CONNECTIONS);
  if (gate_profile_get_relay_rate (profile) > 0)
    relay_rate = g_strdup_printf ("%d", gate_profile_get_relay_rate (profile));
  else if (gate_profile_get_relay_rate (profile) == 0)
    relay_rate = g_strdup (_("no limit"));
  else
    relay_rate = g_strdup_printf (_("%u (the default)"), (guint)GATE_FORWARDER_DEFAULT_RATE_PER_HOUR);

  printf ("%s\n", gate_profile_get_name (profile));
  print_field (_("Provider"), provider);
  print_field (_("Outgoing server"), gate_profile_get_host (profile));
  print_field (_("Port"), port);
  print_field (_("Security"), gate_smtp_security_get_label (gate_profile_get_security (profile)));
  print_field (_("User name"), gate_profile_get_username (profile));
  print_field (_("Password"), password);
  print_field (_("Sign-in method"), auth);
  print_field (_("Password without encryption"),
               gate_profile_get_allow_plain_auth (profile) ? _("allowed") : _("never sent"));
  print_field (_("Sender"), sender);
  print_field (_("Extra trusted certificate authority"), gate_profile_get_ca_file (profile));
  print_field (_("Pinned certificate (SHA-256)"), gate_profile_get_pinned_fingerprint (profile));
  print_field (_("Relay sends devices’ mail as this sender"),
               gate_profile_get_rewrite_sender (profile) ? _("yes") : _("no"));
  print_field (_("Relay takes mail on"), relay_listen);
  print_field (_("Relay takes mail secured from the start (TLS) on"), relay_listen_tls);
  print_field (_("Relay takes mail from"), relay_allow);
  print_field (_("Relay’s connections to the outgoing server at most"), relay_connections);
  print_field (_("Relay’s messages an hour at most"), relay_rate);
  print_field (_("Devices may secure their connection (STARTTLS)"),
               gate_profile_get_relay_starttls (profile) ? _("yes") : _("no"));
  if (gate_profile_get_relay_starttls (profile) || *relay_listen_tls != '\0')
    {
      const char *cert = gate_profile_get_relay_tls_cert (profile);

      print_field (_("Certificate offered to devices"), *cert != '\0' ? cert : _("one Postgate makes"));
      if (*cert != '\0')
        print_field (_("Its private key"), *gate_profile_get_relay_tls_key (profile) != '\0'
                                               ? gate_profile_get_relay_tls_key (profile)
                                               : _("in the same file"));
    }
  print_field (_("Devices sign in as"), gate_profile_get_relay_device_user (profile));
  if (*gate_profile_get_relay_device_user (profile) != '\0')
    {
      g_autofree char *relay_password = describe_secret (profile, GATE_SECRET_RELAY_PASSWORD,
                                                         gate_profile_get_has_relay_password (profile));

      print_field (_("Devices’ password"), relay_password);
      print_field (_("Devices must sign in"), gate_profile_get_relay_require_sign_in (profile) ? _("yes") : _("no"));
      print_field (_("Devices may sign in without securing the connection"),
                   gate_profile_get_relay_allow_plain_sign_in (profile) ? _("yes") : _("no"));
    }
  if (preset != NULL && gate_provider_preset_get_has_api (preset))
    print_field (_("API key"), api_key);
  print_field (_("Created"), created);
  print_field (_("Last successful test"), last_success ? last_success : _("never"));
  print_field (_("Id"), gate_profile_get_id (profile));
  return STATUS_OK;
}

/* ---- remove, export, import ---- */

static int
command_remove (int argc, char **argv)
{
  g_autoptr (GOptionContext) context
      = make_plain_context (_("NAME"), _("Remove a profile and its saved password."));
  g_autoptr (GError) error = NULL;
  g_autoptr (GateProfileStore) store = NULL;
  g_autoptr (GateProfile) profile = NULL;
  g_autofree char *id = NULL;
  gboolean had_secrets;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail_error (error);
  if (argc != 2)
    return fail (_("Give the name of the profile: postgate-cli profile remove NAME"));

  profile = open_store_at_profile (argv[1], &store, &error);
  if (profile == NULL)
    return fail_error (error);
  g_object_ref (profile);
  id = g_strdup (gate_profile_get_id (profile));
  had_secrets = gate_profile_get_secret_kinds (profile) != 0;

  if (!gate_profile_store_remove (store, profile, &error))
    return fail_error (error);
  printf (_("Removed the profile “%s”.\n"), gate_profile_get_name (profile));

  if (!gate_secret_store_delete_all_sync (id, NULL, &error) && had_secrets)
    {
      fprintf (stderr, _("Its password could not be deleted from the keyring: %s\n"), error->message);
      return STATUS_FAILED;
    }
  return STATUS_OK;
}

static int
command_duplicate (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = make_plain_context (
      _("NAME [NEW-NAME]"), _("Copy a profile and its saved passwords (new name: “NAME (copy)”)."));
  g_autoptr (GError) error = NULL;
  g_autoptr (GateProfileStore) store = NULL;
  g_autoptr (GateProfile) copy = NULL;
  g_autofree char *name = NULL;
  GateProfile *profile;
  guint kinds;
  guint copied = 0;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail_error (error);
  if (argc != 2 && argc != 3)
    return fail (_("Give the name of the profile: postgate-cli profile duplicate NAME [NEW-NAME]"));

  profile = open_store_at_profile (argv[1], &store, &error);
  if (profile == NULL)
    return fail_error (error);
  if (argc == 3)
    {
      const char *problem;

      name = g_strstrip (g_strdup (argv[2]));
      if ((problem = gate_profile_store_check_name (store, name, NULL)) != NULL)
        {
          fprintf (stderr, "%s: “%s”\n", problem, name);
          return STATUS_FAILED;
        }
    }
  else
    {
      /* Translators: the name of a copy of a profile; %s is the original's name. */
      g_autofree char *base = g_strdup_printf (_("%s (copy)"), gate_profile_get_name (profile));

      name = gate_profile_store_make_unique_name (store, base);
    }

  copy = gate_profile_duplicate (profile, name);
  kinds = gate_profile_get_secret_kinds (profile);
  /* The secrets first, into the copy's own keyring entries: a profile that
   * says it has a password it does not have would fail later, unattended. */
  if (kinds != 0
      && !gate_secret_store_copy_all_sync (gate_profile_get_id (profile), gate_profile_get_id (copy), kinds, name,
                                           &copied, NULL, &error))
    {
      gate_secret_store_delete_all_sync (gate_profile_get_id (copy), NULL, NULL);
      fprintf (stderr, _("The profile “%s” was not copied: its passwords could not be copied: %s\n"),
               gate_profile_get_name (profile), error->message);
      return STATUS_FAILED;
    }
  gate_profile_set_secret_kinds (copy, copied);
  if (!gate_profile_store_add (store, copy, &error))
    {
      /* Do not leave secrets of a profile that does not exist. */
      gate_secret_store_delete_all_sync (gate_profile_get_id (copy), NULL, NULL);
      return fail_error (error);
    }
  printf (_("Copied the profile “%s” to “%s”.\n"), gate_profile_get_name (profile), name);
  return STATUS_OK;
}

static int
command_export (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = make_plain_context (
      _("FILE [NAME…]"), _("Write profiles (all, or those named) to a file, without passwords "
                             "or API keys."));
  g_autoptr (GError) error = NULL;
  g_autoptr (GateProfileStore) store = NULL;
  g_autoptr (GPtrArray) chosen = NULL;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail_error (error);
  if (argc < 2)
    return fail (_("Give the file to write: postgate-cli profile export FILE [NAME…]"));

  store = gate_cli_open_profile_store (&error);
  if (store == NULL)
    return fail_error (error);

  chosen = g_ptr_array_new ();
  for (int i = 2; i < argc; i++)
    {
      GateProfile *profile = gate_cli_find_profile (store, argv[i], &error);

      if (profile == NULL)
        return fail_error (error);
      g_ptr_array_add (chosen, profile);
    }

  if (!gate_profile_store_export (store, argv[1], argc > 2 ? chosen : NULL, &error))
    return fail_error (error);

  printf (g_dngettext (GETTEXT_PACKAGE, "Exported %u profile to “%s” (without passwords or API keys).\n",
                       "Exported %u profiles to “%s” (without passwords or API keys).\n",
                       argc > 2 ? chosen->len : g_list_model_get_n_items (G_LIST_MODEL (store))),
          argc > 2 ? chosen->len : g_list_model_get_n_items (G_LIST_MODEL (store)), argv[1]);
  return STATUS_OK;
}

static int
command_import (int argc, char **argv)
{
  g_autoptr (GOptionContext) context
      = make_plain_context (_("FILE"), _("Add the profiles of an exported file."));
  g_autoptr (GError) error = NULL;
  g_autoptr (GateProfileStore) store = NULL;
  g_autoptr (GPtrArray) added = NULL;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail_error (error);
  if (argc != 2)
    return fail (_("Give the file to read: postgate-cli profile import FILE"));

  store = gate_cli_open_profile_store (&error);
  if (store == NULL)
    return fail_error (error);

  added = gate_profile_store_import (store, argv[1], &error);
  if (added == NULL)
    return fail_error (error);

  for (guint i = 0; i < added->len; i++)
    printf (_("Imported the profile “%s”.\n"), gate_profile_get_name (g_ptr_array_index (added, i)));
  if (added->len == 0)
    printf ("%s\n", _("The file holds no profiles."));
  else
    printf ("%s\n", _("Passwords are never exported: add them with "
                       "“postgate-cli profile edit NAME --password-stdin”."));
  for (guint i = 0; i < added->len; i++)
    if (*gate_profile_get_relay_device_user (g_ptr_array_index (added, i)) != '\0')
      {
        printf ("%s\n", _("Nor is the password devices sign in to the relay with: add it with "
                           "“postgate-cli profile edit NAME --relay-device-password-file FILE”."));
        break;
      }
  return STATUS_OK;
}

/* ---- dispatch ---- */

typedef struct
{
  const char *name;
  int (*run) (int argc, char **argv);
} ProfileCommand;

static const ProfileCommand profile_commands[] = {
  { "list", command_list },     { "show", command_show },     { "add", command_add },
  { "edit", command_edit },     { "remove", command_remove }, { "export", command_export },
  { "import", command_import },  { "duplicate", command_duplicate },
};

int
gate_cli_profile (int argc, char **argv)
{
  if (argc < 2)
    {
      print_usage (stderr);
      return STATUS_FAILED;
    }

  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return STATUS_OK;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (profile_commands); i++)
    {
      if (g_str_equal (argv[1], profile_commands[i].name))
        {
          g_autofree char *name = g_strdup_printf ("postgate-cli profile %s", profile_commands[i].name);
          g_autofree char **sub_argv = g_new0 (char *, argc);

          /* Names the subcommand in --help ("Usage: postgate-cli profile add"). */
          g_set_prgname (name);
          sub_argv[0] = name;
          for (int j = 2; j < argc; j++)
            sub_argv[j - 1] = argv[j];
          return profile_commands[i].run (argc - 1, sub_argv);
        }
    }

  fprintf (stderr, _("Unknown profile command “%s”.\n\n"), argv[1]);
  print_usage (stderr);
  return STATUS_FAILED;
}
