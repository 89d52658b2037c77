/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

/* Scanning message text a run of bytes at a time rather than byte by byte:
 * a relay reads and writes every byte of every message. */

/* How many bytes at the start of @data are neither CR nor LF.  Looked for a
 * window at a time, so that text with only one of the two (hostile or not)
 * is still scanned once or twice, never once per line. */
static inline gsize
gate_line_scan_run (const guint8 *data, gsize len)
{
  gsize done = 0;

  while (done < len)
    {
      gsize window = MIN (len - done, 512);
      const guint8 *cr = memchr (data + done, '\r', window);
      gsize limit = cr ? (gsize)(cr - (data + done)) : window;
      const guint8 *lf = memchr (data + done, '\n', limit);

      if (lf != NULL)
        return done + (gsize)(lf - (data + done));
      if (cr != NULL)
        return done + limit;
      done += window;
    }
  return len;
}

/* Whether any byte of @data has its high bit set (8-bit text). */
static inline gboolean
gate_line_scan_has_8bit (const guint8 *data, gsize len)
{
  guint64 any = 0;
  gsize i = 0;

  for (; i + 8 <= len; i += 8)
    {
      guint64 word;

      memcpy (&word, data + i, 8);
      any |= word;
    }
  for (; i < len; i++)
    any |= data[i];
  return (any & G_GUINT64_CONSTANT (0x8080808080808080)) != 0;
}

G_END_DECLS
