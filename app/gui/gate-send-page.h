/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gate-profile.h"

G_BEGIN_DECLS

#define GATE_TYPE_SEND_PAGE (gate_send_page_get_type ())
G_DECLARE_FINAL_TYPE (GateSendPage, gate_send_page, GATE, SEND_PAGE, GtkWidget)

/* "Send test email": one message through the profile's server, with the
 * stage indicator, the live transcript and a result card that says in plain
 * words what happened and offers the usual fix.
 *
 * Signals:
 *   edit-password (): the user wants to type the password again.
 *   open-settings (): the user wants to change the profile's settings. */
GtkWidget *gate_send_page_new (void);

void gate_send_page_set_profile (GateSendPage *self, GateProfile *profile);
GateProfile *gate_send_page_get_profile (GateSendPage *self);
gboolean gate_send_page_is_busy (GateSendPage *self);
/* As the Send and Cancel buttons. */
void gate_send_page_send (GateSendPage *self);
void gate_send_page_cancel (GateSendPage *self);

G_END_DECLS
