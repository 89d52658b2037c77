/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-message"

#include "config.h"

#include "gate-message-builder.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "gate-smtp-envelope.h"
#include "gate-smtp-error.h"

/* Lines of base64 carry 57 bytes each: 76 characters. */
#define BASE64_LINE_BYTES 57
/* Quoted-printable lines stay under 78 characters (76 plus CRLF). */
#define QP_MAX_LINE 76
/* Header lines are folded near this length (RFC 5322 §2.1.1). */
#define HEADER_FOLD 78
/* Bytes gathered before each write: large writes, constant memory. */
#define WRITE_BUFFER_SIZE (64 * 1024)

/* Characters of the token: upper-case letters and digits that cannot be
 * mistaken for one another (no 0/O, no 1/I). */
static const char token_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

typedef struct
{
  char *display_name; /* nullable */
  char *address;
} Mailbox;

typedef struct
{
  GFile *file;
  char *content_type; /* nullable: guessed from the name */
} Attachment;

struct _GateMessageBuilder
{
  GObject parent_instance;

  Mailbox from;
  GArray *to; /* of Mailbox */
  char *subject;
  char *text;
  char *html;
  GPtrArray *attachments; /* of Attachment* */
  GDateTime *date;        /* nullable: now */
  gboolean token_in_subject;
  char token[10];   /* "PG-XXXXXX" */
  char *unique;     /* random part of the Message-ID */
  char *message_id; /* made from the sender's domain, on demand */
};

G_DEFINE_FINAL_TYPE (GateMessageBuilder, gate_message_builder, G_TYPE_OBJECT)

static void
mailbox_clear (Mailbox *mailbox)
{
  g_clear_pointer (&mailbox->display_name, g_free);
  g_clear_pointer (&mailbox->address, g_free);
}

static void
attachment_free (gpointer data)
{
  Attachment *attachment = data;

  g_clear_object (&attachment->file);
  g_free (attachment->content_type);
  g_free (attachment);
}

static void
gate_message_builder_dispose (GObject *object)
{
  GateMessageBuilder *self = GATE_MESSAGE_BUILDER (object);

  g_ptr_array_set_size (self->attachments, 0);

  G_OBJECT_CLASS (gate_message_builder_parent_class)->dispose (object);
}

static void
gate_message_builder_finalize (GObject *object)
{
  GateMessageBuilder *self = GATE_MESSAGE_BUILDER (object);

  mailbox_clear (&self->from);
  g_array_unref (self->to);
  g_free (self->subject);
  g_free (self->text);
  g_free (self->html);
  g_ptr_array_unref (self->attachments);
  g_clear_pointer (&self->date, g_date_time_unref);
  g_free (self->unique);
  g_free (self->message_id);

  G_OBJECT_CLASS (gate_message_builder_parent_class)->finalize (object);
}

static void
gate_message_builder_class_init (GateMessageBuilderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gate_message_builder_dispose;
  object_class->finalize = gate_message_builder_finalize;
}

static char *
random_string (const char *alphabet, guint length)
{
  gsize n = strlen (alphabet);
  char *out = g_new (char, length + 1);

  for (guint i = 0; i < length; i++)
    out[i] = alphabet[g_random_int_range (0, (gint32)n)];
  out[length] = '\0';
  return out;
}

static void
gate_message_builder_init (GateMessageBuilder *self)
{
  g_autofree char *token = random_string (token_alphabet, 6);

  self->to = g_array_new (TRUE, TRUE, sizeof (Mailbox));
  g_array_set_clear_func (self->to, (GDestroyNotify)mailbox_clear);
  self->attachments = g_ptr_array_new_with_free_func (attachment_free);
  self->token_in_subject = TRUE;
  g_snprintf (self->token, sizeof self->token, "PG-%s", token);
  self->unique = random_string ("0123456789abcdefghijklmnopqrstuvwxyz", 16);
}

GateMessageBuilder *
gate_message_builder_new (void)
{
  return g_object_new (GATE_TYPE_MESSAGE_BUILDER, NULL);
}

void
gate_message_builder_set_from (GateMessageBuilder *self, const char *display_name, const char *address)
{
  g_return_if_fail (GATE_IS_MESSAGE_BUILDER (self));

  mailbox_clear (&self->from);
  self->from.display_name = g_strdup (display_name);
  self->from.address = g_strdup (address);
  g_clear_pointer (&self->message_id, g_free);
}

