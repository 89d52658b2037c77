/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "gate-smtp-client.h"

G_BEGIN_DECLS

#define GATE_TYPE_PROBE_DIALOG (gate_probe_dialog_get_type ())
G_DECLARE_FINAL_TYPE (GateProbeDialog, gate_probe_dialog, GATE, PROBE_DIALOG, AdwWindow)

/* "Check connection": tries the server's ports at the same time and shows,
 * as each answers, which ones work from this network; then offers the best
 * with one click.
 *
 * Signals:
 *   use-port (guint port, guint security): the user chose a port and its
 *     GateSmtpSecurity. */
GateProbeDialog *gate_probe_dialog_new (GtkWindow *parent, const char *host);

void gate_probe_dialog_set_trust (GateProbeDialog *self, const char *ca_file, const char *pinned_fingerprint);
/* Adds a port to try (duplicates are ignored); before start. */
void gate_probe_dialog_add_candidate (GateProbeDialog *self, guint16 port, GateSmtpSecurity security);
void gate_probe_dialog_start (GateProbeDialog *self);

G_END_DECLS
