/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-cli"

#include "config.h"

#include "cli-connection-options.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#else
#include <io.h>
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* Longest secret read from a file or stdin; an OAuth token is a few KiB. */
#define SECRET_MAX 16384

static GateCliProfileLoader profile_loader;

void
gate_cli_connection_options_set_profile_loader (GateCliProfileLoader loader)
{
  profile_loader = loader;
}

/* Written through a volatile pointer so the compiler cannot drop it as a dead
 * store before free(). */
static void
wipe (void *data, gsize len)
{
  volatile guchar *p = data;

  while (len-- > 0)
    *p++ = 0;
}

void
gate_cli_secret_free (char *secret)
{
  if (secret == NULL)
    return;
  wipe (secret, strlen (secret));
  g_free (secret);
}

GateCliConnectionOptions *
gate_cli_connection_options_new (GateCliConnectionOptionFlags flags)
{
  GateCliConnectionOptions *options = g_new0 (GateCliConnectionOptions, 1);

  options->flags = flags;
  options->security_value = GATE_SMTP_SECURITY_STARTTLS;
  options->auth_value = GATE_SMTP_AUTH_AUTOMATIC;
  return options;
}

void
gate_cli_connection_options_free (GateCliConnectionOptions *options)
{
  if (options == NULL)
    return;

  g_free (options->profile_name);
  g_free (options->server);
  g_free (options->security);
  g_free (options->user);
  g_free (options->password_file);
  g_free (options->from);
  g_free (options->ca_file);
  g_free (options->pin_sha256);
  g_free (options->auth);
  g_free (options->oauth_token_file);
  gate_cli_secret_free (options->password);
  gate_cli_secret_free (options->oauth_token);
  g_free (options->pin_canonical);
  g_free (options);
}

void
gate_cli_connection_options_add_to_context (GateCliConnectionOptions *options, GOptionContext *context)
{
  g_autoptr (GArray) entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));

#define ADD(...)                                      \
  G_STMT_START                                        \
  {                                                   \
    GOptionEntry entry_ = { __VA_ARGS__ };            \
    g_array_append_val (entries, entry_);             \
  }                                                   \
  G_STMT_END

  g_return_if_fail (options != NULL);
  g_return_if_fail (context != NULL);

  if (profile_loader != NULL)
    ADD ("profile", 0, 0, G_OPTION_ARG_STRING, &options->profile_name,
         N_("Use the settings of a stored profile (options given here win)"), N_("NAME"));

  if (options->flags & GATE_CLI_CONNECTION_SERVER)
    {
      ADD ("server", 0, 0, G_OPTION_ARG_STRING, &options->server, N_("Outgoing server name or address"),
           N_("HOST"));
      ADD ("port", 0, 0, G_OPTION_ARG_INT, &options->port,
           N_("Server port (default: 587, or 465 with --security tls)"), N_("N"));
      ADD ("security", 0, 0, G_OPTION_ARG_STRING, &options->security,
           N_("Encryption: none, starttls (default) or tls"), N_("MODE"));
    }

  if (options->flags & GATE_CLI_CONNECTION_CREDENTIALS)
    {
      ADD ("user", 0, 0, G_OPTION_ARG_STRING, &options->user, N_("User name to sign in with"), N_("NAME"));
      ADD ("password-file", 0, 0, G_OPTION_ARG_FILENAME, &options->password_file,
           N_("Read the password from FILE (it must be private: chmod 600)"), N_("FILE"));
      ADD ("password-stdin", 0, 0, G_OPTION_ARG_NONE, &options->password_stdin,
           N_("Read the password from standard input"), NULL);
      ADD ("auth", 0, 0, G_OPTION_ARG_STRING, &options->auth,
           N_("Sign-in method: auto (default), plain, login, cram-md5 or xoauth2"), N_("MECH"));
      ADD ("oauth-token-file", 0, 0, G_OPTION_ARG_FILENAME, &options->oauth_token_file,
           N_("Read the OAuth 2 access token for xoauth2 from FILE"), N_("FILE"));
      ADD ("allow-plain-auth", 0, 0, G_OPTION_ARG_NONE, &options->allow_plain_auth,
           N_("Allow sending the password without encryption"), NULL);
    }

  if (options->flags & GATE_CLI_CONNECTION_SENDER)
    ADD ("from", 0, 0, G_OPTION_ARG_STRING, &options->from, N_("Sender address"), N_("ADDR"));

  if (options->flags & GATE_CLI_CONNECTION_TRUST)
    {
      ADD ("ca-file", 0, 0, G_OPTION_ARG_FILENAME, &options->ca_file,
           N_("Also trust the certificate authority in FILE (PEM)"), N_("FILE"));
      ADD ("pin-sha256", 0, 0, G_OPTION_ARG_STRING, &options->pin_sha256,
           N_("Trust the server certificate with this SHA-256 fingerprint"), N_("HEX"));
    }