void
gate_message_builder_add_to (GateMessageBuilder *self, const char *display_name, const char *address)
{
  Mailbox mailbox;

  g_return_if_fail (GATE_IS_MESSAGE_BUILDER (self));
  g_return_if_fail (address != NULL);

  mailbox.display_name = g_strdup (display_name);
  mailbox.address = g_strdup (address);
  g_array_append_val (self->to, mailbox);
}

void
gate_message_builder_set_subject (GateMessageBuilder *self, const char *subject)
{
  g_return_if_fail (GATE_IS_MESSAGE_BUILDER (self));

  g_free (self->subject);
  self->subject = g_strdup (subject);
}

void
gate_message_builder_set_text_body (GateMessageBuilder *self, const char *text)
{
  g_return_if_fail (GATE_IS_MESSAGE_BUILDER (self));

  g_free (self->text);
  self->text = g_strdup (text);
}

void
gate_message_builder_set_html_body (GateMessageBuilder *self, const char *html)
{
  g_return_if_fail (GATE_IS_MESSAGE_BUILDER (self));

  g_free (self->html);
  self->html = g_strdup (html);
}

void
gate_message_builder_add_attachment (GateMessageBuilder *self, GFile *file, const char *content_type)
{
  Attachment *attachment;

  g_return_if_fail (GATE_IS_MESSAGE_BUILDER (self));
  g_return_if_fail (G_IS_FILE (file));

  attachment = g_new0 (Attachment, 1);
  attachment->file = g_object_ref (file);
  attachment->content_type = g_strdup (content_type);
  g_ptr_array_add (self->attachments, attachment);
}

void
gate_message_builder_set_date (GateMessageBuilder *self, GDateTime *date)
{
  g_return_if_fail (GATE_IS_MESSAGE_BUILDER (self));

  if (date != NULL)
    g_date_time_ref (date);
  g_clear_pointer (&self->date, g_date_time_unref);
  self->date = date;
}

void
gate_message_builder_set_token_in_subject (GateMessageBuilder *self, gboolean in_subject)
{
  g_return_if_fail (GATE_IS_MESSAGE_BUILDER (self));

  self->token_in_subject = !!in_subject;
}

const char *
gate_message_builder_get_token (GateMessageBuilder *self)
{
  g_return_val_if_fail (GATE_IS_MESSAGE_BUILDER (self), NULL);

  return self->token;
}

/* The right-hand side of the Message-ID: the sender's domain in ASCII. */
static char *
message_id_domain (const char *address)
{
  const char *at = address ? strrchr (address, '@') : NULL;
  g_autofree char *ascii = NULL;

  if (at == NULL || at[1] == '\0')
    return g_strdup ("postgate.invalid");
  if (at[1] == '[')
    return g_strdup (at + 1);
  ascii = g_hostname_to_ascii (at + 1);
  if (ascii == NULL)
    return g_strdup ("postgate.invalid");
  for (const char *p = ascii; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-')
      return g_strdup ("postgate.invalid");
  return g_ascii_strdown (ascii, -1);
}

const char *
gate_message_builder_get_message_id (GateMessageBuilder *self)
{
  g_return_val_if_fail (GATE_IS_MESSAGE_BUILDER (self), NULL);

  if (self->message_id == NULL)
    {
      g_autofree char *domain = message_id_domain (self->from.address);

      self->message_id = g_strdup_printf ("<%s.%s@%s>", self->token, self->unique, domain);
    }
  return self->message_id;
}

/* Writer: buffers output and counts it. */

typedef struct
{
  GOutputStream *output;
  GCancellable *cancellable;
  GByteArray *buffer;
  guint64 written;
  char last; /* the last byte written */
} Writer;

static gboolean
writer_flush (Writer *w, GError **error)
{
  if (w->buffer->len == 0)
    return TRUE;
  if (!g_output_stream_write_all (w->output, w->buffer->data, w->buffer->len, NULL, w->cancellable, error))
    return FALSE;
  g_byte_array_set_size (w->buffer, 0);
  return TRUE;
}

static gboolean
writer_append (Writer *w, const char *data, gssize len, GError **error)
{
  gsize n = len < 0 ? strlen (data) : (gsize)len;

  if (n == 0)
    return TRUE;
  g_byte_array_append (w->buffer, (const guint8 *)data, n);
  w->written += n;
  w->last = data[n - 1];
  if (w->buffer->len >= WRITE_BUFFER_SIZE)
    return writer_flush (w, error);
  return TRUE;
}

/* Header encoding */

/* Replaces what must never reach a header (CR, LF and other control
 * characters, invalid UTF-8) so input cannot add header lines. */
static char *
clean_header_text (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text ? text : "", -1);
  GString *out = g_string_new (NULL);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

static gboolean
is_ascii (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar)*p > 0x7f)
      return FALSE;
  return TRUE;
}

