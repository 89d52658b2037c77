/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-cli"

#include "config.h"

#include "cli-output.h"

#include "gate-secret-store.h"

#include <stdarg.h>
#include <sys/stat.h>

gboolean
gate_cli_output_is_journal (FILE *file)
{
  const char *stream = g_getenv ("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;

  return stream != NULL && sscanf (stream, "%llu:%llu", &dev, &ino) == 2 && fstat (fileno (file), &st) == 0
         && (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void
print_problem (const char *journal_priority, const char *format, va_list args)
{
  if (gate_cli_output_is_journal (stderr))
    fputs (journal_priority, stderr);
  vfprintf (stderr, format, args);
}

void
gate_cli_print_warning (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  print_problem ("<4>", format, args);
  va_end (args);
}

void
gate_cli_print_error (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  print_problem ("<3>", format, args);
  va_end (args);
}

void
gate_cli_add_keyring_hint (GError **error, const char *hint)
{
  char *message;

  if (error == NULL || !g_error_matches (*error, GATE_SECRET_STORE_ERROR, GATE_SECRET_STORE_ERROR_UNAVAILABLE))
    return;
  message = g_strdup_printf ("%s %s", (*error)->message, hint);
  g_free ((*error)->message);
  (*error)->message = message;
}