#undef ADD

  g_option_context_add_main_entries (context, (const GOptionEntry *) (gpointer) entries->data, GETTEXT_PACKAGE);
}

/* ---- reading secrets ---- */

/* Strips one trailing line ending ("\n" or "\r\n") in place. */
static void
strip_one_newline (char *text, gsize *len)
{
  if (*len > 0 && text[*len - 1] == '\n')
    {
      text[--(*len)] = '\0';
      if (*len > 0 && text[*len - 1] == '\r')
        text[--(*len)] = '\0';
    }
}

/* Reads everything from @fd into a new secret string. */
static char *
read_secret_fd (int fd, const char *what, const char *source, GError **error)
{
  char *buffer = g_malloc0 (SECRET_MAX + 1);
  gsize len = 0;
  char *secret;

  for (;;)
    {
      gssize n = read (fd, buffer + len, SECRET_MAX - len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          wipe (buffer, SECRET_MAX);
          g_free (buffer);
          /* TRANSLATORS: the first %s is what is read ("password"), the second where from. */
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, _("Could not read the %s from %s: %s"),
                       what, source, g_strerror (saved_errno));
          return NULL;
        }
      if (n == 0)
        break;
      len += (gsize) n;
      if (len == SECRET_MAX)
        {
          wipe (buffer, SECRET_MAX);
          g_free (buffer);
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("The %s in %s is too long."), what, source);
          return NULL;
        }
    }

  strip_one_newline (buffer, &len);
  if (len == 0 || memchr (buffer, '\0', len) != NULL)
    {
      wipe (buffer, SECRET_MAX);
      g_free (buffer);
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   len == 0 ? _("The %s in %s is empty.") : _("The %s in %s is not text."), what, source);
      return NULL;
    }

  secret = g_strndup (buffer, len);
  wipe (buffer, SECRET_MAX);
  g_free (buffer);
  return secret;
}

char *
gate_cli_read_secret_file (const char *path, const char *what, GError **error)
{
  g_autofree char *display = NULL;
  char *secret;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  display = g_strdup_printf ("“%s”", path);
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, _("Could not open %s: %s"), display,
                   g_strerror (saved_errno));
      return NULL;
    }

#ifdef G_OS_UNIX
  {
    struct stat st;

    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
      {
        close (fd);
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("%s is not a regular file."), display);
        return NULL;
      }
    /* A secret others can read is not a secret: refuse rather than use it. */
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
      {
        close (fd);
        /* TRANSLATORS: the first %s is what the file holds ("password"), the
         * second and third the file's name. */
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     _("The %s file %s can be read by other users of this computer. Make it "
                       "private first, for example with: chmod 600 %s"),
                     what, display, path);
        return NULL;
      }
  }
#endif

  secret = read_secret_fd (fd, what, display, error);
  close (fd);
  return secret;
}

/* Reads a password from the terminal without showing it.  Platform code:
 * only terminals with termios can turn echo off. */