/* Characters that may stand for themselves in a Q encoded-word inside a
 * phrase (RFC 2047 §5 (3)), the strictest of its three places. */
static gboolean
q_safe (guchar c)
{
  return g_ascii_isalnum (c) || strchr ("!*+-/", c) != NULL;
}

static gsize
q_cost (const char *p, gsize len)
{
  gsize cost = 0;

  for (gsize i = 0; i < len; i++)
    cost += (q_safe ((guchar)p[i]) || p[i] == ' ') ? 1 : 3;
  return cost;
}

static void
q_append (GString *out, const char *p, gsize len)
{
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar)p[i];

      if (c == ' ')
        g_string_append_c (out, '_');
      else if (q_safe (c))
        g_string_append_c (out, (char)c);
      else
        g_string_append_printf (out, "=%02X", c);
    }
}

/* RFC 2047 encoded-words for @text, UTF-8, each at most 75 characters and
 * holding whole characters only, joined by folding white space.  @used is
 * what the first line already holds, so that no line passes 76. */
static char *
encode_words (const char *text, gsize used)
{
  const gsize overhead = strlen ("=?UTF-8?Q?") + strlen ("?=");
  gsize total = strlen (text);
  gboolean base64 = ((total + 2) / 3) * 4 < q_cost (text, total);
  GString *out = g_string_new (NULL);
  const char *p = text;
  gsize line = used;

  while (*p != '\0')
    {
      /* Room for this word's payload on the current line, at most 75 - 12. */
      gsize room = (line + 1 + overhead < 76) ? 76 - line - 1 - overhead : 0;
      const char *start = p;
      gsize cost = 0;
      gsize bytes = 0;

      if (room > 75 - overhead)
        room = 75 - overhead;
      if (room < 12)
        {
          /* Not even a short word fits: start a new line. */
          g_string_append (out, "\r\n");
          line = 0;
          continue;
        }

      /* Take whole characters while they fit. */
      while (*p != '\0')
        {
          gsize clen = g_utf8_next_char (p) - p;
          gsize next_cost = base64 ? ((bytes + clen + 2) / 3) * 4 : cost + q_cost (p, clen);

          if (next_cost > room && bytes > 0)
            break;
          cost = next_cost;
          bytes += clen;
          p += clen;
        }

      if (out->len > 0 || line > 0)
        g_string_append_c (out, ' ');
      if (base64)
        {
          g_autofree char *b = g_base64_encode ((const guchar *)start, bytes);

          g_string_append_printf (out, "=?UTF-8?B?%s?=", b);
        }
      else
        {
          g_string_append (out, "=?UTF-8?Q?");
          q_append (out, start, bytes);
          g_string_append (out, "?=");
        }
      line += 1 + overhead + cost;
      if (*p != '\0')
        {
          g_string_append (out, "\r\n");
          line = 0;
        }
    }
  return g_string_free (out, FALSE);
}

/* The value of an unstructured header (Subject): ASCII folded at spaces, or
 * encoded-words when it has other characters or could be mistaken for
 * encoded-words or has a word too long to fold. */
static char *
format_unstructured (const char *name, const char *raw)
{
  g_autofree char *text = clean_header_text (raw);
  gsize used = strlen (name) + 1;
  gboolean encode = !is_ascii (text) || strstr (text, "=?") != NULL;
  g_auto (GStrv) words = NULL;
  GString *out;
  gsize line;

  if (!encode)
    {
      words = g_strsplit (text, " ", -1);
      for (guint i = 0; words[i] != NULL; i++)
        if (strlen (words[i]) > 900)
          encode = TRUE;
    }
  /* Leading or trailing white space does not survive unfolding. */
  if (!encode && text[0] != '\0' && (text[0] == ' ' || text[strlen (text) - 1] == ' '))
    encode = TRUE;
  if (encode)
    return encode_words (text, used);

  out = g_string_new (NULL);
  line = used;
  for (guint i = 0; words[i] != NULL; i++)
    {
      gsize len = strlen (words[i]);

      /* Each word after the first takes its space with it to the next line. */
      if (i > 0 && line + 1 + len > HEADER_FOLD && line > 0 && out->len > 0)
        {
          g_string_append (out, "\r\n");
          line = 0;
        }
      g_string_append_c (out, ' ');
      g_string_append (out, words[i]);
      line += 1 + len;
    }
  return g_string_free (out, FALSE);
}

