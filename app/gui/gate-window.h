/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "gate-profile-store.h"

G_BEGIN_DECLS

#define GATE_TYPE_WINDOW (gate_window_get_type ())
G_DECLARE_FINAL_TYPE (GateWindow, gate_window, GATE, WINDOW, AdwApplicationWindow)

/* The main window: the profiles in a sidebar, and the selected profile's
 * settings and test email beside it (one above the other on a narrow
 * screen). */
GateWindow *gate_window_new (AdwApplication *application, GateProfileStore *store);

GateProfileStore *gate_window_get_store (GateWindow *self);
/* Selects the profile shown; NULL shows the first. */
void gate_window_select_profile (GateWindow *self, GateProfile *profile);

G_END_DECLS
