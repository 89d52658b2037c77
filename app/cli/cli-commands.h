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

/* Prints one of the engine's log lines (@warning: a warning rather than a
 * message); may be called from any thread. */
typedef void (*GateCliEngineLogPrinter) (gboolean warning, const char *message);

/* The engine's log lines go to standard error unless a subcommand prints
 * them its own way (the relay, with its other lines); set before the
 * engine starts threads. */
void gate_cli_set_engine_log_printer (GateCliEngineLogPrinter printer);

G_END_DECLS