static gboolean
is_atext_phrase (const char *text)
{
  if (text[0] == '\0' || text[0] == ' ' || text[strlen (text) - 1] == ' ' || strstr (text, "  ") != NULL)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("!#$%&'*+-/=?^_`{|}~ ", *p) == NULL)
      return FALSE;
  return strstr (text, "=?") == NULL;
}

/* A display name that is long or has characters beyond ASCII, as a phrase
 * folded between words: ASCII words stay as they are (quoted when they hold
 * specials), runs of other words become one encoded-word each.  Encoded-words
 * are only split inside such a run when it is too long for one, since some
 * parsers (Python's email package among them) keep the space between two
 * adjacent encoded-words although RFC 2047 says to drop it. */
static char *
encode_phrase (const char *name, gsize line)
{
  g_auto (GStrv) tokens = g_strsplit (name, " ", -1);
  GString *out = g_string_new (NULL);
  GString *run = g_string_new (NULL);

  for (guint i = 0;; i++)
    {
      const char *token = tokens[i];
      /* A word too long to fold goes encoded, which can be split. */
      gboolean plain = token != NULL && is_ascii (token) && strlen (token) <= 200;

      if (token != NULL && token[0] == '\0')
        continue;

      if (!plain && token != NULL)
        {
          if (run->len > 0)
            g_string_append_c (run, ' ');
          g_string_append (run, token);
          continue;
        }

      /* An ASCII word or the end: write the pending run first. */
      if (run->len > 0)
        {
          g_autofree char *words = encode_words (run->str, line);
          const char *last = g_strrstr (words, "\r\n");

          g_string_append (out, words);
          line = last ? strlen (last + 2) : line + strlen (words);
          g_string_truncate (run, 0);
        }
      if (token == NULL)
        break;

      {
        g_autofree char *word = NULL;

        if (is_atext_phrase (token))
          word = g_strdup (token);
        else
          {
            GString *quoted = g_string_new ("\"");

            for (const char *p = token; *p != '\0'; p++)
              {
                if (*p == '"' || *p == '\\')
                  g_string_append_c (quoted, '\\');
                g_string_append_c (quoted, *p);
              }
            g_string_append_c (quoted, '"');
            word = g_string_free (quoted, FALSE);
          }
        if (line + 1 + strlen (word) > HEADER_FOLD && line > 0)
          {
            g_string_append (out, "\r\n");
            line = 0;
          }
        g_string_append_printf (out, " %s", word);
        line += 1 + strlen (word);
      }
    }
  g_string_free (run, TRUE);
  return g_string_free (out, FALSE);
}

/* The address in ASCII where it can be: the domain as IDNA. */
static char *
ascii_address (const char *address)
{
  const char *at = strrchr (address, '@');
  g_autofree char *domain = NULL;

  if (at == NULL || is_ascii (at + 1))
    return g_strdup (address);
  domain = g_hostname_to_ascii (at + 1);
  if (domain == NULL)
    return g_strdup (address);
  return g_strdup_printf ("%.*s@%s", (int)(at - address), address, domain);
}

/* One mailbox: display name (plain, quoted or encoded) and <address>.
 * @line is the length of the current line, updated. */
static void
append_mailbox (GString *out, const Mailbox *mailbox, gsize *line)
{
  g_autofree char *address = ascii_address (mailbox->address);
  g_autofree char *name = mailbox->display_name ? clean_header_text (mailbox->display_name) : NULL;
  gsize angle_len = strlen (address) + 2;

  if (name != NULL && name[0] != '\0')
    {
      g_autofree char *phrase = NULL;
      const char *last_line;

      /* Short ASCII names go whole; longer ones are folded between words. */
      if (is_ascii (name) && strlen (name) <= 60 && is_atext_phrase (name))
        phrase = g_strdup_printf (" %s", name);
      else if (is_ascii (name) && strlen (name) <= 60)
        {
          GString *quoted = g_string_new (" \"");

          for (const char *p = name; *p != '\0'; p++)
            {
              if (*p == '"' || *p == '\\')
                g_string_append_c (quoted, '\\');
              g_string_append_c (quoted, *p);
            }
          g_string_append_c (quoted, '"');
          phrase = g_string_free (quoted, FALSE);
        }
      else
        phrase = encode_phrase (name, *line);

      if (phrase[0] != ' ' && phrase[0] != '\r')
        g_string_append_c (out, ' ');
      g_string_append (out, phrase);
      last_line = g_strrstr (phrase, "\r\n");
      if (last_line != NULL)
        *line = strlen (last_line + 2);
      else
        *line += strlen (phrase) + (phrase[0] != ' ' ? 1 : 0);
    }

  if (*line + 1 + angle_len > HEADER_FOLD && *line > 0)
    {
      g_string_append (out, "\r\n");
      *line = 0;
    }
  g_string_append_printf (out, " <%s>", address);
  *line += 1 + angle_len;
}

