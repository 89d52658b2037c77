/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli-commands.h"
#include "cli-output.h"

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} GateCliCommand;

static const GateCliCommand commands[] = {
  { "send", gate_cli_send, N_("Send an email and show the conversation with the server") },
  { "probe", gate_cli_probe, N_("Find which ports and security modes of a server can be reached") },
  { "profile", gate_cli_profile, N_("List, add, change, remove, export and import profiles") },
  { "relay", gate_cli_relay, N_("Accept mail from local devices and forward it to the outgoing server") },
  { "queue", gate_cli_queue, N_("Show and manage the messages waiting in the relay's queue") },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: postgate-cli COMMAND [OPTION…]"));
  fprintf (out, "%s\n", _("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-9s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "\n%s\n", _("Run “postgate-cli COMMAND --help” for the options of a command."));
}

static void
print_engine_line (gboolean warning, const char *message)
{
  if (warning)
    {
      /* Translators: a line of Postgate's output about a problem. */
      g_autofree char *line = g_strdup_printf (_("warning: %s"), message);

      gate_cli_print_warning ("%s\n", line);
    }
  else
    fprintf (stderr, "%s\n", message);
}

static GateCliEngineLogPrinter engine_log_printer = print_engine_line;

void
gate_cli_set_engine_log_printer (GateCliEngineLogPrinter printer)
{
  g_atomic_pointer_set (&engine_log_printer, printer);
}

/* The engine's own log lines (a damaged file in the mail queue, a file that
 * could not be removed) as plain lines, like the command's other output,
 * rather than in GLib's form with the process number and a time stamp;
 * debug and info lines, other libraries' lines, and anything worse than a
 * warning as GLib has them. */
static GLogWriterOutput
cli_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *message = NULL;
  const char *domain = NULL;

  if (!(level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_WARNING)))
    return g_log_writer_default (level, fields, n_fields, user_data);
  for (gsize i = 0; i < n_fields; i++)
    if (fields[i].length < 0 && g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
    else if (fields[i].length < 0 && g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
      domain = fields[i].value;
  if (message == NULL || domain == NULL
      || !(g_str_has_prefix (domain, "gate") || g_str_has_prefix (domain, "postgate")))
    return g_log_writer_default (level, fields, n_fields, user_data);
  ((GateCliEngineLogPrinter)g_atomic_pointer_get (&engine_log_printer)) ((level & G_LOG_LEVEL_WARNING) != 0,
                                                                         message);
  return G_LOG_WRITER_HANDLED;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("postgate-cli");
  g_log_set_writer_func (cli_log_writer, NULL, NULL);

  if (argc < 2)
    {
      print_usage (stderr);
      return 1;
    }

  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return 0;
    }

  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("postgate-cli %s\n", PACKAGE_VERSION);
      return 0;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (strcmp (argv[1], commands[i].name) == 0)
        {
          g_autofree char *name = g_strdup_printf ("postgate-cli %s", commands[i].name);
          char **sub_argv = g_new0 (char *, argc);
          int status;

          sub_argv[0] = name;
          /* GOption's usage line names the program by this. */
          g_set_prgname (name);
          for (int j = 2; j < argc; j++)
            sub_argv[j - 1] = argv[j];
          status = commands[i].run (argc - 1, sub_argv);
          g_free (sub_argv);
          return status;
        }
    }

  fprintf (stderr, _("Unknown command “%s”.\n\n"), argv[1]);
  print_usage (stderr);
  return 1;
}
