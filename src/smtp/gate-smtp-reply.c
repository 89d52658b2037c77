/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-smtp"

#include "config.h"

#include "gate-smtp-reply.h"

#include <string.h>

#include "gate-smtp-error.h"

struct _GateSmtpReply
{
  gatomicrefcount ref_count;
  guint code;
  char *enhanced_code; /* nullable */
  char **lines;
  char *text;
};

G_DEFINE_BOXED_TYPE (GateSmtpReply, gate_smtp_reply, gate_smtp_reply_ref, gate_smtp_reply_unref)

/* Length of a leading "x.y.z" status code (RFC 3463) whose class is @class,
 * followed by a space or the end of the text; 0 when there is none. */
static gsize
enhanced_code_length (const char *text, char class)
{
  const char *p = text;
  guint digits;

  if (p[0] != class || p[1] != '.')
    return 0;
  p += 2;
  for (digits = 0; g_ascii_isdigit (*p); p++)
    digits++;
  if (digits < 1 || digits > 3 || *p != '.')
    return 0;
  p++;
  for (digits = 0; g_ascii_isdigit (*p); p++)
    digits++;
  if (digits < 1 || digits > 3)
    return 0;
  if (*p != ' ' && *p != '\0')
    return 0;
  return p - text;
}

GateSmtpReply *
gate_smtp_reply_new (guint code, const char *const *lines)
{
  static const char *const no_lines[] = { "", NULL };
  GateSmtpReply *reply;
  GString *text;
  gsize enhanced_len;
  char class;
  guint i;

  g_return_val_if_fail (code >= 100 && code <= 999, NULL);

  if (lines == NULL || lines[0] == NULL)
    lines = no_lines;

  reply = g_new0 (GateSmtpReply, 1);
  g_atomic_ref_count_init (&reply->ref_count);
  reply->code = code;
  reply->lines = g_strdupv ((char **)lines);

  class = '0' + code / 100;
  enhanced_len = (class == '2' || class == '4' || class == '5') ? enhanced_code_length (lines[0], class) : 0;
  if (enhanced_len > 0)
    reply->enhanced_code = g_strndup (lines[0], enhanced_len);

  /* The readable text leaves out the enhanced code that servers repeat on
   * every line. */
  text = g_string_new (NULL);
  for (i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (reply->enhanced_code != NULL && g_str_has_prefix (line, reply->enhanced_code)
          && (line[enhanced_len] == ' ' || line[enhanced_len] == '\0'))
        {
          line += enhanced_len;
          while (*line == ' ')
            line++;
        }
      if (*line == '\0')
        continue;
      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, line);
    }
  reply->text = g_string_free (text, FALSE);

  return reply;
}

GateSmtpReply *
gate_smtp_reply_ref (GateSmtpReply *reply)
{
  g_return_val_if_fail (reply != NULL, NULL);

  g_atomic_ref_count_inc (&reply->ref_count);
  return reply;
}

void
gate_smtp_reply_unref (GateSmtpReply *reply)
{
  g_return_if_fail (reply != NULL);

  if (g_atomic_ref_count_dec (&reply->ref_count))
    {
      g_free (reply->enhanced_code);
      g_strfreev (reply->lines);
      g_free (reply->text);
      g_free (reply);
    }
}

guint
gate_smtp_reply_get_code (const GateSmtpReply *reply)
{
  g_return_val_if_fail (reply != NULL, 0);
  return reply->code;
}

const char *
gate_smtp_reply_get_enhanced_code (const GateSmtpReply *reply)
{
  g_return_val_if_fail (reply != NULL, NULL);
  return reply->enhanced_code;
}

const char *const *
gate_smtp_reply_get_lines (const GateSmtpReply *reply)
{
  g_return_val_if_fail (reply != NULL, NULL);
  return (const char *const *)reply->lines;
}

const char *
gate_smtp_reply_get_text (const GateSmtpReply *reply)
{
  g_return_val_if_fail (reply != NULL, NULL);
  return reply->text;
}

gboolean
gate_smtp_reply_is_positive (const GateSmtpReply *reply)
{
  g_return_val_if_fail (reply != NULL, FALSE);
  return reply->code >= 200 && reply->code < 400;
}

gboolean
gate_smtp_reply_is_temporary (const GateSmtpReply *reply)
{
  g_return_val_if_fail (reply != NULL, FALSE);
  return reply->code >= 400 && reply->code < 500;
}

gboolean
gate_smtp_reply_is_permanent (const GateSmtpReply *reply)
{
  g_return_val_if_fail (reply != NULL, FALSE);
  return reply->code >= 500 && reply->code < 600;
}

