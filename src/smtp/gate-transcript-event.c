/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-smtp"

#include "config.h"

#include "gate-transcript-event.h"

#include <string.h>

struct _GateTranscriptEvent
{
  gatomicrefcount ref_count;
  GateTranscriptDirection direction;
  gboolean in_tls;
  gboolean secret_hidden;
  gint64 time;
  char *text;
};

G_DEFINE_BOXED_TYPE (GateTranscriptEvent, gate_transcript_event, gate_transcript_event_ref,
                     gate_transcript_event_unref)

/* A server controls these bytes: whatever it sends must show as one line of
 * valid UTF-8 and must not move the cursor or change a terminal's state. */
static char *
escape_text (const char *text)
{
  const char *p = text;
  const char *end = text + strlen (text);
  GString *out = g_string_sized_new (end - p);

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar)-1 || c == (gunichar)-2)
        {
          g_string_append_printf (out, "\\x%02X", (guchar)*p);
          p++;
          continue;
        }

      switch (c)
        {
          case '\r':
            g_string_append (out, "\\r");
            break;
          case '\n':
            g_string_append (out, "\\n");
            break;
          case '\t':
            g_string_append (out, "\\t");
            break;
          default:
            if (c < 0x20 || c == 0x7f)
              g_string_append_printf (out, "\\x%02X", c);
            else if ((c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029 || c == 0x85)
              g_string_append_printf (out, "\\u%04X", c);
            else
              g_string_append_len (out, p, g_utf8_next_char (p) - p);
            break;
        }
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

GateTranscriptEvent *
gate_transcript_event_new (GateTranscriptDirection direction, gboolean in_tls, gboolean secret_hidden,
                           const char *text)
{
  GateTranscriptEvent *event;

  g_return_val_if_fail (direction <= GATE_TRANSCRIPT_ERROR, NULL);

  event = g_new0 (GateTranscriptEvent, 1);
  g_atomic_ref_count_init (&event->ref_count);
  event->direction = direction;
  event->in_tls = !!in_tls;
  event->secret_hidden = !!secret_hidden;
  event->time = g_get_real_time ();
  event->text = escape_text (text ? text : "");
  return event;
}

GateTranscriptEvent *
gate_transcript_event_ref (GateTranscriptEvent *event)
{
  g_return_val_if_fail (event != NULL, NULL);
  g_atomic_ref_count_inc (&event->ref_count);
  return event;
}

void
gate_transcript_event_unref (GateTranscriptEvent *event)
{
  g_return_if_fail (event != NULL);
  if (g_atomic_ref_count_dec (&event->ref_count))
    {
      g_free (event->text);
      g_free (event);
    }
}

GateTranscriptDirection
gate_transcript_event_get_direction (const GateTranscriptEvent *event)
{
  g_return_val_if_fail (event != NULL, GATE_TRANSCRIPT_INFO);
  return event->direction;
}

gboolean
gate_transcript_event_get_in_tls (const GateTranscriptEvent *event)
{
  g_return_val_if_fail (event != NULL, FALSE);
  return event->in_tls;
}

gboolean
gate_transcript_event_get_secret_hidden (const GateTranscriptEvent *event)
{
  g_return_val_if_fail (event != NULL, FALSE);
  return event->secret_hidden;
}

const char *
gate_transcript_event_get_text (const GateTranscriptEvent *event)
{
  g_return_val_if_fail (event != NULL, NULL);
  return event->text;
}

gint64
gate_transcript_event_get_time (const GateTranscriptEvent *event)
{
  g_return_val_if_fail (event != NULL, 0);
  return event->time;
}

const char *
gate_transcript_event_get_prefix (const GateTranscriptEvent *event)
{
  g_return_val_if_fail (event != NULL, NULL);

  switch (event->direction)
    {
      case GATE_TRANSCRIPT_CLIENT:
        return event->in_tls ? "~>" : "->";
      case GATE_TRANSCRIPT_SERVER:
        return event->in_tls ? "<~" : "<-";
      case GATE_TRANSCRIPT_ERROR:
        return "***";
      case GATE_TRANSCRIPT_INFO:
      default:
        return "===";
    }
}

char *
gate_transcript_event_format (const GateTranscriptEvent *event)
{
  g_return_val_if_fail (event != NULL, NULL);
  return g_strdup_printf ("%s %s", gate_transcript_event_get_prefix (event), event->text);
}