static char *
prompt_password (const char *user, const char *server, GError **error)
{
#ifdef G_OS_UNIX
  struct termios saved, quiet;
  char buffer[1024];
  gsize len;
  char *password;
  gboolean got;

  if (!isatty (STDIN_FILENO) || tcgetattr (STDIN_FILENO, &saved) != 0)
    goto no_terminal;

  /* TRANSLATORS: the first %s is a user name, the second a server name. */
  fprintf (stderr, _("Password for %s on %s: "), user, server);
  fflush (stderr);

  quiet = saved;
  quiet.c_lflag &= ~(tcflag_t) ECHO;
  quiet.c_lflag |= ECHONL;
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
  got = fgets (buffer, sizeof buffer, stdin) != NULL;
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);

  if (!got)
    {
      wipe (buffer, sizeof buffer);
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, _("No password was typed."));
      return NULL;
    }
  len = strlen (buffer);
  strip_one_newline (buffer, &len);
  password = g_strndup (buffer, len);
  wipe (buffer, sizeof buffer);
  if (len == 0)
    {
      gate_cli_secret_free (password);
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, _("No password was typed."));
      return NULL;
    }
  return password;

no_terminal:
#endif
  g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("A password is needed: give it with --password-file FILE or "
                         "--password-stdin (it is never taken as an argument)."));
  return NULL;
}

/* ---- validating ---- */

static gboolean
bad_value (GError **error, const char *message)
{
  g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, message);
  return FALSE;
}

static gboolean
validate_server (GateCliConnectionOptions *options, GError **error)
{
  if (options->server == NULL || *options->server == '\0')
    return bad_value (error, _("Give the outgoing server with --server HOST."));
  if (strpbrk (options->server, " \t\r\n/") != NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s” is not a server name or address."), options->server);
      return FALSE;
    }

  if (options->port < 0 || options->port > 65535)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("%d is not a port number (1 to 65535)."), options->port);
      return FALSE;
    }

  if (options->security != NULL)
    {
      if (!gate_smtp_security_from_string (options->security, &options->security_value))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not a security mode: use none, starttls or tls."), options->security);
          return FALSE;
        }
    }
  else if (options->port == 465 || options->port == 8465 || options->port == 443)
    {
      /* These ports speak TLS from the first byte. */
      options->security_value = GATE_SMTP_SECURITY_TLS;
    }
  else
    {
      options->security_value = GATE_SMTP_SECURITY_STARTTLS;
    }

  if (options->port == 0)
    options->port = options->security_value == GATE_SMTP_SECURITY_TLS ? 465 : 587;

  return TRUE;
}

static gboolean
validate_credentials (GateCliConnectionOptions *options, GError **error)
{
  gboolean have_user = options->user != NULL && *options->user != '\0';

  if (options->auth != NULL)
    {
      options->auth_value = gate_smtp_auth_mechanism_from_string (options->auth);
      if (options->auth_value == GATE_SMTP_AUTH_NONE)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not a sign-in method: use auto, plain, login, cram-md5 or xoauth2."),
                       options->auth);
          return FALSE;
        }
    }

  if (options->password_file != NULL && options->password_stdin)
    return bad_value (error, _("Give the password either with --password-file or with --password-stdin, "
                               "not both."));

  if (!have_user)
    {
      if (options->password_file != NULL || options->password_stdin || options->oauth_token_file != NULL)
        return bad_value (error, _("A password or token needs a user name: add --user NAME."));
      if (options->auth != NULL && options->auth_value != GATE_SMTP_AUTH_AUTOMATIC)
        return bad_value (error, _("A sign-in method needs a user name: add --user NAME."));
      return TRUE;
    }

  if (options->auth_value == GATE_SMTP_AUTH_XOAUTH2)
    {
      if (options->password_file != NULL || options->password_stdin)
        return bad_value (error, _("The xoauth2 sign-in method uses an access token, not a password: "
                                   "give it with --oauth-token-file FILE."));
      if (options->oauth_token_file != NULL)
        {
          gate_cli_secret_free (g_steal_pointer (&options->oauth_token));
          options->oauth_token = gate_cli_read_secret_file (options->oauth_token_file, _("access token"), error);
          if (options->oauth_token == NULL)
            return FALSE;
        }
      if (options->oauth_token == NULL)
        return bad_value (error, _("The xoauth2 sign-in method needs an access token: give it with "
                                   "--oauth-token-file FILE."));
      return TRUE;
    }

  if (options->oauth_token_file != NULL)
    return bad_value (error, _("An access token is only used with --auth xoauth2."));

  if (options->password_file != NULL)
    {
      gate_cli_secret_free (g_steal_pointer (&options->password));
      options->password = gate_cli_read_secret_file (options->password_file, _("password"), error);
      return options->password != NULL;
    }

  if (options->password_stdin)
    {
      gate_cli_secret_free (g_steal_pointer (&options->password));
      options->password = read_secret_fd (0, _("password"), _("standard input"), error);
      return options->password != NULL;
    }

  /* A profile loader may have taken it from the keyring already. */
  if (options->password != NULL)
    return TRUE;

  options->password = prompt_password (options->user, options->server != NULL ? options->server : "?", error);
  return options->password != NULL;
}