char *
gate_smtp_reply_to_string (const GateSmtpReply *reply)
{
  GString *out;
  guint i;

  g_return_val_if_fail (reply != NULL, NULL);

  out = g_string_new (NULL);
  for (i = 0; reply->lines[i] != NULL; i++)
    {
      gboolean last = reply->lines[i + 1] == NULL;

      if (i > 0)
        g_string_append_c (out, '\n');
      g_string_append_printf (out, "%03u", reply->code);
      if (!last || reply->lines[i][0] != '\0')
        g_string_append_printf (out, "%c%s", last ? ' ' : '-', reply->lines[i]);
    }
  return g_string_free (out, FALSE);
}

/* Parser */

struct _GateSmtpReplyParser
{
  guint code; /* 0 before the first line of a reply */
  GPtrArray *lines;
};

GateSmtpReplyParser *
gate_smtp_reply_parser_new (void)
{
  GateSmtpReplyParser *parser = g_new0 (GateSmtpReplyParser, 1);

  parser->lines = g_ptr_array_new_with_free_func (g_free);
  return parser;
}

void
gate_smtp_reply_parser_free (GateSmtpReplyParser *parser)
{
  if (parser == NULL)
    return;
  g_ptr_array_unref (parser->lines);
  g_free (parser);
}

void
gate_smtp_reply_parser_reset (GateSmtpReplyParser *parser)
{
  g_return_if_fail (parser != NULL);

  parser->code = 0;
  g_ptr_array_set_size (parser->lines, 0);
}

static GateSmtpReplyParserResult
parser_fail (GateSmtpReplyParser *parser, GError **error, const char *detail)
{
  GateSmtpErrorContext ctx = { .detail = detail };

  gate_smtp_reply_parser_reset (parser);
  g_propagate_error (error, gate_smtp_error_new (GATE_SMTP_ERROR_PROTOCOL, &ctx));
  return GATE_SMTP_REPLY_PARSER_ERROR;
}

GateSmtpReplyParserResult
gate_smtp_reply_parser_feed (GateSmtpReplyParser *parser, const char *line, gssize len, GateSmtpReply **reply,
                             GError **error)
{
  gsize length;
  guint code;
  char separator;
  char *text;

  g_return_val_if_fail (parser != NULL, GATE_SMTP_REPLY_PARSER_ERROR);
  g_return_val_if_fail (line != NULL || len == 0, GATE_SMTP_REPLY_PARSER_ERROR);
  g_return_val_if_fail (reply != NULL && *reply == NULL, GATE_SMTP_REPLY_PARSER_ERROR);
  g_return_val_if_fail (error == NULL || *error == NULL, GATE_SMTP_REPLY_PARSER_ERROR);

  length = len < 0 ? strlen (line) : (gsize)len;

  /* The detail strings go to the transcript, so they are in protocol terms. */
  if (length > GATE_SMTP_REPLY_MAX_LINE)
    return parser_fail (parser, error, "Reply line too long");
  if (length > 0 && memchr (line, '\0', length) != NULL)
    return parser_fail (parser, error, "NUL byte in reply");
  if (length < 3 || !g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1]) || !g_ascii_isdigit (line[2]))
    return parser_fail (parser, error, "Reply does not start with a three-digit code");

  code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code < 200 || code > 599)
    return parser_fail (parser, error, "Reply code out of range");

  separator = length > 3 ? line[3] : ' ';
  if (separator != ' ' && separator != '-')
    return parser_fail (parser, error, "Bad separator after reply code");
  if (parser->code != 0 && code != parser->code)
    return parser_fail (parser, error, "Reply code changed within a multi-line reply");
  if (parser->lines->len >= GATE_SMTP_REPLY_MAX_LINES)
    return parser_fail (parser, error, "Too many lines in one reply");

  /* The text ends up in the user interface: keep it valid UTF-8. */
  text = g_utf8_make_valid (length > 4 ? line + 4 : "", length > 4 ? (gssize)(length - 4) : 0);
  parser->code = code;
  g_ptr_array_add (parser->lines, text);

  if (separator == '-')
    return GATE_SMTP_REPLY_PARSER_NEED_MORE;

  g_ptr_array_add (parser->lines, NULL);
  *reply = gate_smtp_reply_new (code, (const char *const *)parser->lines->pdata);
  g_ptr_array_set_size (parser->lines, 0);
  parser->code = 0;
  return GATE_SMTP_REPLY_PARSER_COMPLETE;
}
