/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "gate-encoded-words.h"

#include <string.h>

/* One "=?charset?encoding?text?=" at @p, decoded into @out.  Returns the
 * length of the word, or 0 when @p does not start a word that decodes (and
 * then adds nothing to @out). */
static gsize
decode_word (const char *p, GString *out)
{
  const char *charset_end, *encoding_end, *text_end;
  g_autofree char *charset = NULL;
  g_autofree char *converted = NULL;
  g_autoptr (GString) raw = NULL;
  char encoding;
  gsize converted_len = 0;
  g_autoptr (GError) error = NULL;

  if (p[0] != '=' || p[1] != '?')
    return 0;
  charset_end = strchr (p + 2, '?');
  if (charset_end == NULL || charset_end == p + 2 || charset_end[1] == '\0' || charset_end[2] != '?')
    return 0;
  encoding = g_ascii_toupper (charset_end[1]);
  if (encoding != 'B' && encoding != 'Q')
    return 0;
  encoding_end = charset_end + 2;
  text_end = strstr (encoding_end + 1, "?=");
  if (text_end == NULL || memchr (encoding_end + 1, ' ', (gsize)(text_end - encoding_end - 1)) != NULL)
    return 0;
  /* RFC 2231 adds a language: "UTF-8*en". */
  charset = g_strndup (p + 2, (gsize)(charset_end - p - 2));
  if (strchr (charset, '*') != NULL)
    *strchr (charset, '*') = '\0';

  raw = g_string_new (NULL);
  if (encoding == 'B')
    {
      g_autofree char *text = g_strndup (encoding_end + 1, (gsize)(text_end - encoding_end - 1));
      gsize len = 0;
      g_autofree guchar *bytes = NULL;

      for (const char *t = text; *t; t++)
        if (!g_ascii_isalnum (*t) && *t != '+' && *t != '/' && *t != '=')
          return 0;
      bytes = g_base64_decode (text, &len);
      g_string_append_len (raw, (const char *)bytes, (gssize)len);
    }
  else
    for (const char *t = encoding_end + 1; t < text_end; t++)
      {
        if (*t == '_')
          g_string_append_c (raw, ' ');
        else if (*t == '=' && t + 2 < text_end && g_ascii_isxdigit (t[1]) && g_ascii_isxdigit (t[2]))
          {
            g_string_append_c (raw, (char)(g_ascii_xdigit_value (t[1]) * 16 + g_ascii_xdigit_value (t[2])));
            t += 2;
          }
        else
          g_string_append_c (raw, *t);
      }

  converted = g_convert_with_fallback (raw->str, (gssize)raw->len, "UTF-8", charset, "\357\277\275", NULL,
                                       &converted_len, &error);
  if (g_error_matches (error, G_CONVERT_ERROR, G_CONVERT_ERROR_NO_CONVERSION))
    return 0;
  /* Bytes that are not of their character set: kept, and replaced at the
   * end if they are not UTF-8 either. */
  if (converted == NULL)
    g_string_append_len (out, raw->str, (gssize)raw->len);
  else
    g_string_append_len (out, converted, (gssize)converted_len);
  return (gsize)(text_end + 2 - p);
}

char *
gate_encoded_words_decode (const char *value)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autofree char *valid = NULL;
  gboolean after_word = FALSE;
  const char *p = value;

  g_return_val_if_fail (value != NULL, NULL);

  while (*p)
    {
      gsize used = decode_word (p, out);

      if (used > 0)
        {
          p += used;
          after_word = TRUE;
          continue;
        }
      if (after_word && g_ascii_isspace (*p))
        {
          /* White space between two encoded words is not text (6.2).
           * decode_word() adds to @out only what it decodes. */
          const char *next = p;

          while (g_ascii_isspace (*next))
            next++;
          used = decode_word (next, out);
          if (used > 0)
            {
              p = next + used;
              continue;
            }
        }
      after_word = FALSE;
      if (*p == '\r' || *p == '\n')
        {
          /* Unfolding: the line break goes, the white space after it stays. */
          p++;
          continue;
        }
      g_string_append_c (out, *p);
      p++;
    }

  /* Decoded words may hold line breaks and other control characters too. */
  for (gsize i = 0; i < out->len; i++)
    if ((guchar)out->str[i] < 0x20 || out->str[i] == 0x7f)
      out->str[i] = ' ';
  if (!g_utf8_validate (out->str, (gssize)out->len, NULL))
    {
      valid = g_utf8_make_valid (out->str, (gssize)out->len);
      return g_strdup (g_strstrip (valid));
    }
  return g_strdup (g_strstrip (out->str));
}
