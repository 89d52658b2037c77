/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "gate-data-encoder.h"

/* Encodes @input in one chunk, with the end marker, as a string. */
static char *
encode (const char *input, gsize len)
{
  g_autoptr (GateDataEncoder) encoder = gate_data_encoder_new ();
  g_autoptr (GByteArray) out = g_byte_array_new ();

  gate_data_encoder_feed (encoder, (const guint8 *)input, len, out);
  gate_data_encoder_finish (encoder, out);
  g_byte_array_append (out, (const guint8 *)"", 1);
  return (char *)g_byte_array_free (g_steal_pointer (&out), FALSE);
}

static void
assert_encodes (const char *input, const char *expected)
{
  g_autofree char *got = encode (input, strlen (input));

  g_assert_cmpstr (got, ==, expected);
}

static void
test_final_crlf (void)
{
  assert_encodes ("Subject: hi\r\n\r\nbody\r\n", "Subject: hi\r\n\r\nbody\r\n.\r\n");
}

static void
test_no_final_crlf (void)
{
  assert_encodes ("Subject: hi\r\n\r\nbody", "Subject: hi\r\n\r\nbody\r\n.\r\n");
}

static void
test_lone_dot_line (void)
{
  assert_encodes ("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n");
  assert_encodes (".\r\n", "..\r\n.\r\n");
  assert_encodes (".", "..\r\n.\r\n");
  assert_encodes ("a\r\n.", "a\r\n..\r\n.\r\n");
}

static void
test_leading_dots (void)
{
  assert_encodes ("..two\r\n.one\r\nno.dot\r\n", "...two\r\n..one\r\nno.dot\r\n.\r\n");
  /* Only a dot at the very start of a line counts. */
  assert_encodes (" .x\r\nx.\r\n", " .x\r\nx.\r\n.\r\n");
}

