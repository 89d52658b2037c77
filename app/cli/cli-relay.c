/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-cli"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli-commands.h"
#include "cli-connection-options.h"
#include "cli-output.h"
#include "cli-password-watch.h"
#include "cli-profile-loader.h"
#include "gate-local-time.h"
#include "gate-queue.h"
#include "gate-relay.h"

/* `postgate-cli relay`: the relay without the tray, for a server or a
 * script.  It prints one plain line per event and stops cleanly on SIGINT or
 * SIGTERM, finishing or putting back what is being forwarded. */

typedef struct
{
  GMainLoop *loop;
  GateRelay *relay;
  GCancellable *starting; /* cancelled by a signal before the relay runs */
  gboolean started;
  gboolean stopping;
  int status;
} RelayRun;

typedef enum
{
  LINE_INFO,
  LINE_WARNING,
} LineLevel;

static void print_line_at (LineLevel level, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
print_line_at (LineLevel level, const char *format, ...)
{
  /* A busy relay prints two lines a message: the time stamp is made once a
   * second, not for every line. */
  static gint64 stamp_second = -1;
  static char *stamp = NULL;
  static int to_journal = -1;
  gint64 second = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *text = NULL;
  va_list args;

  /* Engine log lines may come from its worker threads (print_engine_line). */
  static GMutex lock;
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (to_journal < 0)
    to_journal = gate_cli_output_is_journal (stdout);
  if (to_journal)
    {
      printf ("%s%s\n", level == LINE_WARNING ? "<4>" : "", text);
      fflush (stdout);
      return;
    }
  if (second != stamp_second)
    {
      g_autoptr (GDateTime) now = gate_local_time_now ();

      g_free (stamp);
      stamp = g_date_time_format (now, "%Y-%m-%d %H:%M:%S");
      stamp_second = second;
    }
  printf ("%s %s\n", stamp, text);
  fflush (stdout);
}

#define print_line(...) print_line_at (LINE_INFO, __VA_ARGS__)
#define print_warning_line(...) print_line_at (LINE_WARNING, __VA_ARGS__)

/* The engine's own log lines (a message put back in the queue at start, a
 * file that could not be removed) in the relay's format. */
static void
print_engine_line (gboolean warning, const char *message)
{
  if (warning)
    /* Translators: a line of the relay's log about a problem. */
    print_warning_line (_ ("Warning: %s"), message);
  else
    print_line ("%s", message);
}

static void
delivered_cb (GateRelay *relay, const char *id, const char *reply, gpointer user_data)
{
  /* Translators: the second %s is the outgoing server's reply, as it gave it. */
  print_line (_ ("Forwarded message %s: %s"), id, reply);
}

/* When the outgoing server cannot be reached, every message due is put back
 * at once, and a queue of thousands would print thousands of lines at each
 * try.  Messages put back together are told in one line per reason; one
 * alone keeps its own line with its ID. */
typedef struct
{
  char *reason;
  char *first_id;
  guint count;
  guint min_seconds;
  guint max_seconds;
} DeferralGroup;

static GPtrArray *deferral_groups; /* of DeferralGroup, until the next turn of the loop */
static guint deferral_flush_source;

static void
deferral_group_free (gpointer data)
{
  DeferralGroup *group = data;

  g_free (group->reason);
  g_free (group->first_id);
  g_free (group);
}

static void
print_deferral_group (const DeferralGroup *group)
{
  if (group->count == 1)
    print_line (_ ("Could not forward message %s yet; trying again in %u s: %s"), group->first_id,
                group->min_seconds, group->reason);
  else if (group->min_seconds == group->max_seconds)
    print_line (g_dngettext (GETTEXT_PACKAGE, "Could not forward %u message yet; trying again in %u s: %s",
                             "Could not forward %u messages yet; trying again in %u s: %s", group->count),
                group->count, group->min_seconds, group->reason);
  else
    print_line (
        g_dngettext (GETTEXT_PACKAGE, "Could not forward %u message yet; trying again in %u to %u s: %s",
                     "Could not forward %u messages yet; trying again in %u to %u s: %s", group->count),
        group->count, group->min_seconds, group->max_seconds, group->reason);
}

static void
flush_deferrals (void)
{
  g_clear_handle_id (&deferral_flush_source, g_source_remove);
  if (deferral_groups == NULL)
    return;
  for (guint i = 0; i < deferral_groups->len; i++)
    print_deferral_group (deferral_groups->pdata[i]);
  g_ptr_array_set_size (deferral_groups, 0);
}

static gboolean
flush_deferrals_cb (gpointer user_data)
{
  deferral_flush_source = 0;
  flush_deferrals ();
  return G_SOURCE_REMOVE;
}

static void
deferred_cb (GateRelay *relay, const char *id, const char *reason, gint64 next, gpointer user_data)
{
  gint64 wait = MAX (0, next - g_get_real_time () / G_USEC_PER_SEC);
  /* A plain %u keeps the whole sentence translatable (a G_GINT64_FORMAT
   * in the middle of a literal splits it for xgettext). */
  guint seconds = (guint)MIN (wait, (gint64)G_MAXUINT);
  DeferralGroup *group = NULL;

  if (deferral_groups == NULL)
    deferral_groups = g_ptr_array_new_with_free_func (deferral_group_free);
  for (guint i = 0; i < deferral_groups->len && group == NULL; i++)
    if (g_strcmp0 (((DeferralGroup *)deferral_groups->pdata[i])->reason, reason) == 0)
      group = deferral_groups->pdata[i];
  if (group == NULL)
    {
      group = g_new0 (DeferralGroup, 1);
      group->reason = g_strdup (reason);
      group->first_id = g_strdup (id);
      group->min_seconds = group->max_seconds = seconds;
      g_ptr_array_add (deferral_groups, group);
    }
  group->count++;
  group->min_seconds = MIN (group->min_seconds, seconds);
  group->max_seconds = MAX (group->max_seconds, seconds);
  /* At the default priority, not idle: a busy relay may never be idle. */
  if (deferral_flush_source == 0)
    deferral_flush_source = g_timeout_add_full (G_PRIORITY_DEFAULT, 0, flush_deferrals_cb, NULL, NULL);
}

static void
failed_cb (GateRelay *relay, const char *id, const char *reason, gpointer user_data)
{
  print_warning_line (_ ("Message %s stays in the queue as failed: %s"), id, reason);
}

static void
recipient_failed_cb (GateRelay *relay, const char *id, const char *rcpt, const char *reason,
                     gpointer user_data)
{
  print_warning_line (_ ("Message %s, recipient %s: %s"), id, rcpt, reason);
}

/* The relay's own account of what it does: where it listens, each message it
 * takes (with its queue id), each connection it refuses. */
static void
log_cb (GateRelay *relay, const char *line, gpointer user_data)
{
  print_line ("%s", line);
}

static void
upstream_cb (GateRelay *relay, GParamSpec *pspec, gpointer user_data)
{
  /* Waiting does not mend a refused password or an untrusted certificate:
   * the journal shows those as warnings. */
  switch (gate_relay_get_upstream_problem (relay))
    {
      case GATE_UPSTREAM_PROBLEM_SIGN_IN:
      case GATE_UPSTREAM_PROBLEM_SECURITY:
        print_warning_line ("%s", gate_relay_get_upstream_state (relay));
        break;
      case GATE_UPSTREAM_PROBLEM_NONE:
      case GATE_UPSTREAM_PROBLEM_UNREACHABLE:
        print_line ("%s", gate_relay_get_upstream_state (relay));
        break;
    }
}

static void
announce_line (const char *line)
{
  print_line ("%s", line);
}

static void
stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RelayRun *run = user_data;
  g_autoptr (GError) error = NULL;

  if (!gate_relay_stop_finish (GATE_RELAY (source), result, &error))
    {
      gate_cli_print_error (_ ("Could not stop cleanly: %s\n"), error->message);
      run->status = 1;
    }
  flush_deferrals ();
  print_line ("%s", _ ("Stopped"));
  g_main_loop_quit (run->loop);
}

