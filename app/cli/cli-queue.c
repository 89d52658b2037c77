/* SPDX-License-Identifier: GPL-3.0-or-later */
/* PLACEHOLDER: replaced by the real subcommand. */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "cli-commands.h"

int
gate_cli_queue (int argc, char **argv)
{
  fprintf (stderr, "%s\n", _("This command is not available yet."));
  return 1;
}
