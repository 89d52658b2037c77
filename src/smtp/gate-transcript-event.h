/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  GATE_TRANSCRIPT_CLIENT, /* what Postgate sent */
  GATE_TRANSCRIPT_SERVER, /* what the server sent */
  GATE_TRANSCRIPT_INFO,   /* what happened besides: TLS details, timings */
  GATE_TRANSCRIPT_ERROR,  /* what went wrong */
} GateTranscriptDirection;

/* One line of the SMTP conversation, made where the bytes are written or read.
 * Secrets are replaced before the event exists: a hidden event's text already
 * reads "AUTH PLAIN ********".  Immutable, reference counted. */
typedef struct _GateTranscriptEvent GateTranscriptEvent;

#define GATE_TYPE_TRANSCRIPT_EVENT (gate_transcript_event_get_type ())
GType gate_transcript_event_get_type (void) G_GNUC_CONST;

GateTranscriptEvent *gate_transcript_event_new (GateTranscriptDirection direction,
                                                gboolean in_tls,
                                                gboolean secret_hidden,
                                                const char *text);
GateTranscriptEvent *gate_transcript_event_ref (GateTranscriptEvent *event);
void gate_transcript_event_unref (GateTranscriptEvent *event);

GateTranscriptDirection gate_transcript_event_get_direction (const GateTranscriptEvent *event);
gboolean gate_transcript_event_get_in_tls (const GateTranscriptEvent *event);
/* TRUE when a secret was replaced in the text. */
gboolean gate_transcript_event_get_secret_hidden (const GateTranscriptEvent *event);
/* One line, valid UTF-8 (invalid bytes and control characters from the
 * server are escaped), without a line ending. */
const char *gate_transcript_event_get_text (const GateTranscriptEvent *event);
/* Wall-clock time, microseconds since the epoch (g_get_real_time). */
gint64 gate_transcript_event_get_time (const GateTranscriptEvent *event);
/* swaks's prefixes: "->" / "<-" in clear, "~>" / "<~" inside TLS, "===" info,
 * "***" error. */
const char *gate_transcript_event_get_prefix (const GateTranscriptEvent *event);
/* "prefix text" */
char *gate_transcript_event_format (const GateTranscriptEvent *event);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateTranscriptEvent, gate_transcript_event_unref)

G_END_DECLS