static void
test_bare_lf (void)
{
  assert_encodes ("a\nb\n", "a\r\nb\r\n.\r\n");
  assert_encodes ("a\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
  assert_encodes ("\n\n", "\r\n\r\n.\r\n");
}

static void
test_bare_cr (void)
{
  assert_encodes ("a\rb\r", "a\r\nb\r\n.\r\n");
  assert_encodes ("a\r.b", "a\r\n..b\r\n.\r\n");
  /* CR CR LF: a bare CR then a CRLF, two line endings. */
  assert_encodes ("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
  /* LF CR: two line endings too. */
  assert_encodes ("a\n\rb", "a\r\n\r\nb\r\n.\r\n");
}

static void
test_empty (void)
{
  assert_encodes ("", ".\r\n");
}

static void
test_crlf_split (void)
{
  g_autoptr (GateDataEncoder) encoder = gate_data_encoder_new ();
  g_autoptr (GByteArray) out = g_byte_array_new ();

  gate_data_encoder_feed (encoder, (const guint8 *)"line\r", 5, out);
  gate_data_encoder_feed (encoder, (const guint8 *)"\n.next\r", 7, out);
  gate_data_encoder_feed (encoder, (const guint8 *)"\n", 1, out);
  gate_data_encoder_finish (encoder, out);
  g_assert_cmpmem (out->data, out->len, "line\r\n..next\r\n.\r\n", 17);
}

static const char sample[] = "From: a@example.com\r\n"
                             "\r\n"
                             ".\r\n"
                             "..leading\n"
                             "bare\rcr\r\n"
                             "\r\r\n"
                             ".\n"
                             "\n.\r"
                             "\xc3\xa9t\xc3\xa9\r\n"
                             ".end";
static const char sample_encoded[] = "From: a@example.com\r\n"
                                     "\r\n"
                                     "..\r\n"
                                     "...leading\r\n"
                                     "bare\r\ncr\r\n"
                                     "\r\n\r\n"
                                     "..\r\n"
                                     "\r\n..\r\n"
                                     "\xc3\xa9t\xc3\xa9\r\n"
                                     "..end\r\n"
                                     ".\r\n";

static void
test_sample (void)
{
  g_autofree char *got = encode (sample, sizeof sample - 1);

  g_assert_cmpstr (got, ==, sample_encoded);
}

/* Wherever a chunk boundary falls, the output is the same. */
static void
test_every_split_point (void)
{
  gsize n = sizeof sample - 1;
  g_autofree char *one_shot = encode (sample, n);

  for (gsize split = 0; split <= n; split++)
    {
      g_autoptr (GateDataEncoder) encoder = gate_data_encoder_new ();
      g_autoptr (GByteArray) out = g_byte_array_new ();

      gate_data_encoder_feed (encoder, (const guint8 *)sample, split, out);
      gate_data_encoder_feed (encoder, (const guint8 *)sample + split, n - split, out);
      gate_data_encoder_finish (encoder, out);
      g_assert_cmpmem (out->data, out->len, one_shot, strlen (one_shot));
    }
}

static void
test_byte_by_byte (void)
{
  gsize n = sizeof sample - 1;
  g_autofree char *one_shot = encode (sample, n);
  g_autoptr (GateDataEncoder) encoder = gate_data_encoder_new ();
  g_autoptr (GByteArray) out = g_byte_array_new ();

  for (gsize i = 0; i < n; i++)
    gate_data_encoder_feed (encoder, (const guint8 *)sample + i, 1, out);
  /* An empty chunk changes nothing. */
  gate_data_encoder_feed (encoder, NULL, 0, out);
  gate_data_encoder_finish (encoder, out);
  g_assert_cmpmem (out->data, out->len, one_shot, strlen (one_shot));
}

static void
test_8bit_and_lines (void)
{
  g_autoptr (GateDataEncoder) encoder = gate_data_encoder_new ();
  g_autoptr (GByteArray) out = g_byte_array_new ();

  gate_data_encoder_feed (encoder, (const guint8 *)"plain\r\nascii\n", 13, out);
  g_assert_false (gate_data_encoder_saw_8bit (encoder));
  g_assert_cmpuint (gate_data_encoder_get_line_count (encoder), ==, 2);
  gate_data_encoder_feed (encoder, (const guint8 *)"caf\xc3\xa9", 5, out);
  g_assert_true (gate_data_encoder_saw_8bit (encoder));
  g_assert_cmpuint (gate_data_encoder_get_line_count (encoder), ==, 3);
  gate_data_encoder_finish (encoder, out);

  /* Ready for the next message, with a fresh state: the next byte starts a
   * line again. */
  g_assert_false (gate_data_encoder_saw_8bit (encoder));
  g_assert_cmpuint (gate_data_encoder_get_line_count (encoder), ==, 0);
  g_byte_array_set_size (out, 0);
  gate_data_encoder_feed (encoder, (const guint8 *)".x", 2, out);
  gate_data_encoder_finish (encoder, out);
  g_assert_cmpmem (out->data, out->len, "..x\r\n.\r\n", 8);
}

static void
test_finish_after_trailing_cr (void)
{
  /* A message ending in a lone CR gets exactly one line ending. */
  assert_encodes ("end\r", "end\r\n.\r\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data-encoder/final-crlf", test_final_crlf);
  g_test_add_func ("/data-encoder/no-final-crlf", test_no_final_crlf);
  g_test_add_func ("/data-encoder/lone-dot-line", test_lone_dot_line);
  g_test_add_func ("/data-encoder/leading-dots", test_leading_dots);
  g_test_add_func ("/data-encoder/bare-lf", test_bare_lf);
  g_test_add_func ("/data-encoder/bare-cr", test_bare_cr);
  g_test_add_func ("/data-encoder/empty", test_empty);
  g_test_add_func ("/data-encoder/crlf-split", test_crlf_split);
  g_test_add_func ("/data-encoder/sample", test_sample);
  g_test_add_func ("/data-encoder/every-split-point", test_every_split_point);
  g_test_add_func ("/data-encoder/byte-by-byte", test_byte_by_byte);
  g_test_add_func ("/data-encoder/8bit-and-lines", test_8bit_and_lines);
  g_test_add_func ("/data-encoder/trailing-cr", test_finish_after_trailing_cr);

  return g_test_run ();
}
