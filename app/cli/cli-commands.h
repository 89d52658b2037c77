/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Each subcommand gets argv with argv[0] set to "postgate-cli SUBCOMMAND" and
 * returns the process exit status. */
int gate_cli_send (int argc, char **argv);
int gate_cli_probe (int argc, char **argv);
int gate_cli_profile (int argc, char **argv);
int gate_cli_relay (int argc, char **argv);
int gate_cli_queue (int argc, char **argv);

G_END_DECLS