gboolean
gate_cli_connection_options_validate (GateCliConnectionOptions *options, GError **error)
{
  g_return_val_if_fail (options != NULL, FALSE);

  if (options->profile_name != NULL)
    {
      g_assert (profile_loader != NULL);
      if (!profile_loader (options, error))
        return FALSE;
    }

  if ((options->flags & GATE_CLI_CONNECTION_SERVER) && !validate_server (options, error))
    return FALSE;

  if ((options->flags & GATE_CLI_CONNECTION_SENDER) && options->from != NULL
      && !gate_smtp_address_is_valid (options->from))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s” is not an email address."), options->from);
      return FALSE;
    }

  if (options->flags & GATE_CLI_CONNECTION_TRUST)
    {
      if (options->ca_file != NULL && !g_file_test (options->ca_file, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("The certificate authority file “%s” does not exist."), options->ca_file);
          return FALSE;
        }
      if (options->ca_file != NULL && !g_path_is_absolute (options->ca_file))
        {
          /* A profile saved with this path must not depend on the folder
           * it was typed in. */
          char *absolute = g_canonicalize_filename (options->ca_file, NULL);

          g_free (options->ca_file);
          options->ca_file = absolute;
        }
      g_clear_pointer (&options->pin_canonical, g_free);
      if (options->pin_sha256 != NULL
          && !gate_tls_fingerprint_normalize (options->pin_sha256, &options->pin_canonical))
        return bad_value (error, _("The fingerprint given with --pin-sha256 is not a SHA-256 fingerprint "
                                   "(64 hexadecimal digits, colons allowed)."));
    }

  /* Last: it may prompt, and a typing mistake elsewhere should not cost the
   * user a typed password. */
  if ((options->flags & GATE_CLI_CONNECTION_CREDENTIALS) && !validate_credentials (options, error))
    return FALSE;

  return TRUE;
}

void
gate_cli_connection_options_apply (GateCliConnectionOptions *options, GateSmtpClient *client)
{
  g_return_if_fail (options != NULL);
  g_return_if_fail (GATE_IS_SMTP_CLIENT (client));

  if (options->user != NULL && *options->user != '\0')
    {
      if (options->auth_value == GATE_SMTP_AUTH_XOAUTH2)
        gate_smtp_client_set_oauth_token (client, options->user, options->oauth_token);
      else
        gate_smtp_client_set_credentials (client, options->user, options->password);
    }
  gate_smtp_client_set_auth_mechanisms (client, options->auth_value);
  gate_smtp_client_set_allow_plain_auth (client, options->allow_plain_auth);
  if (options->ca_file != NULL)
    gate_smtp_client_set_ca_file (client, options->ca_file);
  if (options->pin_canonical != NULL)
    gate_smtp_client_set_pinned_fingerprint (client, options->pin_canonical);
}

GateSmtpClient *
gate_cli_connection_options_create_client (GateCliConnectionOptions *options)
{
  GateSmtpClient *client;

  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (options->server != NULL, NULL);

  client = gate_smtp_client_new (options->server, (guint16) options->port, options->security_value);
  gate_cli_connection_options_apply (options, client);
  return client;
}
