/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "gate-smtp-error.h"
#include "gate-smtp-reply.h"

/* Feeds @lines (NULL-terminated) and returns the reply completed by the last
 * one; every earlier line must ask for more. */
static GateSmtpReply *
parse_lines (const char *const *lines)
{
  g_autoptr (GateSmtpReplyParser) parser = gate_smtp_reply_parser_new ();
  GateSmtpReply *reply = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      GateSmtpReplyParserResult result = gate_smtp_reply_parser_feed (parser, lines[i], -1, &reply, &error);

      g_assert_no_error (error);
      if (lines[i + 1] != NULL)
        {
          g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_NEED_MORE);
          g_assert_null (reply);
        }
      else
        g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_COMPLETE);
    }
  g_assert_nonnull (reply);
  return reply;
}

/* Feeds @lines and expects the last one to be rejected. */
static void
assert_rejected (const char *const *lines, const char *last, gssize last_len)
{
  g_autoptr (GateSmtpReplyParser) parser = gate_smtp_reply_parser_new ();
  g_autoptr (GError) error = NULL;
  GateSmtpReply *reply = NULL;
  GateSmtpReplyParserResult result;

  for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
    {
      result = gate_smtp_reply_parser_feed (parser, lines[i], -1, &reply, &error);
      g_assert_no_error (error);
      g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_NEED_MORE);
    }
  result = gate_smtp_reply_parser_feed (parser, last, last_len, &reply, &error);
  g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_ERROR);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_PROTOCOL);
  g_assert_null (reply);
  g_assert_nonnull (gate_smtp_error_get_next_step (error));
}

static void
test_single_line (void)
{
  const char *lines[] = { "250 OK", NULL };
  g_autoptr (GateSmtpReply) reply = parse_lines (lines);
  g_autofree char *wire = gate_smtp_reply_to_string (reply);

  g_assert_cmpuint (gate_smtp_reply_get_code (reply), ==, 250);
  g_assert_cmpstr (gate_smtp_reply_get_text (reply), ==, "OK");
  g_assert_null (gate_smtp_reply_get_enhanced_code (reply));
  g_assert_cmpuint (g_strv_length ((char **)gate_smtp_reply_get_lines (reply)), ==, 1);
  g_assert_true (gate_smtp_reply_is_positive (reply));
  g_assert_false (gate_smtp_reply_is_temporary (reply));
  g_assert_false (gate_smtp_reply_is_permanent (reply));
  g_assert_cmpstr (wire, ==, "250 OK");
}

static void
test_multi_line (void)
{
  const char *lines[]
      = { "250-smtp.example.com Hello", "250-PIPELINING", "250-SIZE 52428800", "250 AUTH PLAIN LOGIN", NULL };
  g_autoptr (GateSmtpReply) reply = parse_lines (lines);
  const char *const *got = gate_smtp_reply_get_lines (reply);
  g_autofree char *wire = gate_smtp_reply_to_string (reply);

  g_assert_cmpuint (gate_smtp_reply_get_code (reply), ==, 250);
  g_assert_cmpuint (g_strv_length ((char **)got), ==, 4);
  g_assert_cmpstr (got[0], ==, "smtp.example.com Hello");
  g_assert_cmpstr (got[3], ==, "AUTH PLAIN LOGIN");
  g_assert_cmpstr (gate_smtp_reply_get_text (reply), ==,
                   "smtp.example.com Hello PIPELINING SIZE 52428800 AUTH PLAIN LOGIN");
  g_assert_cmpstr (wire, ==,
                   "250-smtp.example.com Hello\n250-PIPELINING\n250-SIZE 52428800\n250 AUTH PLAIN LOGIN");
}

static void
test_no_text (void)
{
  const char *lines[] = { "250", NULL };
  g_autoptr (GateSmtpReply) reply = parse_lines (lines);
  g_autofree char *wire = gate_smtp_reply_to_string (reply);

  g_assert_cmpuint (gate_smtp_reply_get_code (reply), ==, 250);
  g_assert_cmpstr (gate_smtp_reply_get_text (reply), ==, "");
  g_assert_cmpstr (gate_smtp_reply_get_lines (reply)[0], ==, "");
  g_assert_cmpstr (wire, ==, "250");
}

static void
test_enhanced_code (void)
{
  const char *lines[] = { "535-5.7.8 Authentication", "535 5.7.8 credentials invalid", NULL };
  g_autoptr (GateSmtpReply) reply = parse_lines (lines);

  g_assert_cmpstr (gate_smtp_reply_get_enhanced_code (reply), ==, "5.7.8");
  g_assert_cmpstr (gate_smtp_reply_get_text (reply), ==, "Authentication credentials invalid");
  g_assert_true (gate_smtp_reply_is_permanent (reply));
  g_assert_false (gate_smtp_reply_is_positive (reply));
}