static gboolean
signal_cb (gpointer user_data)
{
  RelayRun *run = user_data;

  if (!run->started)
    {
      /* Still reading the keyring or making the certificate. */
      g_cancellable_cancel (run->starting);
      return G_SOURCE_CONTINUE;
    }
  if (run->stopping)
    {
      /* A second signal: stop now; whatever was being sent is queued again
       * at the next start. */
      print_line ("%s", _ ("Stopping now"));
      g_main_loop_quit (run->loop);
      return G_SOURCE_CONTINUE;
    }
  run->stopping = TRUE;
  print_line ("%s", _ ("Stopping: finishing the deliveries under way"));
  gate_relay_stop_async (run->relay, NULL, stopped_cb, run);
  return G_SOURCE_CONTINUE;
}

/* How devices may secure their connection and sign in (--starttls,
 * --tls-cert, --device-user…).  Given, they replace the profile's all
 * together; not given, the relay takes the profile's. */
typedef struct
{
  gboolean starttls;
  gboolean no_starttls;
  char *tls_cert;
  char *tls_key;
  char *user;
  char *password_file;
  gboolean require_sign_in;
  gboolean allow_plain_sign_in;
} DeviceSecurity;

static void
device_security_clear (DeviceSecurity *devices)
{
  g_free (devices->tls_cert);
  g_free (devices->tls_key);
  g_free (devices->user);
  g_free (devices->password_file);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DeviceSecurity, device_security_clear)

