/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-smtp"

#include "config.h"

#include "gate-data-encoder.h"

#include <string.h>

#include "gate-line-scan.h"

struct _GateDataEncoder
{
  gboolean at_line_start; /* the next byte starts a line */
  gboolean pending_cr;    /* the last byte fed was a CR: is it CRLF or a bare CR? */
  gboolean saw_8bit;
  guint64 lines;
};

static const guint8 crlf[] = { '\r', '\n' };

static void
encoder_reset (GateDataEncoder *encoder)
{
  encoder->at_line_start = TRUE;
  encoder->pending_cr = FALSE;
  encoder->saw_8bit = FALSE;
  encoder->lines = 0;
}

GateDataEncoder *
gate_data_encoder_new (void)
{
  GateDataEncoder *encoder = g_new0 (GateDataEncoder, 1);

  encoder_reset (encoder);
  return encoder;
}

void
gate_data_encoder_free (GateDataEncoder *encoder)
{
  g_free (encoder);
}

static void
end_line (GateDataEncoder *encoder, GByteArray *out)
{
  g_byte_array_append (out, crlf, 2);
  encoder->at_line_start = TRUE;
  encoder->lines++;
}

void
gate_data_encoder_feed (GateDataEncoder *encoder, const guint8 *data, gsize len, GByteArray *out)
{
  gsize i = 0;

  g_return_if_fail (encoder != NULL);
  g_return_if_fail (data != NULL || len == 0);
  g_return_if_fail (out != NULL);

  while (i < len)
    {
      guint8 c = data[i];
      gsize span;

      if (encoder->pending_cr)
        {
          /* CR LF, or a bare CR: either way one line ending. */
          encoder->pending_cr = FALSE;
          end_line (encoder, out);
          if (c == '\n')
            {
              i++;
              continue;
            }
        }

      if (c == '\r')
        {
          encoder->pending_cr = TRUE;
          i++;
          continue;
        }
      if (c == '\n')
        {
          end_line (encoder, out);
          i++;
          continue;
        }

      if (encoder->at_line_start && c == '.')
        g_byte_array_append (out, (const guint8 *)".", 1);
      encoder->at_line_start = FALSE;

      /* Copy the rest of the line in one go: a 50 MB body must not cost a
       * call per byte. */
      span = gate_line_scan_run (data + i, len - i);
      if (!encoder->saw_8bit && gate_line_scan_has_8bit (data + i, span))
        encoder->saw_8bit = TRUE;
      g_byte_array_append (out, data + i, span);
      i += span;
    }
}

void
gate_data_encoder_finish (GateDataEncoder *encoder, GByteArray *out)
{
  static const guint8 end[] = { '.', '\r', '\n' };

  g_return_if_fail (encoder != NULL);
  g_return_if_fail (out != NULL);

  if (encoder->pending_cr || !encoder->at_line_start)
    g_byte_array_append (out, crlf, 2);
  g_byte_array_append (out, end, sizeof end);
  encoder_reset (encoder);
}

gboolean
gate_data_encoder_saw_8bit (const GateDataEncoder *encoder)
{
  g_return_val_if_fail (encoder != NULL, FALSE);
  return encoder->saw_8bit;
}

guint64
gate_data_encoder_get_line_count (const GateDataEncoder *encoder)
{
  g_return_val_if_fail (encoder != NULL, 0);
  return encoder->lines + (encoder->pending_cr || !encoder->at_line_start ? 1 : 0);
}