static char *
format_mailboxes (const char *name, const Mailbox *mailboxes, guint n)
{
  GString *out = g_string_new (NULL);
  gsize line = strlen (name) + 1;

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        {
          g_string_append (out, ",\r\n");
          line = 0;
        }
      append_mailbox (out, &mailboxes[i], &line);
    }
  return g_string_free (out, FALSE);
}

static gboolean
append_header (Writer *w, const char *name, const char *value, GError **error)
{
  /* @value starts with its own space or fold. */
  return writer_append (w, name, -1, error) && writer_append (w, ":", 1, error)
         && writer_append (w, value, -1, error) && writer_append (w, "\r\n", 2, error);
}

/* RFC 5322 §3.3, English names whatever the locale. */
static char *
format_date (GDateTime *date)
{
  static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  static const char *const months[]
      = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  gint64 offset = g_date_time_get_utc_offset (date) / G_TIME_SPAN_MINUTE;
  char sign = offset < 0 ? '-' : '+';

  if (offset < 0)
    offset = -offset;
  return g_strdup_printf ("%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
                          days[g_date_time_get_day_of_week (date) - 1], g_date_time_get_day_of_month (date),
                          months[g_date_time_get_month (date) - 1], g_date_time_get_year (date),
                          g_date_time_get_hour (date), g_date_time_get_minute (date),
                          g_date_time_get_second (date), sign, (int)(offset / 60), (int)(offset % 60));
}

/* Body encoding */

/* Quoted-printable (RFC 2045 §6.7) of UTF-8 text, every line ending made
 * CRLF, lines at most 76 characters with soft breaks. */
static gboolean
write_quoted_printable (Writer *w, const char *text, GError **error)
{
  GString *out = g_string_new (NULL);
  gsize line = 0;
  gboolean ok = TRUE;

  for (const char *p = text; *p != '\0' && ok; p++)
    {
      guchar c = (guchar)*p;
      char token[4];
      gsize token_len;

      if (c == '\r' || c == '\n')
        {
          if (c == '\r' && p[1] == '\n')
            p++;
          g_string_append (out, "\r\n");
          line = 0;
        }
      else
        {
          gboolean at_end = p[1] == '\0' || p[1] == '\r' || p[1] == '\n';

          /* White space at the end of a line would be lost in transit. */
          if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end))
            {
              token[0] = (char)c;
              token_len = 1;
            }
          else
            {
              g_snprintf (token, sizeof token, "=%02X", c);
              token_len = 3;
            }
          /* Keep one column for the soft break's '='; the last token of a
           * line needs none. */
          if (line + token_len > (at_end ? QP_MAX_LINE : QP_MAX_LINE - 1))
            {
              g_string_append (out, "=\r\n");
              line = 0;
            }
          g_string_append_len (out, token, token_len);
          line += token_len;
        }

      if (out->len >= WRITE_BUFFER_SIZE)
        {
          ok = writer_append (w, out->str, out->len, error);
          g_string_truncate (out, 0);
        }
    }
  if (ok)
    ok = writer_append (w, out->str, out->len, error);
  g_string_free (out, TRUE);
  return ok;
}

static gboolean
write_text_part (Writer *w, const char *subtype, const char *text, GError **error)
{
  g_autofree char *headers = g_strdup_printf ("Content-Type: text/%s; charset=\"UTF-8\"\r\n"
                                              "Content-Transfer-Encoding: quoted-printable\r\n"
                                              "\r\n",
                                              subtype);

  return writer_append (w, headers, -1, error) && write_quoted_printable (w, text ? text : "", error);
}

/* A MIME parameter (RFC 2045, or RFC 2231 when it is not plain ASCII or
 * long), written on its own folded line(s). */
