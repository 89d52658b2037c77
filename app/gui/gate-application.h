/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "gate-profile-store.h"

G_BEGIN_DECLS

#define GATE_TYPE_APPLICATION (gate_application_get_type ())
G_DECLARE_FINAL_TYPE (GateApplication, gate_application, GATE, APPLICATION, AdwApplication)

/* Postgate's one instance: a second start shows the window that is open. */
GateApplication *gate_application_new (void);

GateProfileStore *gate_application_get_store (GateApplication *self);

G_END_DECLS