/* A certificate of the user's own is offered with STARTTLS unless
 * --no-starttls keeps it for the TLS addresses. */
static gboolean
device_starttls (const DeviceSecurity *devices)
{
  return devices->starttls || (devices->tls_cert != NULL && !devices->no_starttls);
}

/* Options that do not go together, each refused with what to add.
 * @tls_listen: devices may also connect with TLS from the start (--listen-tls). */
static gboolean
device_security_check (const DeviceSecurity *devices, gboolean tls_listen)
{
  if (devices->tls_key != NULL && devices->tls_cert == NULL)
    {
      gate_cli_print_error ("%s\n", _ ("--tls-key goes with --tls-cert."));
      return FALSE;
    }
  if (devices->no_starttls && (devices->starttls || devices->tls_cert == NULL || !tls_listen))
    {
      gate_cli_print_error ("%s\n", devices->starttls
                                        ? _ ("Give either --starttls or --no-starttls, not both.")
                                        : _ ("--no-starttls goes with --tls-cert and --listen-tls: it keeps "
                                             "the certificate for the addresses secured from the start."));
      return FALSE;
    }
  switch (gate_relay_check_sign_in (device_starttls (devices) || tls_listen, devices->user != NULL,
                                    devices->password_file != NULL, devices->require_sign_in,
                                    devices->allow_plain_sign_in))
    {
      case GATE_RELAY_SIGN_IN_USABLE:
        return TRUE;
      case GATE_RELAY_SIGN_IN_HALF_GIVEN:
        gate_cli_print_error (
            "%s\n", _ ("Devices sign in with both --device-user NAME and --device-password-file FILE."));
        return FALSE;
      case GATE_RELAY_SIGN_IN_RULE_WITHOUT_USER:
        gate_cli_print_error ("%s\n", _ ("--require-sign-in and --allow-plain-sign-in need --device-user and "
                                         "--device-password-file."));
        return FALSE;
      case GATE_RELAY_SIGN_IN_NEVER_OFFERED:
      default:
        gate_cli_print_error (
            "%s\n", _ ("Devices can sign in only over a secured connection: add --starttls (or --tls-cert) "
                       "or --listen-tls, or --allow-plain-sign-in for devices that cannot secure it."));
        return FALSE;
    }
}

static gboolean
device_security_given (const DeviceSecurity *devices)
{
  return devices->starttls || devices->no_starttls || devices->tls_cert != NULL || devices->tls_key != NULL
         || devices->user != NULL || devices->password_file != NULL || devices->require_sign_in
         || devices->allow_plain_sign_in;
}

/* Hands the options to the relay, with the password read from its file. */
static gboolean
device_security_apply (DeviceSecurity *devices, GateRelay *relay, GError **error)
{
  gate_relay_set_device_tls (relay, device_starttls (devices), devices->tls_cert, devices->tls_key);
  if (devices->user != NULL)
    {
      char *password = gate_cli_read_secret_file (devices->password_file, _ ("password"), error);

      if (password == NULL)
        return FALSE;
      gate_relay_set_device_credentials (relay, devices->user, password, devices->allow_plain_sign_in,
                                         devices->require_sign_in);
      gate_cli_secret_free (password);
    }
  return TRUE;
}

