/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "gate-transcript-event.h"

static void
test_prefixes (void)
{
  struct
  {
    GateTranscriptDirection direction;
    gboolean in_tls;
    const char *prefix;
  } cases[] = {
    { GATE_TRANSCRIPT_CLIENT, FALSE, "->" }, { GATE_TRANSCRIPT_SERVER, FALSE, "<-" },
    { GATE_TRANSCRIPT_CLIENT, TRUE, "~>" },  { GATE_TRANSCRIPT_SERVER, TRUE, "<~" },
    { GATE_TRANSCRIPT_INFO, FALSE, "===" },  { GATE_TRANSCRIPT_INFO, TRUE, "===" },
    { GATE_TRANSCRIPT_ERROR, FALSE, "***" }, { GATE_TRANSCRIPT_ERROR, TRUE, "***" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GateTranscriptEvent) event
          = gate_transcript_event_new (cases[i].direction, cases[i].in_tls, FALSE, "EHLO host");
      g_autofree char *line = gate_transcript_event_format (event);
      g_autofree char *expected = g_strdup_printf ("%s EHLO host", cases[i].prefix);

      g_assert_cmpstr (gate_transcript_event_get_prefix (event), ==, cases[i].prefix);
      g_assert_cmpstr (line, ==, expected);
      g_assert_cmpint (gate_transcript_event_get_direction (event), ==, cases[i].direction);
      g_assert_cmpint (gate_transcript_event_get_in_tls (event), ==, cases[i].in_tls);
    }
}

static void
test_fields (void)
{
  gint64 before = g_get_real_time ();
  g_autoptr (GateTranscriptEvent) event
      = gate_transcript_event_new (GATE_TRANSCRIPT_CLIENT, TRUE, TRUE, "AUTH PLAIN ********");
  gint64 after = g_get_real_time ();
  GateTranscriptEvent *second = gate_transcript_event_ref (event);

  g_assert_true (gate_transcript_event_get_secret_hidden (event));
  g_assert_cmpstr (gate_transcript_event_get_text (event), ==, "AUTH PLAIN ********");
  g_assert_cmpint (gate_transcript_event_get_time (event), >=, before);
  g_assert_cmpint (gate_transcript_event_get_time (event), <=, after);
  g_assert_true (second == event);
  gate_transcript_event_unref (second);
  g_assert_true (G_TYPE_IS_BOXED (GATE_TYPE_TRANSCRIPT_EVENT));
}

static void
test_escaping (void)
{
  struct
  {
    const char *raw;
    const char *shown;
  } cases[] = {
    { "plain text", "plain text" },
    { "caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93" },
    { "two\r\nlines", "two\\r\\nlines" },
    { "tab\there", "tab\\there" },
    { "bell\x07 esc\x1b[31m", "bell\\x07 esc\\x1B[31m" },
    { "del\x7f", "del\\x7F" },
    { "bad \xff\xfe bytes", "bad \\xFF\\xFE bytes" },
    { "cut \xc3", "cut \\xC3" },
    { "c1 \xc2\x9b", "c1 \\u009B" },
    { "ls \xe2\x80\xa8", "ls \\u2028" },
    { "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GateTranscriptEvent) event
          = gate_transcript_event_new (GATE_TRANSCRIPT_SERVER, FALSE, FALSE, cases[i].raw);
      const char *text = gate_transcript_event_get_text (event);

      g_assert_cmpstr (text, ==, cases[i].shown);
      g_assert_true (g_utf8_validate (text, -1, NULL));
      g_assert_null (strchr (text, '\n'));
      g_assert_null (strchr (text, '\r'));
    }
}

static void
test_every_byte (void)
{
  /* Whatever bytes arrive, the text is one line of valid UTF-8 with no
   * control characters. */
  char raw[256];

  for (guint i = 1; i < 256; i++)
    raw[i - 1] = (char)i;
  raw[255] = '\0';

  {
    g_autoptr (GateTranscriptEvent) event
        = gate_transcript_event_new (GATE_TRANSCRIPT_SERVER, TRUE, FALSE, raw);
    const char *text = gate_transcript_event_get_text (event);

    g_assert_true (g_utf8_validate (text, -1, NULL));
    for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
      {
        gunichar c = g_utf8_get_char (p);

        g_assert_false (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0));
      }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/transcript-event/prefixes", test_prefixes);
  g_test_add_func ("/transcript-event/fields", test_fields);
  g_test_add_func ("/transcript-event/escaping", test_escaping);
  g_test_add_func ("/transcript-event/every-byte", test_every_byte);

  return g_test_run ();
}