static void
append_parameter (GString *out, const char *name, const char *raw)
{
  g_autofree char *value = clean_header_text (raw);
  gboolean plain = is_ascii (value) && strlen (value) <= 60;

  for (const char *p = value; plain && *p != '\0'; p++)
    if (*p == '"' || *p == '\\')
      plain = FALSE;

  if (plain)
    {
      g_string_append_printf (out, ";\r\n %s=\"%s\"", name, value);
      return;
    }

  /* name*0*=UTF-8''… name*1*=… with percent-encoding, short sections. */
  {
    const char *p = value;
    guint section = 0;

    while (*p != '\0' || section == 0)
      {
        GString *chunk = g_string_new (NULL);

        while (*p != '\0' && chunk->len < 40)
          {
            gsize clen = g_utf8_next_char (p) - p;

            for (gsize i = 0; i < clen; i++)
              {
                guchar c = (guchar)p[i];

                if (g_ascii_isalnum (c) || strchr ("!#$&+-.^_`|~", c) != NULL)
                  g_string_append_c (chunk, (char)c);
                else
                  g_string_append_printf (chunk, "%%%02X", c);
              }
            p += clen;
          }
        g_string_append_printf (out, ";\r\n %s*%u*=%s%s", name, section, section == 0 ? "UTF-8''" : "",
                                chunk->str);
        g_string_free (chunk, TRUE);
        section++;
      }
  }
}

static char *
attachment_content_type (const Attachment *attachment, const char *basename)
{
  const char *given = attachment->content_type;
  g_autofree char *guessed = NULL;
  g_autofree char *mime = NULL;
  const char *slash;

  if (given != NULL && strlen (given) <= 100)
    {
      /* type/subtype of token characters only, or it is not used. */
      slash = strchr (given, '/');
      if (slash != NULL && slash != given && slash[1] != '\0' && strchr (slash + 1, '/') == NULL)
        {
          gboolean ok = TRUE;

          for (const char *p = given; *p != '\0'; p++)
            if (*p != '/' && !g_ascii_isalnum (*p) && strchr ("!#$&+-.^_`|~", *p) == NULL)
              ok = FALSE;
          if (ok)
            return g_ascii_strdown (given, -1);
        }
    }

  guessed = g_content_type_guess (basename, NULL, 0, NULL);
  mime = guessed ? g_content_type_get_mime_type (guessed) : NULL;
  if (mime != NULL && strchr (mime, '/') != NULL)
    return g_steal_pointer (&mime);
  return g_strdup ("application/octet-stream");
}

static gboolean
attachment_error (GFile *file, const GError *cause, GError **error)
{
  g_autofree char *name = g_file_get_parse_name (file);
  g_autofree char *summary = g_strdup_printf (_ ("The file “%s” cannot be read."), name);
  GateSmtpErrorContext ctx = { .detail = summary };
  GError *ours = gate_smtp_error_new (GATE_SMTP_ERROR_INVALID_INPUT, &ctx);

  if (cause != NULL && g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (ours);
      g_propagate_error (error, g_error_copy (cause));
      return FALSE;
    }
  g_propagate_error (error, ours);
  return FALSE;
}

/* Streams @attachment as base64, 57 bytes (76 characters) a line. */
static gboolean
write_attachment (Writer *w, const Attachment *attachment, const char *boundary, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GFileInputStream) input = NULL;
  g_autofree char *basename = g_file_get_basename (attachment->file);
  g_autofree char *content_type = NULL;
  g_autofree guint8 *buf = NULL;
  GString *headers;
  gsize buf_size = BASE64_LINE_BYTES * 1024;
  char line[BASE64_LINE_BYTES / 3 * 4 + 8];

  if (basename == NULL || !g_utf8_validate (basename, -1, NULL))
    {
      g_free (basename);
      basename = g_strdup ("attachment");
    }

  input = g_file_read (attachment->file, w->cancellable, &local_error);
  if (input == NULL)
    return attachment_error (attachment->file, local_error, error);

  content_type = attachment_content_type (attachment, basename);
  headers = g_string_new (NULL);
  g_string_append_printf (headers, "\r\n--%s\r\nContent-Type: %s", boundary, content_type);
  append_parameter (headers, "name", basename);
  g_string_append (headers, "\r\nContent-Disposition: attachment");
  append_parameter (headers, "filename", basename);
  g_string_append (headers, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
  if (!writer_append (w, headers->str, headers->len, error))
    {
      g_string_free (headers, TRUE);
      return FALSE;
    }
  g_string_free (headers, TRUE);

  buf = g_malloc (buf_size);
  for (;;)
    {
      gsize n = 0;

      /* Fill the buffer so lines stay whole 57-byte groups. */
      if (!g_input_stream_read_all (G_INPUT_STREAM (input), buf, buf_size, &n, w->cancellable, &local_error))
        return attachment_error (attachment->file, local_error, error);
      for (gsize off = 0; off < n; off += BASE64_LINE_BYTES)
        {
          gsize chunk = MIN (BASE64_LINE_BYTES, n - off);
          int state = 0, save = 0;
          gsize len;

          len = g_base64_encode_step (buf + off, chunk, FALSE, line, &state, &save);
          len += g_base64_encode_close (FALSE, line + len, &state, &save);
          line[len++] = '\r';
          line[len++] = '\n';
          if (!writer_append (w, line, len, error))
            return FALSE;
        }
      if (n < buf_size)
        break;
    }
  return TRUE;
}