static void
test_enhanced_code_rejected (void)
{
  /* The class must match the reply's first digit. */
  const char *mismatch[] = { "550 2.1.0 odd", NULL };
  /* Not a status code: no space after it, too many digits, letters. */
  const char *glued[] = { "250 2.0.0OK", NULL };
  const char *long_part[] = { "250 2.0.1234 OK", NULL };
  const char *version[] = { "220 mail ESMTP 4.1.2 ready", NULL };
  const char *three_xx[] = { "354 3.0.0 go ahead", NULL };
  const char *end[] = { "250 2.1.5", NULL };
  g_autoptr (GateSmtpReply) a = parse_lines (mismatch);
  g_autoptr (GateSmtpReply) b = parse_lines (glued);
  g_autoptr (GateSmtpReply) c = parse_lines (long_part);
  g_autoptr (GateSmtpReply) d = parse_lines (version);
  g_autoptr (GateSmtpReply) e = parse_lines (three_xx);
  g_autoptr (GateSmtpReply) f = parse_lines (end);

  g_assert_null (gate_smtp_reply_get_enhanced_code (a));
  g_assert_cmpstr (gate_smtp_reply_get_text (a), ==, "2.1.0 odd");
  g_assert_null (gate_smtp_reply_get_enhanced_code (b));
  g_assert_null (gate_smtp_reply_get_enhanced_code (c));
  g_assert_null (gate_smtp_reply_get_enhanced_code (d));
  g_assert_null (gate_smtp_reply_get_enhanced_code (e));
  g_assert_cmpstr (gate_smtp_reply_get_enhanced_code (f), ==, "2.1.5");
  g_assert_cmpstr (gate_smtp_reply_get_text (f), ==, "");
}

static void
test_code_mismatch (void)
{
  const char *first[] = { "250-first", NULL };

  assert_rejected (first, "251 second", -1);
}

static void
test_bad_separator (void)
{
  assert_rejected (NULL, "250_OK", -1);
  assert_rejected (NULL, "250OK", -1);
  assert_rejected (NULL, "250\tOK", -1);
}

static void
test_non_digits (void)
{
  assert_rejected (NULL, "2x0 OK", -1);
  assert_rejected (NULL, "abc", -1);
  assert_rejected (NULL, " 250 OK", -1);
  assert_rejected (NULL, "25", -1);
  assert_rejected (NULL, "", -1);
  assert_rejected (NULL, "+OK POP3 ready", -1);
}

static void
test_code_range (void)
{
  const char *ok_low[] = { "200 low", NULL };
  const char *ok_high[] = { "599 high", NULL };
  g_autoptr (GateSmtpReply) low = parse_lines (ok_low);
  g_autoptr (GateSmtpReply) high = parse_lines (ok_high);

  g_assert_cmpuint (gate_smtp_reply_get_code (low), ==, 200);
  g_assert_cmpuint (gate_smtp_reply_get_code (high), ==, 599);
  assert_rejected (NULL, "199 too low", -1);
  assert_rejected (NULL, "600 too high", -1);
  assert_rejected (NULL, "000 zero", -1);
  assert_rejected (NULL, "999 nine", -1);
}

static void
test_overlong_line (void)
{
  g_autofree char *max = g_strnfill (GATE_SMTP_REPLY_MAX_LINE, 'a');
  g_autofree char *over = g_strnfill (GATE_SMTP_REPLY_MAX_LINE + 1, 'a');
  const char *lines[] = { max, NULL };
  g_autoptr (GateSmtpReply) reply = NULL;

  memcpy (max, "250 ", 4);
  memcpy (over, "250 ", 4);
  reply = parse_lines (lines);
  g_assert_cmpuint (strlen (gate_smtp_reply_get_text (reply)), ==, GATE_SMTP_REPLY_MAX_LINE - 4);
  assert_rejected (NULL, over, -1);
}

static void
test_nul_byte (void)
{
  static const char line[] = "250 O\0K";

  assert_rejected (NULL, line, sizeof line - 1);
}

static void
test_too_many_lines (void)
{
  g_autoptr (GateSmtpReplyParser) parser = gate_smtp_reply_parser_new ();
  g_autoptr (GError) error = NULL;
  GateSmtpReply *reply = NULL;
  GateSmtpReplyParserResult result;

  /* Exactly the maximum is accepted... */
  for (guint i = 0; i < GATE_SMTP_REPLY_MAX_LINES - 1; i++)
    {
      result = gate_smtp_reply_parser_feed (parser, "250-x", -1, &reply, &error);
      g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_NEED_MORE);
    }
  result = gate_smtp_reply_parser_feed (parser, "250 last", -1, &reply, &error);
  g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_COMPLETE);
  g_assert_cmpuint (g_strv_length ((char **)gate_smtp_reply_get_lines (reply)), ==,
                    GATE_SMTP_REPLY_MAX_LINES);
  g_clear_pointer (&reply, gate_smtp_reply_unref);

  /* ...one more is not. */
  for (guint i = 0; i < GATE_SMTP_REPLY_MAX_LINES; i++)
    {
      result = gate_smtp_reply_parser_feed (parser, "250-x", -1, &reply, &error);
      g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_NEED_MORE);
    }
  result = gate_smtp_reply_parser_feed (parser, "250 last", -1, &reply, &error);
  g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_ERROR);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_PROTOCOL);
  g_assert_null (reply);
}

