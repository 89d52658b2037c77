/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The run-at-a-time text scanning shared by the relay's DATA reader and the
 * client's DATA encoder, checked against a byte-by-byte reference. */
#include "config.h"

#include <glib.h>

#include "gate-line-scan.h"

static gsize
reference_run (const guint8 *data, gsize len)
{
  gsize n = 0;

  while (n < len && data[n] != '\r' && data[n] != '\n')
    n++;
  return n;
}

static gboolean
reference_has_8bit (const guint8 *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (data[i] & 0x80)
      return TRUE;
  return FALSE;
}

/* A CR, a LF or both at every position around the scan's window size, and
 * buffers with none, only CRs or only LFs. */
static void
test_run (void)
{
  const gsize positions[] = { 0, 1, 7, 8, 9, 255, 510, 511, 512, 513, 1023, 1024, 1025, 1500, 1999 };
  const char *ends[] = { "\r", "\n", "\r\n", "\n\r" };
  guint8 buffer[2000];

  memset (buffer, 'a', sizeof buffer);
  g_assert_cmpuint (gate_line_scan_run (buffer, sizeof buffer), ==, sizeof buffer);
  g_assert_cmpuint (gate_line_scan_run (buffer, 0), ==, 0);
  for (guint p = 0; p < G_N_ELEMENTS (positions); p++)
    for (guint e = 0; e < G_N_ELEMENTS (ends); e++)
      {
        gsize at = positions[p];
        gsize end_len = strlen (ends[e]);

        memset (buffer, 'a', sizeof buffer);
        memcpy (buffer + at, ends[e], MIN (end_len, sizeof buffer - at));
        for (gsize start = 0; start <= at; start += (at > 40 ? at / 7 + 1 : 1))
          for (gsize len = 0; start + len <= sizeof buffer; len += 97)
            g_assert_cmpuint (gate_line_scan_run (buffer + start, len), ==,
                              reference_run (buffer + start, len));
      }

  /* Only CRs, only LFs, every few bytes. */
  for (guint every = 1; every < 700; every += 37)
    for (guint c = 0; c < 2; c++)
      {
        gsize off = 0;

        memset (buffer, 'b', sizeof buffer);
        for (gsize i = every - 1; i < sizeof buffer; i += every)
          buffer[i] = c ? '\r' : '\n';
        while (off < sizeof buffer)
          {
            gsize run = gate_line_scan_run (buffer + off, sizeof buffer - off);

            g_assert_cmpuint (run, ==, reference_run (buffer + off, sizeof buffer - off));
            off += run + 1;
          }
      }
}

static void
test_has_8bit (void)
{
  guint8 buffer[64];

  for (gsize len = 0; len <= sizeof buffer; len++)
    {
      memset (buffer, 'x', sizeof buffer);
      g_assert_false (gate_line_scan_has_8bit (buffer, len));
      for (gsize at = 0; at < len; at++)
        {
          const guint8 highs[] = { 0x80, 0xc3, 0xff };

          for (guint h = 0; h < G_N_ELEMENTS (highs); h++)
            {
              memset (buffer, 'x', sizeof buffer);
              buffer[at] = highs[h];
              g_assert_true (gate_line_scan_has_8bit (buffer, len));
              g_assert_cmpint (gate_line_scan_has_8bit (buffer, len), ==, reference_has_8bit (buffer, len));
            }
        }
      /* A high byte just past the end does not count. */
      if (len < sizeof buffer)
        {
          memset (buffer, 'x', sizeof buffer);
          buffer[len] = 0xe9;
          g_assert_false (gate_line_scan_has_8bit (buffer, len));
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/line-scan/run", test_run);
  g_test_add_func ("/line-scan/has-8bit", test_has_8bit);
  return g_test_run ();
}