static void
print_queue_state (GateRelay *relay)
{
  g_autofree char *spool_path = gate_relay_dup_spool_path (relay);
  guint n = gate_relay_get_queue_length (relay);
  /* Failed messages stay until the user deletes them: say so at each start,
   * not only when they failed. */
  g_autoptr (GateQueue) queue = gate_queue_new (gate_relay_get_spool (relay));
  guint n_failed = gate_queue_get_n_failed (queue);

  print_line (_ ("Queue folder: %s"), spool_path);
  print_line (
      g_dngettext (GETTEXT_PACKAGE, "%u message waiting in the queue", "%u messages waiting in the queue", n),
      n);
  if (n_failed > 0)
    print_line (g_dngettext (GETTEXT_PACKAGE,
                             "%u message could not be sent and is kept in the queue: see “postgate-cli "
                             "queue list --failed”",
                             "%u messages could not be sent and are kept in the queue: see “postgate-cli "
                             "queue list --failed”",
                             n_failed),
                n_failed);
}

static void
started_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RelayRun *run = user_data;
  g_autoptr (GError) error = NULL;

  if (gate_relay_start_finish (GATE_RELAY (source), result, &error))
    {
      run->started = TRUE;
      print_queue_state (run->relay);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    print_line ("%s", _ ("Stopped"));
  else
    {
      /* The devices' password of the profile, from a keyring out of reach. */
      gate_cli_add_keyring_hint (&error, _ ("Without a keyring, give the relay the devices' sign-in with "
                                            "--device-user NAME and --device-password-file FILE."));
      gate_cli_print_error (_ ("The relay could not start: %s\n"), error->message);
      if (g_error_matches (error, GATE_RELAY_ERROR, GATE_RELAY_ERROR_DEVICE_PASSWORD_MISSING))
        gate_cli_print_error ("%s\n", _ ("Save it with “postgate-cli profile edit NAME "
                                         "--relay-device-password-file FILE”."));
      run->status = 1;
    }
  g_main_loop_quit (run->loop);
}

#define NOT_GIVEN G_MININT

static GateSmtpClient *
options_client_factory (gpointer user_data)
{
  return gate_cli_connection_options_create_client (user_data);
}