static void
test_reset_after_error (void)
{
  g_autoptr (GateSmtpReplyParser) parser = gate_smtp_reply_parser_new ();
  GateSmtpReply *reply = NULL;
  GError *error = NULL;
  GateSmtpReplyParserResult result;

  result = gate_smtp_reply_parser_feed (parser, "250-first", -1, &reply, &error);
  g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_NEED_MORE);
  result = gate_smtp_reply_parser_feed (parser, "354 other", -1, &reply, &error);
  g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_ERROR);
  g_clear_error (&error);

  /* Nothing of the broken reply is left over. */
  result = gate_smtp_reply_parser_feed (parser, "221 bye", -1, &reply, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_COMPLETE);
  g_assert_cmpuint (gate_smtp_reply_get_code (reply), ==, 221);
  g_assert_cmpuint (g_strv_length ((char **)gate_smtp_reply_get_lines (reply)), ==, 1);
  g_clear_pointer (&reply, gate_smtp_reply_unref);

  /* An explicit reset drops a partial reply too. */
  result = gate_smtp_reply_parser_feed (parser, "250-partial", -1, &reply, &error);
  g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_NEED_MORE);
  gate_smtp_reply_parser_reset (parser);
  result = gate_smtp_reply_parser_feed (parser, "354 go", -1, &reply, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, GATE_SMTP_REPLY_PARSER_COMPLETE);
  g_assert_cmpuint (gate_smtp_reply_get_code (reply), ==, 354);
  g_clear_pointer (&reply, gate_smtp_reply_unref);
}

static void
test_consecutive_replies (void)
{
  g_autoptr (GateSmtpReplyParser) parser = gate_smtp_reply_parser_new ();
  const char *wire[]
      = { "250 2.1.0 Sender OK", "250 2.1.5 Recipient OK", "550 5.1.1 No such user", "354 Go on" };
  const guint codes[] = { 250, 250, 550, 354 };

  for (guint i = 0; i < G_N_ELEMENTS (wire); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GateSmtpReply) reply = NULL;

      g_assert_cmpint (gate_smtp_reply_parser_feed (parser, wire[i], -1, &reply, &error), ==,
                       GATE_SMTP_REPLY_PARSER_COMPLETE);
      g_assert_cmpuint (gate_smtp_reply_get_code (reply), ==, codes[i]);
    }
}

static void
test_invalid_utf8_text (void)
{
  g_autoptr (GateSmtpReplyParser) parser = gate_smtp_reply_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSmtpReply) reply = NULL;

  g_assert_cmpint (gate_smtp_reply_parser_feed (parser, "250 caf\xe9 ok", -1, &reply, &error), ==,
                   GATE_SMTP_REPLY_PARSER_COMPLETE);
  g_assert_true (g_utf8_validate (gate_smtp_reply_get_text (reply), -1, NULL));
}

static void
test_new (void)
{
  const char *lines[] = { "4.2.1 Try later", NULL };
  g_autoptr (GateSmtpReply) reply = gate_smtp_reply_new (421, lines);
  g_autoptr (GateSmtpReply) empty = gate_smtp_reply_new (250, NULL);

  g_assert_cmpstr (gate_smtp_reply_get_enhanced_code (reply), ==, "4.2.1");
  g_assert_true (gate_smtp_reply_is_temporary (reply));
  g_assert_cmpstr (gate_smtp_reply_get_text (empty), ==, "");
  g_assert_nonnull (gate_smtp_reply_get_lines (empty)[0]);
  g_assert_true (G_TYPE_IS_BOXED (GATE_TYPE_SMTP_REPLY));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/smtp-reply/single-line", test_single_line);
  g_test_add_func ("/smtp-reply/multi-line", test_multi_line);
  g_test_add_func ("/smtp-reply/no-text", test_no_text);
  g_test_add_func ("/smtp-reply/enhanced-code", test_enhanced_code);
  g_test_add_func ("/smtp-reply/enhanced-code-rejected", test_enhanced_code_rejected);
  g_test_add_func ("/smtp-reply/code-mismatch", test_code_mismatch);
  g_test_add_func ("/smtp-reply/bad-separator", test_bad_separator);
  g_test_add_func ("/smtp-reply/non-digits", test_non_digits);
  g_test_add_func ("/smtp-reply/code-range", test_code_range);
  g_test_add_func ("/smtp-reply/overlong-line", test_overlong_line);
  g_test_add_func ("/smtp-reply/nul-byte", test_nul_byte);
  g_test_add_func ("/smtp-reply/too-many-lines", test_too_many_lines);
  g_test_add_func ("/smtp-reply/reset-after-error", test_reset_after_error);
  g_test_add_func ("/smtp-reply/consecutive", test_consecutive_replies);
  g_test_add_func ("/smtp-reply/invalid-utf8", test_invalid_utf8_text);
  g_test_add_func ("/smtp-reply/new", test_new);

  return g_test_run ();
}
