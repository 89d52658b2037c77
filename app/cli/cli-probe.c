/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-cli"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <glib-unix.h>
#include <signal.h>
#endif

#include "cli-commands.h"
#include "cli-connection-options.h"
#include "cli-profile-loader.h"
#include "gate-port-probe.h"

enum {
  PROBE_STATUS_REACHED = 0,
  PROBE_STATUS_USAGE = 1,
  PROBE_STATUS_NONE_REACHED = 2,
  PROBE_STATUS_CANCELLED = 9,
};

typedef struct {
  GMainLoop *loop;
  GCancellable *cancellable;
  GPtrArray *results;
  GError *error;
} ProbeRun;

static char *
auth_text (const GatePortProbeResult *result)
{
  const char *const *mechanisms = gate_port_probe_result_get_auth_mechanisms (result);

  if (!gate_port_probe_result_get_reached (result))
    return g_strdup ("");
  if (mechanisms[0] == NULL)
    /* TRANSLATORS: in the sign-in column: the server offers no AUTH. */
    return g_strdup (_("none"));
  return g_strjoinv (" ", (char **) mechanisms);
}

/* Pads @text with spaces to @width characters (not bytes: labels may be
 * translated). */
static void
print_cell (const char *text, int width)
{
  long len = g_utf8_strlen (text, -1);

  fputs (text, stdout);
  for (long i = len; i < width + 1; i++)
    fputc (' ', stdout);
}

static void
print_header (void)
{
  print_cell (_("Port"), 5);
  print_cell (_("Security"), 13);
  print_cell (_("TLS"), 7);
  print_cell (_("Sign-in"), 22);
  print_cell (_("Time"), 8);
  fprintf (stdout, "%s\n", _("Result"));
  fflush (stdout);
}

static void
print_row (const GatePortProbeResult *result)
{
  g_autofree char *port = g_strdup_printf ("%u", gate_port_probe_result_get_port (result));
  g_autofree char *auth = auth_text (result);
  g_autofree char *time = g_strdup_printf (_("%u ms"), gate_port_probe_result_get_elapsed_ms (result));
  const char *tls = gate_port_probe_result_get_tls_protocol (result);

  print_cell (port, 5);
  print_cell (gate_smtp_security_get_label (gate_port_probe_result_get_security (result)), 13);
  print_cell (tls != NULL ? tls : "-", 7);
  print_cell (auth, 22);
  print_cell (time, 8);
  if (gate_port_probe_result_get_reached (result))
    fprintf (stdout, "%s\n", _("reached"));
  else
    /* TRANSLATORS: %s says why, in a sentence. */
    fprintf (stdout, _("not reached: %s\n"), gate_port_probe_result_get_error (result)->message);
  fflush (stdout);
}

static void
on_candidate_finished (GatePortProbe *probe, GatePortProbeResult *result, gpointer user_data)
{
  print_row (result);
}

static void
run_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ProbeRun *run = user_data;

  run->results = gate_port_probe_run_finish (GATE_PORT_PROBE (source), res, &run->error);
  g_main_loop_quit (run->loop);
}

#ifdef G_OS_UNIX
static gboolean
on_interrupt (gpointer user_data)
{
  ProbeRun *run = user_data;

  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_CONTINUE;
}
#endif