int
gate_cli_relay (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GateCliConnectionOptions) options = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GateRelay) relay = NULL;
  /* Declared after the relay, so freed before it. */
  g_autoptr (GateCliPasswordWatch) password_watch = NULL;
  g_autoptr (GateProfile) profile = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (GCancellable) starting = NULL;
  g_auto (GStrv) listen = NULL;
  g_auto (GStrv) listen_tls = NULL;
  g_auto (GStrv) allow = NULL;
  g_autofree char *spool = NULL;
  g_autofree char *rewrite = NULL;
  gboolean no_rewrite = FALSE;
  g_auto (DeviceSecurity) devices = { 0 };
  /* Not given: the profile's, or the relay's default. */
  int connections = NOT_GIVEN;
  int rate = NOT_GIVEN;
  int retry_base = GATE_FORWARDER_DEFAULT_RETRY_BASE;
  int retry_max = GATE_FORWARDER_DEFAULT_RETRY_MAX;
  int max_age = GATE_FORWARDER_DEFAULT_MAX_AGE;
  RelayRun run = { 0 };
  guint sigint_id, sigterm_id;
  GOptionGroup *advanced;
  const GOptionEntry entries[] = {
    { "listen", 0, 0, G_OPTION_ARG_STRING_ARRAY, &listen,
      N_ ("Accept mail on this address and port (repeatable; default 127.0.0.1:2525)"), N_ ("ADDR:PORT") },
    { "listen-tls", 0, 0, G_OPTION_ARG_STRING_ARRAY, &listen_tls,
      N_ ("Also accept mail secured from the start (TLS, as on port 465) on this address and port, with the "
          "relay's certificate (repeatable)"),
      N_ ("ADDR:PORT") },
    { "allow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &allow,
      N_ ("Also accept devices from this address range, e.g. 192.168.1.0/24 (repeatable)"), N_ ("CIDR") },
    { "spool", 0, 0, G_OPTION_ARG_FILENAME, &spool, N_ ("Keep the queue in this folder"), N_ ("DIR") },
    { "rewrite-sender", 0, 0, G_OPTION_ARG_STRING, &rewrite,
      N_ ("Send every message as this verified sender, keeping the device's address in Reply-To"),
      N_ ("ADDR") },
    { "no-rewrite-sender", 0, 0, G_OPTION_ARG_NONE, &no_rewrite, N_ ("Keep the devices' senders as they are"),
      NULL },
    { "connections", 0, 0, G_OPTION_ARG_INT, &connections,
      N_ ("Connections to the outgoing server at most (1–40, default 4)"), N_ ("N") },
    { "rate", 0, 0, G_OPTION_ARG_INT, &rate, N_ ("Messages per hour at most (default 200000; 0: no limit)"),
      N_ ("N") },
    { "starttls", 0, 0, G_OPTION_ARG_NONE, &devices.starttls,
      N_ ("Let devices secure their connection (STARTTLS), with a certificate Postgate makes the first time"),
      NULL },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &devices.tls_cert,
      N_ ("Let devices secure their connection with this certificate instead (PEM)"), N_ ("FILE") },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &devices.tls_key,
      N_ ("The private key of --tls-cert, when it is not in the same file (PEM)"), N_ ("FILE") },
    { "no-starttls", 0, 0, G_OPTION_ARG_NONE, &devices.no_starttls,
      N_ ("With --tls-cert: offer the certificate only where devices connect with TLS from the start "
          "(--listen-tls), not STARTTLS on the plain addresses"),
      NULL },
    { "device-user", 0, 0, G_OPTION_ARG_STRING, &devices.user,
      N_ ("Let devices sign in with this user name and the password of --device-password-file"),
      N_ ("NAME") },
    { "device-password-file", 0, 0, G_OPTION_ARG_FILENAME, &devices.password_file,
      N_ ("Read the devices' password from FILE (it must be private: chmod 600)"), N_ ("FILE") },
    { "require-sign-in", 0, 0, G_OPTION_ARG_NONE, &devices.require_sign_in,
      N_ ("Take mail only from devices that signed in"), NULL },
    { "allow-plain-sign-in", 0, 0, G_OPTION_ARG_NONE, &devices.allow_plain_sign_in,
      N_ ("Let devices sign in without securing the connection first (old devices on a network you trust)"),
      NULL },
    { NULL }
  };
  const GOptionEntry advanced_entries[]
      = { { "retry-base", 0, 0, G_OPTION_ARG_INT, &retry_base,
            N_ ("First wait after a temporary failure, doubled at each retry (default 60)"), N_ ("SECONDS") },
          { "retry-max", 0, 0, G_OPTION_ARG_INT, &retry_max,
            N_ ("Longest wait between two tries (default 3600)"), N_ ("SECONDS") },
          { "max-age", 0, 0, G_OPTION_ARG_INT, &max_age,
            N_ ("Give a message up after trying for this long (default 5 days)"), N_ ("SECONDS") },
          { NULL } };

  setvbuf (stdout, NULL, _IOLBF, 0);

  context = g_option_context_new (NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (
      context, _ ("Accept mail from devices and programs on this computer or network, keep it "
                  "safely in a queue and forward it to the outgoing server.\n\n"
                  "Forward through a profile (--profile NAME) or through a server given "
                  "with the connection options below. A profile also says where the relay takes "
                  "mail, from which devices and how they sign in (see “postgate-cli profile edit "
                  "--help”); options given here replace those for this run."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  gate_cli_connection_options_set_profile_loader (gate_cli_profile_loader);
  options = gate_cli_connection_options_new (GATE_CLI_CONNECTION_SERVER | GATE_CLI_CONNECTION_CREDENTIALS
                                             | GATE_CLI_CONNECTION_TRUST);
  gate_cli_connection_options_add_to_context (options, context);
  advanced = g_option_group_new ("advanced", _ ("Advanced options (for testing):"),
                                 _ ("Show the advanced options"), NULL, NULL);
  g_option_group_add_entries (advanced, advanced_entries);
  g_option_group_set_translation_domain (advanced, GETTEXT_PACKAGE);
  g_option_context_add_group (context, advanced);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      gate_cli_print_error ("%s\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      gate_cli_print_error (_ ("Unexpected argument “%s”.\n"), argv[1]);
      return 2;
    }
  if ((connections != NOT_GIVEN && (connections < 1 || connections > GATE_FORWARDER_MAX_CONNECTIONS))
      || (rate != NOT_GIVEN && rate < 0) || retry_base < 1 || retry_max < 1 || max_age < 1)
    {
      gate_cli_print_error ("%s\n",
                            _ ("--connections takes 1 to 40; --rate, --retry-base, --retry-max and --max-age "
                               "take positive numbers."));
      return 2;
    }

  gate_cli_set_engine_log_printer (print_engine_line);
  relay = gate_relay_new ();

  /* The loader fills what the command line left unset from the profile
   * and finds the password; what the user typed wins. */
  if (!gate_cli_connection_options_validate (options, &error))
    {
      gate_cli_print_error ("%s\n", error->message);
      if (options->profile_name == NULL && options->server == NULL)
        gate_cli_print_error ("%s\n", _ ("Give the outgoing server with --profile NAME or --server HOST."));
      return 2;
    }
  if (options->profile_name != NULL)
    {
      g_autoptr (GateProfileStore) store = gate_cli_open_profile_store (&error);
      GateProfile *found
          = store != NULL ? gate_cli_find_profile (store, options->profile_name, &error) : NULL;

      if (found == NULL)
        {
          gate_cli_print_error ("%s\n", error->message);
          return 1;
        }
      /* The profile gives the default queue folder, the sender rewrite,
       * where to listen, who may send and how devices sign in. */
      profile = g_object_ref (found);
      gate_relay_set_profile (relay, profile, NULL);
    }
  if (device_security_given (&devices))
    {
      /* The addresses secured from the start are not the devices' settings:
       * without --listen-tls they are the profile's. */
      if (!device_security_check (
              &devices, listen_tls != NULL
                            || (profile != NULL && gate_profile_get_relay_listen_tls (profile)[0] != NULL)))
        return 2;
      if (!device_security_apply (&devices, relay, &error))
        {
          gate_cli_print_error ("%s\n", error->message);
          return 1;
        }
    }
  gate_relay_set_client_factory (relay, options_client_factory, options, NULL);
  password_watch = gate_cli_password_watch_new (
      relay, options, options->password_from_keyring ? gate_profile_get_id (profile) : NULL, announce_line);

  for (guint i = 0; listen != NULL && listen[i] != NULL; i++)
    gate_relay_add_listen (relay, listen[i]);
  for (guint i = 0; listen_tls != NULL && listen_tls[i] != NULL; i++)
    gate_relay_add_listen_tls (relay, listen_tls[i]);
  for (guint i = 0; allow != NULL && allow[i] != NULL; i++)
    gate_relay_add_allowed (relay, allow[i]);
  if (spool != NULL)
    gate_relay_set_spool_path (relay, spool);
  if (no_rewrite)
    gate_relay_set_sender_rewrite (relay, NULL);
  else if (rewrite != NULL)
    gate_relay_set_sender_rewrite (relay, rewrite);
  if (connections != NOT_GIVEN)
    gate_relay_set_max_connections (relay, connections);
  if (rate != NOT_GIVEN)
    gate_relay_set_rate_per_hour (relay, rate);
  gate_relay_set_retry (relay, retry_base, retry_max);
  gate_relay_set_max_age (relay, max_age);

  g_signal_connect (relay, "delivered", G_CALLBACK (delivered_cb), NULL);
  g_signal_connect (relay, "deferred", G_CALLBACK (deferred_cb), NULL);
  g_signal_connect (relay, "failed", G_CALLBACK (failed_cb), NULL);
  g_signal_connect (relay, "recipient-failed", G_CALLBACK (recipient_failed_cb), NULL);
  g_signal_connect (relay, "log", G_CALLBACK (log_cb), NULL);
  g_signal_connect (relay, "notify::upstream-state", G_CALLBACK (upstream_cb), NULL);

  loop = g_main_loop_new (NULL, FALSE);
  starting = g_cancellable_new ();
  run.loop = loop;
  run.relay = relay;
  run.starting = starting;
  sigint_id = g_unix_signal_add (SIGINT, signal_cb, &run);
  sigterm_id = g_unix_signal_add (SIGTERM, signal_cb, &run);
  gate_relay_start_async (relay, starting, started_cb, &run);
  g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  flush_deferrals ();
  g_clear_pointer (&deferral_groups, g_ptr_array_unref);

  return run.status;
}
