/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gate-profile.h"

G_BEGIN_DECLS

#define GATE_TYPE_PROFILE_PAGE (gate_profile_page_get_type ())
G_DECLARE_FINAL_TYPE (GateProfilePage, gate_profile_page, GATE, PROFILE_PAGE, GtkWidget)

/* The settings of one profile as preference rows, checked as they are typed.
 * A value reaches the profile only when it is valid; the message next to the
 * field says what is wrong otherwise.
 *
 * Signals:
 *   save-password (const char *password): the user entered a password to
 *     keep in the keyring; the page never holds it afterwards. */
GtkWidget *gate_profile_page_new (void);

void gate_profile_page_set_profile (GateProfilePage *self, GateProfile *profile);
GateProfile *gate_profile_page_get_profile (GateProfilePage *self);

/* Scrolls to the password field and puts the cursor there. */
void gate_profile_page_focus_password (GateProfilePage *self);
/* Says that the password could not be saved (@message) or clears it (NULL). */
void gate_profile_page_set_password_problem (GateProfilePage *self, const char *message);

G_END_DECLS