int
gate_cli_probe (int argc, char **argv)
{
  g_autoptr (GateCliConnectionOptions) connection = NULL;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) candidates = NULL;
  g_autoptr (GatePortProbe) probe = NULL;
  g_autoptr (GatePortProbeResult) best = NULL;
  g_autofree char *ports = NULL;
  g_autofree char *explanation = NULL;
  ProbeRun run = { 0 };
  int timeout = 10;
  int status;
  const GOptionEntry entries[] = {
    { "ports", 0, 0, G_OPTION_ARG_STRING, &ports,
      N_("Ports to try instead of the usual ones, e.g. 587:starttls,465:tls"), N_("PORT:SECURITY,…") },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, N_("Give up after this many seconds (default 10)"),
      N_("SECONDS") },
    { NULL }
  };

  /* "postgate-cli probe": what --help shows in its usage line. */
  g_set_prgname (argv[0]);
  connection = gate_cli_connection_options_new (GATE_CLI_CONNECTION_TRUST);
  context = g_option_context_new (_("HOST"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _("Find which ports and security modes of an outgoing server can be "
                                           "reached from here, all at the same time, and name the best."));
  g_option_context_set_description (
    context, _("Without --ports it tries 2525, 8025, 587, 80 and 25 with STARTTLS and 465, 8465\n"
               "and 443 with TLS.  Nothing is sent and no password is used.\n"
               "\n"
               "Exit status:\n"
               "  0  at least one port was reached\n"
               "  1  wrong options\n"
               "  2  no port was reached\n"
               "  9  cancelled (Ctrl-C)"));
  gate_cli_connection_options_set_profile_loader (gate_cli_profile_loader);
  gate_cli_connection_options_add_to_context (connection, context);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      fprintf (stderr, "%s\n", _("Run “postgate-cli probe --help” to see the options."));
      return PROBE_STATUS_USAGE;
    }

  if (argc > 2)
    {
      fprintf (stderr, _("Unexpected argument “%s”.\n"), argv[2]);
      return PROBE_STATUS_USAGE;
    }
  if (argc == 2)
    {
      g_free (connection->server);
      connection->server = g_strdup (argv[1]);
    }

  if (!gate_cli_connection_options_validate (connection, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return PROBE_STATUS_USAGE;
    }
  if (connection->server == NULL || *connection->server == '\0'
      || strpbrk (connection->server, " \t\r\n/") != NULL)
    {
      fprintf (stderr, "%s\n", _("Give the server to check, e.g. postgate-cli probe mail.smtp2go.com"));
      return PROBE_STATUS_USAGE;
    }
  if (timeout < 1 || timeout > 600)
    {
      fprintf (stderr, "%s\n", _("The time limit must be from 1 to 600 seconds."));
      return PROBE_STATUS_USAGE;
    }
  if (ports != NULL)
    {
      candidates = gate_port_candidates_parse (ports, &error);
      if (candidates == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return PROBE_STATUS_USAGE;
        }
    }

  probe = gate_port_probe_new (connection->server);
  gate_port_probe_set_timeout (probe, (guint) timeout);
  if (connection->ca_file != NULL)
    gate_port_probe_set_ca_file (probe, connection->ca_file);
  if (connection->pin_canonical != NULL)
    gate_port_probe_set_pinned_fingerprint (probe, connection->pin_canonical);
  if (candidates != NULL)
    gate_port_probe_set_candidates (probe, (const GatePortCandidate *) (gpointer) candidates->data,
                                    candidates->len);
  g_signal_connect (probe, "candidate-finished", G_CALLBACK (on_candidate_finished), NULL);

  /* TRANSLATORS: %s is a server name. */
  fprintf (stdout, _("Checking %s…\n\n"), connection->server);
  print_header ();

  run.loop = g_main_loop_new (NULL, FALSE);
  run.cancellable = g_cancellable_new ();
#ifdef G_OS_UNIX
  {
    guint sigint_id = g_unix_signal_add (SIGINT, on_interrupt, &run);
#endif
    gate_port_probe_run_async (probe, run.cancellable, run_cb, &run);
    g_main_loop_run (run.loop);
#ifdef G_OS_UNIX
    g_source_remove (sigint_id);
  }
#endif

  if (run.results == NULL)
    {
      fprintf (stderr, "%s\n", run.error != NULL ? run.error->message : _("The connection check failed."));
      status = PROBE_STATUS_CANCELLED;
    }
  else
    {
      best = gate_port_probe_choose_best (run.results, &explanation);
      fputc ('\n', stdout);
      if (best != NULL)
        {
          /* TRANSLATORS: %u is a port number, %s a security mode. */
          fprintf (stdout, _("Best choice: port %u with %s\n"), gate_port_probe_result_get_port (best),
                   gate_smtp_security_get_label (gate_port_probe_result_get_security (best)));
          fprintf (stdout, "%s\n", explanation);
          status = PROBE_STATUS_REACHED;
        }
      else
        {
          fprintf (stdout, "%s\n", explanation);
          status = PROBE_STATUS_NONE_REACHED;
        }
    }

  g_clear_pointer (&run.results, g_ptr_array_unref);
  g_clear_error (&run.error);
  g_clear_object (&run.cancellable);
  g_clear_pointer (&run.loop, g_main_loop_unref);
  return status;
}
