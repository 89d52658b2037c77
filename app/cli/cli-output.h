/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

/* Whether @file is the systemd journal: under systemd, JOURNAL_STREAM names
 * the stream a service's output goes to.  The journal stamps each line with
 * its own time and reads "<3>" or "<4>" in front of a line as its priority,
 * error or warning (sd-daemon(3)). */
gboolean gate_cli_output_is_journal (FILE *file);

/* A problem on standard error, marked as a warning or an error for the
 * journal when that is where it goes.  @format ends with its newline. */
void gate_cli_print_warning (const char *format, ...) G_GNUC_PRINTF (1, 2);
void gate_cli_print_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* The keyring could not be reached or is locked: adds @hint, what the
 * command line can do without one, to the message, which says only what to
 * do on a desktop (the window shows it too).  Other errors are left as they
 * are. */
void gate_cli_add_keyring_hint (GError **error, const char *hint);

G_END_DECLS
