/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gate-transcript-event.h"

G_BEGIN_DECLS

#define GATE_TYPE_TRANSCRIPT_VIEW (gate_transcript_view_get_type ())
G_DECLARE_FINAL_TYPE (GateTranscriptView, gate_transcript_view, GATE, TRANSCRIPT_VIEW, GtkWidget)

/* The live SMTP conversation: one line per GateTranscriptEvent, a colour per
 * direction, lines inside TLS marked.  It follows new lines unless the user
 * scrolled up to read.  Secrets are already hidden in the events. */
GtkWidget *gate_transcript_view_new (void);

void gate_transcript_view_append (GateTranscriptView *self, GateTranscriptEvent *event);
void gate_transcript_view_clear (GateTranscriptView *self);
guint gate_transcript_view_get_n_lines (GateTranscriptView *self);
/* Each line starts with the time it happened ("14:03:07.120") when set. */
void gate_transcript_view_set_show_time (GateTranscriptView *self, gboolean show_time);
gboolean gate_transcript_view_get_show_time (GateTranscriptView *self);
/* The whole transcript as plain text, swaks style ("<- 220 …"), one line
 * per event. */
char *gate_transcript_view_dup_text (GateTranscriptView *self);

G_END_DECLS