/* A boundary of "=_" and random letters: "=_" cannot occur in
 * quoted-printable or base64 text, so no body line can match it. */
static char *
make_boundary (const char *kind)
{
  g_autofree char *random
      = random_string ("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 24);

  return g_strdup_printf ("=_PG_%s_%s", kind, random);
}

/* The text and/or HTML, as one part or multipart/alternative, headers
 * included. */
static gboolean
write_body (Writer *w, GateMessageBuilder *self, GError **error)
{
  g_autofree char *boundary = NULL;
  g_autofree char *headers = NULL;

  if (self->html == NULL)
    return write_text_part (w, "plain", self->text, error);
  if (self->text == NULL)
    return write_text_part (w, "html", self->html, error);

  boundary = make_boundary ("alt");
  headers = g_strdup_printf ("Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n--%s\r\n",
                             boundary, boundary);
  if (!writer_append (w, headers, -1, error) || !write_text_part (w, "plain", self->text, error))
    return FALSE;
  g_free (headers);
  headers = g_strdup_printf ("\r\n--%s\r\n", boundary);
  if (!writer_append (w, headers, -1, error) || !write_text_part (w, "html", self->html, error))
    return FALSE;
  g_free (headers);
  headers = g_strdup_printf ("\r\n--%s--\r\n", boundary);
  return writer_append (w, headers, -1, error);
}

static gboolean
check_input (GateMessageBuilder *self, GError **error)
{
  const char *problem = NULL;

  if (self->from.address == NULL || self->from.address[0] == '\0')
    problem = _ ("The sender address is missing.");
  else if (!gate_smtp_address_is_valid (self->from.address))
    problem = _ ("The sender address is not valid.");
  else if (self->to->len == 0)
    problem = _ ("There is no recipient.");
  else
    for (guint i = 0; i < self->to->len && problem == NULL; i++)
      if (!gate_smtp_address_is_valid (g_array_index (self->to, Mailbox, i).address))
        problem = _ ("A recipient address is not valid.");

  if (problem != NULL)
    {
      GateSmtpErrorContext ctx = { .detail = problem };

      g_propagate_error (error, gate_smtp_error_new (GATE_SMTP_ERROR_INVALID_INPUT, &ctx));
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_message (GateMessageBuilder *self, Writer *w, GError **error)
{
  g_autoptr (GDateTime) now = NULL;
  g_autofree char *date_text = NULL;
  g_autofree char *date = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *subject_text = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *mixed = NULL;

  if (!check_input (self, error))
    return FALSE;

  now = self->date ? g_date_time_ref (self->date) : g_date_time_new_now_local ();
  date_text = format_date (now);
  date = g_strdup_printf (" %s", date_text);
  from = format_mailboxes ("From", &self->from, 1);
  to = format_mailboxes ("To", (const Mailbox *)(gpointer)self->to->data, self->to->len);
  if (self->token_in_subject && self->subject != NULL && self->subject[0] != '\0')
    subject_text = g_strdup_printf ("%s [%s]", self->subject, self->token);
  else if (self->token_in_subject)
    subject_text = g_strdup_printf ("[%s]", self->token);
  else
    subject_text = g_strdup (self->subject ? self->subject : "");
  subject = format_unstructured ("Subject", subject_text);
  message_id = g_strdup_printf (" %s", gate_message_builder_get_message_id (self));

  if (!append_header (w, "Date", date, error) || !append_header (w, "From", from, error)
      || !append_header (w, "To", to, error) || !append_header (w, "Subject", subject, error)
      || !append_header (w, "Message-ID", message_id, error)
      || !append_header (w, "MIME-Version", " 1.0", error)
      || !append_header (w, "User-Agent", " Postgate/" PACKAGE_VERSION, error))
    return FALSE;

  /* A message ends with a line ending, even when its text does not. */
  if (self->attachments->len == 0)
    return write_body (w, self, error) && (w->last == '\n' || writer_append (w, "\r\n", 2, error))
           && writer_flush (w, error);

  mixed = make_boundary ("mix");
  {
    g_autofree char *headers = g_strdup_printf ("Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n\r\n"
                                                "This is a message in several parts (MIME).\r\n"
                                                "\r\n--%s\r\n",
                                                mixed, mixed);

    if (!writer_append (w, headers, -1, error) || !write_body (w, self, error))
      return FALSE;
  }
  for (guint i = 0; i < self->attachments->len; i++)
    if (!write_attachment (w, g_ptr_array_index (self->attachments, i), mixed, error))
      return FALSE;
  {
    g_autofree char *end = g_strdup_printf ("\r\n--%s--\r\n", mixed);

    if (!writer_append (w, end, -1, error))
      return FALSE;
  }
  return writer_flush (w, error);
}

static gboolean
write_counted (GateMessageBuilder *self, GOutputStream *output, GCancellable *cancellable, guint64 *size,
               GError **error)
{
  Writer w = { output, cancellable, g_byte_array_sized_new (WRITE_BUFFER_SIZE + 1024), 0, '\0' };
  gboolean ok = write_message (self, &w, error);

  g_byte_array_unref (w.buffer);
  if (size != NULL)
    *size = w.written;
  return ok;
}

gboolean
gate_message_builder_write (GateMessageBuilder *self, GOutputStream *output, GCancellable *cancellable,
                            GError **error)
{
  g_return_val_if_fail (GATE_IS_MESSAGE_BUILDER (self), FALSE);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (output), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return write_counted (self, output, cancellable, NULL, error);
}

GBytes *
gate_message_builder_build_bytes (GateMessageBuilder *self, GError **error)
{
  g_autoptr (GOutputStream) output = NULL;

  g_return_val_if_fail (GATE_IS_MESSAGE_BUILDER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  output = g_memory_output_stream_new_resizable ();
  if (!gate_message_builder_write (self, output, NULL, error))
    return NULL;
  if (!g_output_stream_close (output, NULL, error))
    return NULL;
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
}

typedef struct
{
  GInputStream *stream;
  gint64 size;
} BuildResult;

static void
build_result_free (gpointer data)
{
  BuildResult *result = data;

  g_clear_object (&result->stream);
  g_free (result);
}

static void
build_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GateMessageBuilder *self = source_object;
  g_autoptr (GFileIOStream) iostream = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GFileInputStream) input = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) delete_error = NULL;
  BuildResult *result;
  guint64 size = 0;
  gboolean ok;

  file = g_file_new_tmp ("postgate-XXXXXX.eml", &iostream, &error);
  if (file == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  ok = write_counted (self, g_io_stream_get_output_stream (G_IO_STREAM (iostream)), cancellable, &size,
                      &error)
       && g_io_stream_close (G_IO_STREAM (iostream), cancellable, &error);
  /* A second handle, opened for reading only, keeps the data once the name
   * is gone. */
  if (ok)
    input = g_file_read (file, cancellable, &error);

  /* The name goes at once: nothing is left behind on a crash, and no other
   * user sees the message.  Windows cannot remove an open file; there it
   * stays in the temporary folder. */
  if (!g_file_delete (file, NULL, &delete_error))
    g_debug ("Could not remove temporary file: %s", delete_error->message);

  if (!ok || input == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  result = g_new0 (BuildResult, 1);
  result->stream = G_INPUT_STREAM (g_steal_pointer (&input));
  result->size = (gint64)size;
  g_task_return_pointer (task, result, build_result_free);
}

void
gate_message_builder_build_async (GateMessageBuilder *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (GATE_IS_MESSAGE_BUILDER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gate_message_builder_build_async);

  /* Made here, not in the worker, so the thread only reads the builder. */
  gate_message_builder_get_message_id (self);

  g_task_run_in_thread (task, build_thread);
}

GInputStream *
gate_message_builder_build_finish (GateMessageBuilder *self, GAsyncResult *result, gint64 *size,
                                   GError **error)
{
  BuildResult *built;
  GInputStream *stream;

  g_return_val_if_fail (GATE_IS_MESSAGE_BUILDER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gate_message_builder_build_async, NULL);

  built = g_task_propagate_pointer (G_TASK (result), error);
  if (built == NULL)
    return NULL;
  stream = g_steal_pointer (&built->stream);
  if (size != NULL)
    *size = built->size;
  build_result_free (built);
  return stream;
}
