/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-relay"

#include "config.h"

#include "gate-relay-session.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "gate-encoded-words.h"
#include "gate-line-scan.h"
#include "gate-local-time.h"
#include "gate-readable-source.h"
#include "gate-smtp-envelope.h"

/* RFC 5321 4.5.3.1: 512 octets for a command line is the minimum; old devices
 * send longer AUTH lines, so allow 1000 with CRLF, like the text line limit. */
#define MAX_COMMAND_LINE 1000
/* 998 characters plus CRLF (RFC 5322 2.1.1). */
#define MAX_TEXT_LINE 998
#define MAX_ERRORS 20
#define MAX_AUTH_FAILURES 3
/* Seconds a client may stay silent after what looks like the end of its
 * message written with LF alone, before it is told that this is not one. */
#define BARE_LF_END_WAIT 5
#define READ_SIZE 65536
/* What a client may send ahead while its input waits (a commit under way, a
 * reply it does not read) before reading stops for a while. */
#define INPUT_LIMIT (4 * READ_SIZE)
/* Headers longer than this are passed through untouched (only Received: is
 * added): they are not headers any sane device writes. */
#define MAX_HEADER_BLOCK (256 * 1024)
/* Characters of a subject the queue keeps to show. */
#define MAX_SUBJECT_SHOWN 200

typedef enum
{
  STATE_COMMAND,
  STATE_AUTH_PLAIN,
  STATE_AUTH_LOGIN_USER,
  STATE_AUTH_LOGIN_PASSWORD,
  STATE_DATA,
  STATE_COMMITTING,
  STATE_TLS_PENDING,
  STATE_TLS_HANDSHAKE,
  STATE_CLOSING,
  STATE_CLOSED,
} SessionState;

/* Where the DATA scanner is within the client's bytes.  Only CRLF ends a
 * line; a bare CR or LF is content, so "<LF>.<LF>", "<CR>.<CR>",
 * "<LF>.<CR><LF>" and "<CR><LF>.<LF>" can never end the data. */
typedef enum
{
  DATA_LINE_START, /* just after CRLF (or the 354) */
  DATA_DOT,        /* "." at the start of a line */
  DATA_DOT_CR,     /* ".\r" at the start of a line */
  DATA_MID,        /* inside a line */
  DATA_CR,         /* "\r" inside a line, LF or not yet unknown */
} DataState;

struct _GateRelaySession
{
  GObject parent_instance;

  GateRelayServer *server; /* weak */
  GSocketConnection *connection;
  GIOStream *stream; /* the connection, or the TLS connection over it */
  GCancellable *cancellable;
  char *peer;
  SessionState state;

  GByteArray *in;
  guint8 *read_buffer;
  GString *out;
  /* Watches the client for the whole session (one source, not one per
   * read: attaching and destroying a source each wakes the main loop once
   * more).  Gone only while input is not wanted. */
  GSource *read_source;
  gboolean writing;
  gboolean discarding_long_line;
  guint errors;
  guint auth_failures;
  gint64 started;
  gint64 last_activity;
  guint tick_source;

  char *helo;
  gboolean esmtp;
  gboolean tls_active;
  gboolean greet_after_handshake; /* TLS from the first byte (port 465) */
  char *auth_user;
  char *login_user;

  /* The transaction. */
  gboolean have_mail;
  char *sender;
  GPtrArray *recipients;
  GateSmtpBodyFlags body_flags;

  /* DATA */
  DataState data_state;
  char data_tail[4]; /* the last bytes of the data so far, for looks_like_bare_lf_end() */
  GateSpoolWriter *writer;
  guint64 data_size;
  gsize line_length;
  gboolean too_big;
  gboolean line_too_long;
  GError *write_error;
  GString *headers;
  gboolean headers_done;
};

enum
{
  SIGNAL_MESSAGE_ACCEPTED,
  SIGNAL_FINISHED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (GateRelaySession, gate_relay_session, G_TYPE_OBJECT)

static void session_pump (GateRelaySession *self);
static void greet (GateRelaySession *self);
static void session_process_input (GateRelaySession *self);

/* ------------------------------------------------------------------------ */

static void reply (GateRelaySession *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
reply (GateRelaySession *self, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_string_append_vprintf (self->out, format, args);
  va_end (args);
  g_string_append (self->out, "\r\n");
}

static void
reset_transaction (GateRelaySession *self)
{
  self->have_mail = FALSE;
  g_clear_pointer (&self->sender, g_free);
  g_ptr_array_set_size (self->recipients, 0);
  self->body_flags = GATE_SMTP_BODY_7BIT;
  if (self->writer)
    gate_spool_writer_abort (g_steal_pointer (&self->writer));
  g_clear_error (&self->write_error);
  if (self->headers)
    g_string_set_size (self->headers, 0);
}

static void
stop_reading (GateRelaySession *self)
{
  if (self->read_source == NULL)
    return;
  g_source_destroy (self->read_source);
  g_clear_pointer (&self->read_source, g_source_unref);
}

static void
session_finish (GateRelaySession *self)
{
  if (self->state == STATE_CLOSED)
    return;
  self->state = STATE_CLOSED;
  reset_transaction (self);
  stop_reading (self);
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->tick_source, g_source_remove);
  /* Not g_io_stream_close(): it refuses while a read is still pending. */
  g_socket_close (g_socket_connection_get_socket (self->connection), NULL);
  /* The server drops its reference in the handler. */
  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
  g_object_unref (self);
}

/* Says @line and closes once it is written. */
static void
close_with (GateRelaySession *self, const char *line)
{
  if (self->state == STATE_CLOSED || self->state == STATE_CLOSING)
    return;
  reset_transaction (self);
  g_string_append_printf (self->out, "%s\r\n", line);
  self->state = STATE_CLOSING;
}

static gboolean
count_error (GateRelaySession *self)
{
  if (++self->errors < MAX_ERRORS)
    return FALSE;
  close_with (self, "421 4.7.0 Too many errors; closing connection");
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Addresses and parameters */

static gboolean
address_chars_ok (const char *address)
{
  gsize len = strlen (address);

  if (len > 254 || !g_utf8_validate (address, (gssize)len, NULL))
    return FALSE;
  for (const char *p = address; *p; p++)
    {
      guchar c = (guchar)*p;
      if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_ascii (const char *s)
{
  for (; *s; s++)
    if ((guchar)*s >= 0x80)
      return FALSE;
  return TRUE;
}

/* Parses "FROM:<a@b> PARAMS", tolerating a space after the colon and a missing
 * pair of angle brackets.  Returns FALSE on a syntax error. */
static gboolean
parse_path (const char *args, const char *keyword, char **address, char **params)
{
  const char *p;
  gsize klen = strlen (keyword);

  if (g_ascii_strncasecmp (args, keyword, klen) != 0)
    return FALSE;
  p = args + klen;
  while (*p == ' ')
    p++;
  if (*p == '<')
    {
      const char *end = strchr (p, '>');
      if (end == NULL)
        return FALSE;
      *address = g_strndup (p + 1, (gsize)(end - p - 1));
      p = end + 1;
    }
  else
    {
      const char *end = strchr (p, ' ');
      if (end == NULL)
        end = p + strlen (p);
      if (end == p)
        return FALSE;
      *address = g_strndup (p, (gsize)(end - p));
      p = end;
    }
  if (*p != '\0' && *p != ' ')
    {
      g_clear_pointer (address, g_free);
      return FALSE;
    }
  while (*p == ' ')
    p++;
  *params = g_strdup (p);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Header block: Received:, Message-ID:, sender rewrite */

static const char *const day_names[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const month_names[]
    = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* RFC 5322 date, never localised. */
static char *
rfc5322_date (void)
{
  g_autoptr (GDateTime) now = gate_local_time_now ();
  gint64 offset = g_date_time_get_utc_offset (now) / G_USEC_PER_SEC / 60;

  return g_strdup_printf ("%s, %d %s %d %02d:%02d:%02d %c%02d%02d",
                          day_names[g_date_time_get_day_of_week (now) - 1],
                          g_date_time_get_day_of_month (now), month_names[g_date_time_get_month (now) - 1],
                          g_date_time_get_year (now), g_date_time_get_hour (now),
                          g_date_time_get_minute (now), g_date_time_get_second (now), offset < 0 ? '-' : '+',
                          (int)(ABS (offset) / 60), (int)(ABS (offset) % 60));
}

typedef struct
{
  const char *start; /* the whole field, with its CRLFs */
  gsize len;
  gsize name_len;
} HeaderField;

static gboolean
field_is (const HeaderField *field, const char *name)
{
  return field->name_len == strlen (name) && g_ascii_strncasecmp (field->start, name, field->name_len) == 0;
}

/* The field's value, unfolded and trimmed. */
static char *
field_value (const HeaderField *field)
{
  GString *value = g_string_new (NULL);

  for (gsize i = field->name_len + 1; i < field->len; i++)
    {
      char c = field->start[i];
      if (c == '\r' || c == '\n')
        continue;
      g_string_append_c (value, c);
    }
  return g_strstrip (g_string_free (value, FALSE));
}

/* "Name <a@b>" → "a@b"; "a@b (Name)" → "a@b". */
static char *
address_of (const char *value)
{
  const char *lt = strrchr (value, '<');

  if (lt)
    {
      const char *gt = strchr (lt, '>');
      return g_strndup (lt + 1, gt ? (gsize)(gt - lt - 1) : strlen (lt + 1));
    }
  else
    {
      const char *end = value;
      while (*end && *end != ' ' && *end != '(')
        end++;
      return g_strndup (value, (gsize)(end - value));
    }
}

static char *
display_name_of (const char *value)
{
  const char *lt = strrchr (value, '<');
  g_autofree char *name = NULL;

  if (lt == NULL)
    return NULL;
  name = g_strstrip (g_strndup (value, (gsize)(lt - value)));
  if (*name == '\0')
    return NULL;
  return g_steal_pointer (&name);
}

/* Builds the header block to store: Received: first, the device's fields
 * (From: rewritten when asked), then Reply-To:, Message-ID: and Date: when
 * added.
 * @block is the header block without the empty line that ends it. */
static GString *
rewrite_headers (GateRelaySession *self, const char *block, gsize len)
{
  const char *verified = self->server ? gate_relay_server_get_sender_rewrite (self->server) : NULL;
  const char *hostname = self->server ? gate_relay_server_get_hostname (self->server) : "localhost";
  const char *id = gate_spool_writer_get_id (self->writer);
  g_autoptr (GArray) fields = g_array_new (FALSE, FALSE, sizeof (HeaderField));
  g_autofree char *date = rfc5322_date ();
  g_autofree char *message_id = NULL;
  g_autofree char *from_value = NULL;
  gboolean has_reply_to = FALSE;
  gboolean has_date = FALSE;
  g_autofree char *subject = NULL;
  gboolean rewrite_from = FALSE;
  GString *out = g_string_sized_new (len + 512);
  gsize pos = 0;
  gsize body_start = len;

  /* Split into fields; a line that starts with space or tab continues one.
   * A line that is not a field (no colon, a space in the name) starts the
   * body: scripts that send no headers, or forget the empty line. */
  while (pos < len)
    {
      HeaderField field = { block + pos, 0, 0 };
      const char *colon;
      gsize end = pos;

      do
        {
          const char *lf = memchr (block + end, '\n', len - end);
          end = lf ? (gsize)(lf - block) + 1 : len;
        }
      while (end < len && (block[end] == ' ' || block[end] == '\t'));
      field.len = end - pos;
      colon = memchr (field.start, ':', field.len);
      field.name_len = colon ? (gsize)(colon - field.start) : field.len;
      if (colon == NULL || field.name_len == 0 || memchr (field.start, ' ', field.name_len) != NULL
          || memchr (field.start, '\t', field.name_len) != NULL)
        {
          body_start = pos;
          break;
        }
      g_array_append_val (fields, field);
      pos = end;
    }

  for (guint i = 0; i < fields->len; i++)
    {
      HeaderField *field = &g_array_index (fields, HeaderField, i);

      if (field_is (field, "Message-ID") && message_id == NULL)
        message_id = field_value (field);
      else if (field_is (field, "From") && from_value == NULL)
        from_value = field_value (field);
      else if (field_is (field, "Reply-To"))
        has_reply_to = TRUE;
      else if (field_is (field, "Date"))
        has_date = TRUE;
      else if (field_is (field, "Subject") && subject == NULL)
        subject = field_value (field);
    }

  if (verified != NULL)
    {
      g_autofree char *from_address = from_value ? address_of (from_value) : NULL;
      rewrite_from = from_address == NULL || g_ascii_strcasecmp (from_address, verified) != 0;
    }

  g_string_append_printf (out, "Received: from %s (%s [%s])\r\n\tby %s (Postgate) with %s id %s",
                          self->helo ? self->helo : "unknown", self->peer, self->peer, hostname,
                          self->auth_user ? (self->tls_active ? "ESMTPSA" : "ESMTPA")
                                          : (self->tls_active ? "ESMTPS" : (self->esmtp ? "ESMTP" : "SMTP")),
                          id);
  if (self->recipients->len == 1)
    g_string_append_printf (out, "\r\n\tfor <%s>", (char *)self->recipients->pdata[0]);
  g_string_append_printf (out, "; %s\r\n", date);

  for (guint i = 0; i < fields->len; i++)
    {
      HeaderField *field = &g_array_index (fields, HeaderField, i);

      if (rewrite_from && field_is (field, "From"))
        {
          g_autofree char *value = field_value (field);
          g_autofree char *display = display_name_of (value);

          if (display)
            g_string_append_printf (out, "From: %s <%s>\r\n", display, verified);
          else
            g_string_append_printf (out, "From: <%s>\r\n", verified);
          continue;
        }
      g_string_append_len (out, field->start, (gssize)field->len);
      /* A last line without CRLF (headers only, no body) still needs one. */
      if (field->len > 0 && field->start[field->len - 1] != '\n')
        g_string_append (out, "\r\n");
    }
  if (rewrite_from && from_value == NULL)
    g_string_append_printf (out, "From: <%s>\r\n", verified);
  if (rewrite_from && from_value != NULL && *from_value && !has_reply_to)
    g_string_append_printf (out, "Reply-To: %s\r\n", from_value);
  if (message_id == NULL || *message_id == '\0')
    {
      g_clear_pointer (&message_id, g_free);
      message_id = g_strdup_printf ("<%s.postgate@%s>", id, hostname);
      g_string_append_printf (out, "Message-ID: %s\r\n", message_id);
    }
  /* RFC 5322 3.6 requires it, and receivers' spam filters count its
   * absence; scripts and some devices leave it out.  The time the relay
   * took the message is the closest there is to when it was written. */
  if (!has_date)
    g_string_append_printf (out, "Date: %s\r\n", date);
  if (body_start < len)
    {
      g_string_append (out, "\r\n");
      g_string_append_len (out, block + body_start, (gssize)(len - body_start));
    }
  gate_spool_writer_set_message_id (self->writer, message_id);
  if (subject != NULL)
    {
      g_autofree char *readable = gate_encoded_words_decode (subject);

      /* For the queue view: a line, not a whole header of any length. */
      if (g_utf8_strlen (readable, -1) > MAX_SUBJECT_SHOWN)
        {
          g_autofree char *cut = g_utf8_substring (readable, 0, MAX_SUBJECT_SHOWN);

          g_free (readable);
          readable = g_strconcat (cut, "…", NULL);
        }
      gate_spool_writer_set_subject (self->writer, readable);
    }
  if (rewrite_from && from_value != NULL)
    {
      g_autofree char *from_address = address_of (from_value);
      /* What the device claimed, for the queue view; the envelope sender is
       * set when the transaction began. */
      if (self->sender && g_ascii_strcasecmp (self->sender, verified) == 0)
        gate_spool_writer_set_original_sender (self->writer, from_address);
    }
  return out;
}

/* ------------------------------------------------------------------------ */
/* DATA */

static void
data_write (GateRelaySession *self, const char *data, gsize len)
{
  g_autoptr (GError) error = NULL;

  if (self->writer == NULL || len == 0)
    return;
  if (!gate_spool_writer_write (self->writer, data, len, &error))
    {
      g_propagate_error (&self->write_error, g_steal_pointer (&error));
      gate_spool_writer_abort (g_steal_pointer (&self->writer));
    }
}

static void
flush_headers (GateRelaySession *self, gsize block_len)
{
  g_autoptr (GString) rewritten = NULL;

  self->headers_done = TRUE;
  if (self->writer == NULL)
    return;
  rewritten = rewrite_headers (self, self->headers->str, block_len);
  data_write (self, rewritten->str, rewritten->len);
  data_write (self, self->headers->str + block_len, self->headers->len - block_len);
  g_string_set_size (self->headers, 0);
}

/* Content after unstuffing and CRLF normalisation. */
static void
data_emit (GateRelaySession *self, const char *data, gsize len)
{
  guint64 max_size
      = self->server ? gate_relay_server_get_max_size (self->server) : GATE_RELAY_SERVER_DEFAULT_MAX_SIZE;

  if (len == 0)
    return;
  self->data_size += len;
  if (self->data_size > max_size && !self->too_big)
    {
      /* Keep reading to the end of the data, then answer 552. */
      self->too_big = TRUE;
      if (self->writer)
        gate_spool_writer_abort (g_steal_pointer (&self->writer));
    }
  if (self->line_too_long && self->writer)
    gate_spool_writer_abort (g_steal_pointer (&self->writer));
  if (self->writer == NULL)
    return;

  if (!self->headers_done)
    {
      gsize old_len = self->headers->len;
      const char *end;

      g_string_append_len (self->headers, data, (gssize)len);
      /* An empty line ends the header block (also at the very start). */
      if (self->headers->len >= 2 && memcmp (self->headers->str, "\r\n", 2) == 0)
        {
          flush_headers (self, 0);
          return;
        }
      end = g_strstr_len (self->headers->str + (old_len > 3 ? old_len - 3 : 0),
                          (gssize)(self->headers->len - (old_len > 3 ? old_len - 3 : 0)), "\r\n\r\n");
      if (end)
        flush_headers (self, (gsize)(end - self->headers->str) + 2);
      else if (self->headers->len > MAX_HEADER_BLOCK)
        {
          g_autoptr (GString) received = NULL;
          /* Not a header block worth reading: store it as it came. */
          self->headers_done = TRUE;
          received = rewrite_headers (self, "", 0);
          data_write (self, received->str, received->len);
          data_write (self, self->headers->str, self->headers->len);
          g_string_set_size (self->headers, 0);
        }
      return;
    }
  data_write (self, data, len);
}

/* Collects output bytes and tracks the text line length. */
typedef struct
{
  GateRelaySession *self;
  char buffer[8192];
  gsize len;
} DataOut;

static void
out_flush (DataOut *out)
{
  data_emit (out->self, out->buffer, out->len);
  out->len = 0;
}

static inline void
out_byte (DataOut *out, char c)
{
  GateRelaySession *self = out->self;

  if (c == '\n')
    self->line_length = 0;
  else if (c != '\r' && ++self->line_length > MAX_TEXT_LINE)
    self->line_too_long = TRUE;
  if ((guchar)c >= 0x80)
    self->body_flags |= GATE_SMTP_BODY_8BITMIME;
  out->buffer[out->len++] = c;
  if (out->len == sizeof out->buffer)
    out_flush (out);
}

static inline void
out_crlf (DataOut *out)
{
  out_byte (out, '\r');
  out_byte (out, '\n');
}

/* Copies a run of ordinary bytes inside a line: what out_byte() does for
 * each, for the whole run at once (most of a message is such runs). */
static void
out_run (DataOut *out, const guint8 *data, gsize len)
{
  GateRelaySession *self = out->self;

  self->line_length += len;
  if (self->line_length > MAX_TEXT_LINE)
    self->line_too_long = TRUE;
  if (!(self->body_flags & GATE_SMTP_BODY_8BITMIME) && gate_line_scan_has_8bit (data, len))
    self->body_flags |= GATE_SMTP_BODY_8BITMIME;
  while (len > 0)
    {
      gsize n = MIN (len, sizeof out->buffer - out->len);

      memcpy (out->buffer + out->len, data, n);
      out->len += n;
      data += n;
      len -= n;
      if (out->len == sizeof out->buffer)
        out_flush (out);
    }
}

/* Keeps the last four bytes of the data, across reads. */
static void
keep_data_tail (GateRelaySession *self, const guint8 *data, gsize len)
{
  gsize n = MIN (len, sizeof self->data_tail);
  gsize keep = sizeof self->data_tail - n;

  memmove (self->data_tail, self->data_tail + n, keep);
  memcpy (self->data_tail + keep, data + len - n, n);
}

/* Feeds client bytes to the DATA scanner.  Returns how many were used; sets
 * *ended when <CRLF>.<CRLF> was seen (the bytes after it are commands).
 * Lone CR and lone LF are stored as CRLF; they never start or end a line for
 * the end-of-data or dot-stuffing rules. */
static gsize
data_feed (GateRelaySession *self, const guint8 *data, gsize len, gboolean *ended)
{
  DataOut out;
  gsize i;

  /* Not the whole buffer: it is written before it is read. */
  out.self = self;
  out.len = 0;
  *ended = FALSE;
  for (i = 0; i < len && !*ended; i++)
    {
      char c;

      if (self->data_state == DATA_MID)
        {
          gsize run = gate_line_scan_run (data + i, len - i);

          out_run (&out, data + i, run);
          i += run;
          if (i == len)
            break;
        }
      c = (char)data[i];

      switch (self->data_state)
        {
          case DATA_LINE_START:
            if (c == '.')
              self->data_state = DATA_DOT;
            else if (c == '\r')
              self->data_state = DATA_CR;
            else if (c == '\n')
              {
                out_crlf (&out);
                self->data_state = DATA_MID;
              }
            else
              {
                out_byte (&out, c);
                self->data_state = DATA_MID;
              }
            break;

          case DATA_DOT:
            if (c == '\r')
              self->data_state = DATA_DOT_CR;
            else if (c == '\n')
              {
                /* ".<LF>" is not a line of its own: keep the dot. */
                out_byte (&out, '.');
                out_crlf (&out);
                self->data_state = DATA_MID;
              }
            else
              {
                /* A stuffed dot: dropped (RFC 5321 4.5.2). */
                out_byte (&out, c);
                self->data_state = DATA_MID;
              }
            break;

          case DATA_DOT_CR:
            if (c == '\n')
              {
                *ended = TRUE;
                break;
              }
            /* ".<CR>" then something else: content. */
            out_byte (&out, '.');
            out_crlf (&out);
            if (c == '\r')
              self->data_state = DATA_CR;
            else
              {
                out_byte (&out, c);
                self->data_state = DATA_MID;
              }
            break;

          case DATA_MID:
            if (c == '\r')
              self->data_state = DATA_CR;
            else if (c == '\n')
              out_crlf (&out); /* bare LF: stays mid-line for the dot rules */
            else
              out_byte (&out, c);
            break;

          case DATA_CR:
            if (c == '\n')
              {
                out_crlf (&out);
                self->data_state = DATA_LINE_START;
              }
            else if (c == '\r')
              out_crlf (&out); /* bare CR; the new CR is pending */
            else
              {
                out_crlf (&out); /* bare CR */
                out_byte (&out, c);
                self->data_state = DATA_MID;
              }
            break;

          default:
            g_assert_not_reached ();
        }
    }
  out_flush (&out);
  keep_data_tail (self, data, i);
  return i;
}

/* Whether the data so far ends as a client that ends lines with LF alone
 * ends its message ("<LF>.<LF>", or "<LF>.<CR><LF>"): never the end here
 * (see DataState), so such a client would wait for a reply forever. */
static gboolean
looks_like_bare_lf_end (GateRelaySession *self)
{
  const char *tail = self->data_tail;

  return memcmp (tail + 1, "\n.\n", 3) == 0 || memcmp (tail, "\n.\r\n", 4) == 0;
}

static void
commit_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GateRelaySession) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpoolEntry) entry = NULL;

  entry = gate_spool_writer_commit_finish (GATE_SPOOL (source), result, &error);
  if (self->state == STATE_CLOSED)
    return; /* the client went away; the message is stored all the same */
  if (entry == NULL)
    {
      if (g_error_matches (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NO_SPACE))
        {
          reply (self, "452 4.3.1 Insufficient system storage; try again later");
          if (self->server)
            gate_relay_server_log (self->server, _ ("A message from %s was refused: the disk is full"),
                                   self->peer);
        }
      else
        {
          reply (self, "451 4.3.0 Could not store the message; try again later");
          if (self->server)
            gate_relay_server_log (self->server, _ ("A message from %s could not be stored: %s"), self->peer,
                                   error->message);
        }
    }
  else
    {
      reply (self, "250 2.0.0 Ok: queued as %s", gate_spool_entry_get_id (entry));
      g_signal_emit (self, signals[SIGNAL_MESSAGE_ACCEPTED], 0, entry);
    }
  self->state = STATE_COMMAND;
  reset_transaction (self);
  session_process_input (self);
  session_pump (self);
}

static void
data_ended (GateRelaySession *self)
{
  guint64 max_size = gate_relay_server_get_max_size (self->server);

  self->state = STATE_COMMAND;
  if (self->too_big)
    {
      g_autofree char *limit = g_format_size (max_size);

      reply (self, "552 5.3.4 Message too big; the limit is %" G_GUINT64_FORMAT " bytes", max_size);
      gate_relay_server_log (self->server, _ ("A message from %s was refused: it is larger than %s"),
                             self->peer, limit);
      reset_transaction (self);
      return;
    }
  if (self->line_too_long)
    {
      reply (self, "554 5.6.0 A line of the message is longer than %d characters; not accepted",
             MAX_TEXT_LINE);
      gate_relay_server_log (self->server, _ ("A message from %s was refused: a line is too long"),
                             self->peer);
      reset_transaction (self);
      return;
    }
  if (self->writer && !self->headers_done)
    {
      /* Headers only: the data ended without an empty line. */
      gsize len = self->headers->len;
      self->headers_done = TRUE;
      if (self->writer)
        {
          g_autoptr (GString) rewritten = rewrite_headers (self, self->headers->str, len);
          data_write (self, rewritten->str, rewritten->len);
          g_string_set_size (self->headers, 0);
        }
    }
  if (self->writer == NULL)
    {
      if (g_error_matches (self->write_error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NO_SPACE))
        {
          reply (self, "452 4.3.1 Insufficient system storage; try again later");
          gate_relay_server_log (self->server, _ ("A message from %s was refused: the disk is full"),
                                 self->peer);
        }
      else
        {
          reply (self, "451 4.3.0 Could not store the message; try again later");
          gate_relay_server_log (self->server, _ ("A message from %s could not be stored: %s"), self->peer,
                                 self->write_error ? self->write_error->message : "?");
        }
      reset_transaction (self);
      return;
    }

  gate_spool_writer_set_body_flags (self->writer, self->body_flags);
  self->state = STATE_COMMITTING;
  gate_spool_writer_commit_async (g_steal_pointer (&self->writer), NULL, commit_cb, g_object_ref (self));
}

/* ------------------------------------------------------------------------ */
/* Commands */

static void
cmd_ehlo (GateRelaySession *self, const char *args, gboolean esmtp)
{
  const char *hostname = gate_relay_server_get_hostname (self->server);
  g_autofree char *name = g_strstrip (g_strdup (args));
  GString *helo;

  /* Some old devices say a bare HELO: tolerated, the address stands in. */
  if (*name == '\0')
    {
      g_free (name);
      name = g_strdup_printf ("[%s]", self->peer);
    }
  /* Stored in Received:, so only plain printable characters. */
  helo = g_string_new (NULL);
  for (const char *p = name; *p && helo->len < 255; p++)
    g_string_append_c (helo, ((guchar)*p > ' ' && (guchar)*p < 0x7f && *p != '(' && *p != ')') ? *p : '_');
  g_free (self->helo);
  self->helo = g_string_free (helo, FALSE);
  self->esmtp = esmtp;
  reset_transaction (self);

  if (!esmtp)
    {
      reply (self, "250 %s", hostname);
      return;
    }
  reply (self, "250-%s greets %s", hostname, self->helo);
  reply (self, "250-PIPELINING");
  reply (self, "250-SIZE %" G_GUINT64_FORMAT, gate_relay_server_get_max_size (self->server));
  reply (self, "250-8BITMIME");
  reply (self, "250-SMTPUTF8");
  if (!self->tls_active && gate_relay_server_get_starttls_offered (self->server))
    reply (self, "250-STARTTLS");
  if (gate_relay_server_get_auth_enabled (self->server)
      && (self->tls_active || gate_relay_server_get_auth_without_tls (self->server)))
    {
      reply (self, "250-AUTH PLAIN LOGIN");
      /* The draft form, which some old mail programs and devices look for
       * instead (as Postfix's broken_sasl_auth_clients). */
      reply (self, "250-AUTH=PLAIN LOGIN");
    }
  reply (self, "250 ENHANCEDSTATUSCODES");
}

static void
cmd_mail (GateRelaySession *self, const char *args)
{
  g_autofree char *address = NULL;
  g_autofree char *params = NULL;
  g_auto (GStrv) words = NULL;
  GateSmtpBodyFlags flags = GATE_SMTP_BODY_7BIT;
  guint64 max_size = gate_relay_server_get_max_size (self->server);

  if (self->helo == NULL)
    {
      reply (self, "503 5.5.1 Say HELO or EHLO first");
      return;
    }
  if (self->have_mail)
    {
      reply (self, "503 5.5.1 Sender already given");
      return;
    }
  if (gate_relay_server_get_auth_required (self->server) && self->auth_user == NULL)
    {
      reply (self, "530 5.7.0 Authentication required");
      return;
    }
  if (!parse_path (args, "FROM:", &address, &params))
    {
      reply (self, "501 5.5.4 Syntax: MAIL FROM:<address>");
      count_error (self);
      return;
    }
  if (*address != '\0' && !address_chars_ok (address))
    {
      reply (self, "553 5.1.7 The sender address is not valid");
      return;
    }
  words = g_strsplit (params, " ", -1);
  for (guint i = 0; words[i]; i++)
    {
      const char *w = words[i];

      if (*w == '\0')
        continue;
      if (g_ascii_strncasecmp (w, "SIZE=", 5) == 0)
        {
          guint64 size = 0;
          if (!g_ascii_string_to_unsigned (w + 5, 10, 0, G_MAXUINT64, &size, NULL))
            {
              reply (self, "501 5.5.4 Bad SIZE parameter");
              return;
            }
          if (size > max_size)
            {
              reply (self, "552 5.3.4 Message too big; the limit is %" G_GUINT64_FORMAT " bytes", max_size);
              return;
            }
        }
      else if (g_ascii_strcasecmp (w, "BODY=8BITMIME") == 0)
        flags |= GATE_SMTP_BODY_8BITMIME;
      else if (g_ascii_strcasecmp (w, "BODY=7BIT") == 0)
        ;
      else if (g_ascii_strcasecmp (w, "SMTPUTF8") == 0)
        flags |= GATE_SMTP_BODY_SMTPUTF8;
      else if (g_ascii_strncasecmp (w, "AUTH=", 5) == 0)
        ; /* RFC 4954 5: informational only */
      else
        {
          reply (self, "555 5.5.4 Unsupported parameter");
          return;
        }
    }
  if (!is_ascii (address))
    flags |= GATE_SMTP_BODY_SMTPUTF8;
  self->have_mail = TRUE;
  self->sender = g_steal_pointer (&address);
  self->body_flags = flags;
  reply (self, "250 2.1.0 Sender ok");
}

static void
cmd_rcpt (GateRelaySession *self, const char *args)
{
  g_autofree char *address = NULL;
  g_autofree char *params = NULL;

  if (!self->have_mail)
    {
      reply (self, "503 5.5.1 Sender first (MAIL FROM)");
      return;
    }
  if (!parse_path (args, "TO:", &address, &params))
    {
      reply (self, "501 5.5.4 Syntax: RCPT TO:<address>");
      count_error (self);
      return;
    }
  if (*params != '\0')
    {
      reply (self, "555 5.5.4 Unsupported parameter");
      return;
    }
  if (!gate_smtp_address_is_valid (address))
    {
      reply (self, "553 5.1.3 The recipient address is not valid");
      return;
    }
  if (self->recipients->len >= gate_relay_server_get_max_recipients (self->server))
    {
      reply (self, "452 4.5.3 Too many recipients");
      return;
    }
  if (!is_ascii (address))
    self->body_flags |= GATE_SMTP_BODY_SMTPUTF8;
  for (guint i = 0; i < self->recipients->len; i++)
    if (g_strcmp0 (self->recipients->pdata[i], address) == 0)
      {
        reply (self, "250 2.1.5 Recipient ok");
        return;
      }
  g_ptr_array_add (self->recipients, g_steal_pointer (&address));
  reply (self, "250 2.1.5 Recipient ok");
}

static void
cmd_data (GateRelaySession *self, const char *args)
{
  g_autoptr (GError) error = NULL;
  const char *verified = gate_relay_server_get_sender_rewrite (self->server);
  GateSpool *spool = gate_relay_server_get_spool (self->server);

  if (*args != '\0')
    {
      reply (self, "501 5.5.4 Syntax: DATA");
      return;
    }
  if (!self->have_mail)
    {
      reply (self, "503 5.5.1 Sender first (MAIL FROM)");
      return;
    }
  if (self->recipients->len == 0)
    {
      reply (self, "554 5.5.1 No valid recipients");
      return;
    }
  self->writer = gate_spool_begin (spool, &error);
  if (self->writer == NULL)
    {
      if (g_error_matches (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NO_SPACE))
        reply (self, "452 4.3.1 Insufficient system storage; try again later");
      else
        reply (self, "451 4.3.0 Could not store the message; try again later");
      gate_relay_server_log (self->server, _ ("A message from %s could not be stored: %s"), self->peer,
                             error->message);
      return;
    }
  if (verified && g_ascii_strcasecmp (self->sender, verified) != 0)
    {
      gate_spool_writer_set_sender (self->writer, verified);
      gate_spool_writer_set_original_sender (self->writer, self->sender);
    }
  else
    gate_spool_writer_set_sender (self->writer, self->sender);
  for (guint i = 0; i < self->recipients->len; i++)
    gate_spool_writer_add_recipient (self->writer, self->recipients->pdata[i]);
  gate_spool_writer_set_client (self->writer, self->peer, self->helo);

  self->state = STATE_DATA;
  self->data_state = DATA_LINE_START;
  /* The 354 ends a line: "." and LF at once is a message ended with LF. */
  memcpy (self->data_tail, "\0\0\r\n", sizeof self->data_tail);
  self->data_size = 0;
  self->line_length = 0;
  self->too_big = FALSE;
  self->line_too_long = FALSE;
  self->headers_done = FALSE;
  g_string_set_size (self->headers, 0);
  reply (self, "354 End data with <CR><LF>.<CR><LF>");
}

static void
auth_check (GateRelaySession *self, const char *user, const char *password)
{
  if (gate_relay_server_check_credentials (self->server, user, password))
    {
      self->auth_user = g_strdup (user);
      reply (self, "235 2.7.0 Authentication successful");
      gate_relay_server_log (self->server, _ ("%s signed in as “%s”"), self->peer, user);
      return;
    }
  gate_relay_server_log (self->server, _ ("%s gave a wrong user name or password"), self->peer);
  if (++self->auth_failures >= MAX_AUTH_FAILURES)
    close_with (self, "421 4.7.0 Too many failed sign-in attempts; closing connection");
  else
    reply (self, "535 5.7.8 Authentication credentials invalid");
}

static void
auth_plain_response (GateRelaySession *self, const char *b64)
{
  gsize len = 0;
  g_autofree guchar *raw = NULL;
  const char *user, *password;
  const char *end;

  if (strcmp (b64, "*") == 0)
    {
      reply (self, "501 5.0.0 Authentication cancelled");
      return;
    }
  raw = g_base64_decode (b64, &len);
  /* authzid NUL authcid NUL password */
  raw = g_realloc (raw, len + 1);
  raw[len] = '\0';
  user = memchr (raw, '\0', len);
  if (user == NULL || (gsize)(user - (char *)raw) + 1 >= len)
    {
      reply (self, "501 5.5.2 Malformed authentication data");
      return;
    }
  user++;
  end = (const char *)raw + len;
  password = memchr (user, '\0', (gsize)(end - user));
  if (password == NULL)
    {
      reply (self, "501 5.5.2 Malformed authentication data");
      return;
    }
  password++;
  auth_check (self, user, password);
  /* Wipe the password from memory. */
  memset (raw, 0, len);
}

static void
cmd_auth (GateRelaySession *self, const char *args)
{
  g_auto (GStrv) words = g_strsplit (args, " ", 2);

  if (!gate_relay_server_get_auth_enabled (self->server))
    {
      reply (self, "502 5.5.1 Authentication is not offered");
      return;
    }
  if (!self->tls_active && !gate_relay_server_get_auth_without_tls (self->server))
    {
      reply (self, "538 5.7.11 Encryption required for authentication");
      return;
    }
  if (self->auth_user)
    {
      reply (self, "503 5.5.1 Already authenticated");
      return;
    }
  if (self->have_mail)
    {
      reply (self, "503 5.5.1 Not during a mail transaction");
      return;
    }
  if (words[0] && g_ascii_strcasecmp (words[0], "PLAIN") == 0)
    {
      if (words[1] && *words[1])
        auth_plain_response (self, words[1]);
      else
        {
          reply (self, "334 ");
          self->state = STATE_AUTH_PLAIN;
        }
    }
  else if (words[0] && g_ascii_strcasecmp (words[0], "LOGIN") == 0)
    {
      if (words[1] && *words[1])
        {
          gsize len = 0;
          g_autofree guchar *raw = g_base64_decode (words[1], &len);
          self->login_user = g_strndup ((char *)raw, len);
          reply (self, "334 UGFzc3dvcmQ6");
          self->state = STATE_AUTH_LOGIN_PASSWORD;
        }
      else
        {
          reply (self, "334 VXNlcm5hbWU6");
          self->state = STATE_AUTH_LOGIN_USER;
        }
    }
  else
    reply (self, "504 5.5.4 Unrecognised authentication type");
}

static void
handle_auth_line (GateRelaySession *self, const char *line)
{
  SessionState state = self->state;

  self->state = STATE_COMMAND;
  if (strcmp (line, "*") == 0)
    {
      g_clear_pointer (&self->login_user, g_free);
      reply (self, "501 5.0.0 Authentication cancelled");
      return;
    }
  if (state == STATE_AUTH_PLAIN)
    auth_plain_response (self, line);
  else if (state == STATE_AUTH_LOGIN_USER)
    {
      gsize len = 0;
      g_autofree guchar *raw = g_base64_decode (line, &len);
      self->login_user = g_strndup ((char *)raw, len);
      reply (self, "334 UGFzc3dvcmQ6");
      self->state = STATE_AUTH_LOGIN_PASSWORD;
    }
  else
    {
      gsize len = 0;
      g_autofree guchar *raw = g_base64_decode (line, &len);
      g_autofree char *password = g_strndup ((char *)raw, len);

      auth_check (self, self->login_user ? self->login_user : "", password);
      memset (password, 0, len);
      memset (raw, 0, len);
      g_clear_pointer (&self->login_user, g_free);
    }
}

static void
handle_command (GateRelaySession *self, char *line)
{
  char *space = strchr (line, ' ');
  const char *args = "";
  const char *verb = line;

  if (space)
    {
      *space = '\0';
      args = space + 1;
    }

  if (g_ascii_strcasecmp (verb, "EHLO") == 0)
    cmd_ehlo (self, args, TRUE);
  else if (g_ascii_strcasecmp (verb, "HELO") == 0)
    cmd_ehlo (self, args, FALSE);
  else if (g_ascii_strcasecmp (verb, "MAIL") == 0)
    cmd_mail (self, args);
  else if (g_ascii_strcasecmp (verb, "RCPT") == 0)
    cmd_rcpt (self, args);
  else if (g_ascii_strcasecmp (verb, "DATA") == 0)
    cmd_data (self, args);
  else if (g_ascii_strcasecmp (verb, "RSET") == 0)
    {
      reset_transaction (self);
      reply (self, "250 2.0.0 Ok");
    }
  else if (g_ascii_strcasecmp (verb, "NOOP") == 0)
    reply (self, "250 2.0.0 Ok");
  else if (g_ascii_strcasecmp (verb, "QUIT") == 0)
    close_with (self, "221 2.0.0 Bye");
  else if (g_ascii_strcasecmp (verb, "VRFY") == 0)
    reply (self, "252 2.5.2 Cannot check addresses here, but will take the message");
  else if (g_ascii_strcasecmp (verb, "EXPN") == 0)
    reply (self, "502 5.5.1 Lists are not expanded here");
  else if (g_ascii_strcasecmp (verb, "HELP") == 0)
    reply (self, "214 2.0.0 Postgate relay: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT STARTTLS AUTH");
  else if (g_ascii_strcasecmp (verb, "STARTTLS") == 0)
    {
      if (self->tls_active)
        reply (self, "503 5.5.1 TLS already active");
      else if (!gate_relay_server_get_starttls_offered (self->server))
        reply (self, "502 5.5.1 TLS is not offered");
      else if (*args)
        reply (self, "501 5.5.4 Syntax: STARTTLS");
      else
        {
          reply (self, "220 2.0.0 Ready to start TLS");
          reset_transaction (self);
          self->state = STATE_TLS_PENDING;
          /* Anything the client sent after STARTTLS in clear text must not
           * be taken as coming through TLS (command injection). */
          g_byte_array_set_size (self->in, 0);
        }
    }
  else if (g_ascii_strcasecmp (verb, "AUTH") == 0)
    cmd_auth (self, args);
  else if (g_ascii_strcasecmp (verb, "BDAT") == 0)
    reply (self, "502 5.5.1 BDAT is not offered");
  else
    {
      reply (self, "500 5.5.2 Command not recognised");
      count_error (self);
    }
}

static void
session_process_input (GateRelaySession *self)
{
  while (self->in->len > 0)
    {
      guint8 *lf;
      gsize line_len, consumed;
      g_autofree char *line = NULL;

      if (self->state == STATE_DATA)
        {
          gboolean ended = FALSE;

          consumed = data_feed (self, self->in->data, self->in->len, &ended);
          g_byte_array_remove_range (self->in, 0, (guint)consumed);
          if (!ended)
            return;
          data_ended (self);
          continue;
        }
      if (self->state != STATE_COMMAND && self->state != STATE_AUTH_PLAIN
          && self->state != STATE_AUTH_LOGIN_USER && self->state != STATE_AUTH_LOGIN_PASSWORD)
        return;

      lf = memchr (self->in->data, '\n', self->in->len);
      if (lf == NULL)
        {
          if (self->in->len > MAX_COMMAND_LINE)
            {
              self->discarding_long_line = TRUE;
              g_byte_array_set_size (self->in, 0);
            }
          return;
        }
      consumed = (gsize)(lf - self->in->data) + 1;
      /* Old devices end commands with a bare LF: tolerated here (not in DATA). */
      line_len = consumed - 1;
      if (line_len > 0 && self->in->data[line_len - 1] == '\r')
        line_len--;
      line = g_strndup ((char *)self->in->data, line_len);
      g_byte_array_remove_range (self->in, 0, (guint)consumed);

      if (self->discarding_long_line || line_len + 2 > MAX_COMMAND_LINE)
        {
          self->discarding_long_line = FALSE;
          self->state = STATE_COMMAND;
          reply (self, "500 5.5.2 Line too long");
          count_error (self);
          continue;
        }
      if (strlen (line) != line_len)
        {
          self->state = STATE_COMMAND;
          reply (self, "500 5.5.2 NUL byte in command");
          count_error (self);
          continue;
        }
      if (self->state != STATE_COMMAND)
        handle_auth_line (self, line);
      else
        handle_command (self, line);
      if (line_len > 0)
        memset (line, 0, line_len); /* may have held a password */
    }
}

/* ------------------------------------------------------------------------ */
/* I/O */

static void
handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GateRelaySession) self = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error);

  if (self->state == STATE_CLOSED)
    return;
  if (!ok)
    {
      if (self->greet_after_handshake)
        /* Most often a device set to send in clear, or with STARTTLS, to
         * the port where TLS comes first. */
        gate_relay_server_log (self->server,
                               _ ("The device at %s did not start its connection with TLS (%s). On this port "
                                  "it must use SSL/TLS; for plain mail or STARTTLS, set it to the relay's "
                                  "other port."),
                               self->peer, error->message);
      else
        gate_relay_server_log (self->server, _ ("Securing the connection from %s failed: %s"), self->peer,
                               error->message);
      session_finish (self);
      return;
    }
  self->tls_active = TRUE;
  /* RFC 3207 4.2: forget everything learnt before TLS. */
  g_clear_pointer (&self->helo, g_free);
  self->esmtp = FALSE;
  self->state = STATE_COMMAND;
  self->last_activity = g_get_monotonic_time ();
  if (self->greet_after_handshake)
    {
      /* TLS from the first byte: the greeting is the first thing inside. */
      self->greet_after_handshake = FALSE;
      greet (self);
    }
  else
    session_pump (self);
}

static void
start_tls (GateRelaySession *self)
{
  g_autoptr (GError) error = NULL;
  GIOStream *tls;

  /* What follows is the handshake, on the stream that replaces this one. */
  stop_reading (self);
  /* As g_tls_server_connection_new(), but without a certificate database:
   * devices are not asked for certificates, so there is nothing to verify,
   * and left unset GnuTLS loads the system's trusted authorities again for
   * every connection (10 ms of processor time each). */
  tls = g_initable_new (g_tls_backend_get_server_connection_type (g_tls_backend_get_default ()), NULL, &error,
                        "base-io-stream", self->connection, "certificate",
                        gate_relay_server_get_tls_certificate (self->server), "database", NULL,
                        "authentication-mode", G_TLS_AUTHENTICATION_NONE, NULL);
  if (tls == NULL)
    {
      gate_relay_server_log (self->server, _ ("Could not secure the connection from %s: %s"), self->peer,
                             error->message);
      session_finish (self);
      return;
    }
  g_clear_object (&self->stream);
  self->stream = tls;
  self->state = STATE_TLS_HANDSHAKE;
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, self->cancellable,
                                    handshake_cb, g_object_ref (self));
}

static void
write_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GateRelaySession) self = user_data;
  g_autoptr (GError) error = NULL;

  self->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (self->state != STATE_CLOSED)
        {
          g_debug ("Writing to %s: %s", self->peer, error->message);
          session_finish (self);
        }
      return;
    }
  session_pump (self);
}

/* The client sent something (or went away). */
static gboolean
readable_cb (gpointer user_data)
{
  GateRelaySession *self = user_data;
  GInputStream *input = g_io_stream_get_input_stream (self->stream);
  g_autoptr (GError) error = NULL;
  gboolean keep;
  gssize n;

  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (input), self->read_buffer, READ_SIZE,
                                                NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;

  /* The source's reference keeps the session alive through what follows. */
  g_object_ref (self);
  if (n <= 0)
    {
      gboolean in_data = self->state == STATE_DATA;

      if (n < 0)
        g_debug ("Reading from %s: %s", self->peer, error->message);
      session_finish (self); /* drops the half-received message first */
      if (in_data && self->server)
        gate_relay_server_log (
            self->server, _ ("%s disconnected in the middle of a message; nothing was kept"), self->peer);
    }
  else
    {
      self->last_activity = g_get_monotonic_time ();
      g_byte_array_append (self->in, self->read_buffer, (guint)n);
      if (self->in->len >= INPUT_LIMIT)
        stop_reading (self); /* until what it holds is handled */
      session_process_input (self);
      session_pump (self);
    }
  keep = self->read_source != NULL && self->read_source == g_main_current_source ();
  g_object_unref (self);
  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Writes what the socket takes without waiting; -1 with WOULD_BLOCK when
 * it takes nothing (or the stream cannot be written that way). */
static gssize
write_now (GateRelaySession *self, const char *data, gsize len, GError **error)
{
  GOutputStream *output = g_io_stream_get_output_stream (self->stream);

  if (!G_IS_POLLABLE_OUTPUT_STREAM (output)
      || !g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (output)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "not pollable");
      return -1;
    }
  return g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (output), data, len, NULL,
                                                     error);
}

/* Decides what to do next: write what is pending, close, switch to TLS,
 * or watch for more input.  Everything one read brings is handled before
 * anything is written: a batch of pipelined commands is answered with one
 * write.  Replies are small and the socket almost always takes them at once:
 * they are written without waiting, and only what it does not take waits
 * for an asynchronous write (input that comes meanwhile waits in self->in,
 * up to INPUT_LIMIT). */
static void
session_pump (GateRelaySession *self)
{
  if (self->state == STATE_CLOSED || self->writing)
    return;
  if (self->out->len > 0)
    {
      GOutputStream *output = g_io_stream_get_output_stream (self->stream);
      g_autoptr (GError) error = NULL;
      gssize n = write_now (self, self->out->str, self->out->len, &error);
      GBytes *bytes;
      gsize len = 0;
      const void *data;

      if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_debug ("Writing to %s: %s", self->peer, error->message);
          session_finish (self);
          return;
        }
      if (n > 0)
        g_string_erase (self->out, 0, n);
      if (self->out->len > 0)
        {
          bytes = g_string_free_to_bytes (self->out);
          data = g_bytes_get_data (bytes, &len);
          self->out = g_string_new (NULL);
          self->writing = TRUE;
          /* The bytes stay alive with the task's data. */
          g_object_set_data_full (G_OBJECT (self), "pending-write", bytes, (GDestroyNotify)g_bytes_unref);
          g_output_stream_write_all_async (output, data, len, G_PRIORITY_DEFAULT, self->cancellable, write_cb,
                                           g_object_ref (self));
          return;
        }
    }
  if (self->state == STATE_CLOSING)
    {
      session_finish (self);
      return;
    }
  if (self->state == STATE_TLS_PENDING)
    {
      start_tls (self);
      return;
    }
  /* Input that comes while a message is being committed waits in self->in:
   * session_process_input() leaves it there until the commit is done. */
  if (self->state == STATE_TLS_HANDSHAKE || self->read_source != NULL || self->in->len >= INPUT_LIMIT)
    return;
  /* Both the plain socket's stream and a TLS connection's are pollable;
   * readable_cb() never runs a nested main loop. */
  self->read_source
      = gate_readable_source_new (self->stream, NULL, readable_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (self->read_source, "[gate-relay-session] read");
  g_source_attach (self->read_source, g_main_context_get_thread_default ());
}

/* Ends the session at once, with @line said if the socket takes it without
 * waiting (a client that reads nothing must not hold us up). */
static void
close_now (GateRelaySession *self, const char *line)
{
  if (self->state == STATE_CLOSED)
    return;
  if (!self->writing && self->state != STATE_TLS_HANDSHAKE)
    {
      g_autofree char *text = g_strdup_printf ("%s\r\n", line);

      write_now (self, text, strlen (text), NULL);
    }
  session_finish (self);
}

static gboolean
tick_cb (gpointer user_data)
{
  GateRelaySession *self = user_data;
  gint64 now = g_get_monotonic_time ();
  guint idle = self->server ? gate_relay_server_get_idle_timeout (self->server)
                            : GATE_RELAY_SERVER_DEFAULT_IDLE_TIMEOUT;
  guint total = self->server ? gate_relay_server_get_session_timeout (self->server)
                             : GATE_RELAY_SERVER_DEFAULT_SESSION_TIMEOUT;
  const char *why = NULL;

  if (self->state == STATE_COMMITTING || self->state == STATE_CLOSED || self->state == STATE_CLOSING)
    return G_SOURCE_CONTINUE;
  if (self->state == STATE_DATA && looks_like_bare_lf_end (self)
      && now - self->last_activity >= BARE_LF_END_WAIT * G_USEC_PER_SEC)
    {
      /* Closed, not answered and kept open: were more data to come after
       * all, it must not be read as commands. */
      if (self->server)
        gate_relay_server_log (
            self->server,
            _ ("%s sent a message whose lines end with a line feed alone instead of CR LF, so its "
               "end was not recognized; the message was not kept. Set the device or program to "
               "end its lines with CR LF."),
            self->peer);
      close_now (self, "554 5.5.2 Lines must end with CR LF; the message ended with a bare LF and was not "
                       "accepted");
      return G_SOURCE_CONTINUE;
    }
  if (idle > 0 && now - self->last_activity >= (gint64)idle * G_USEC_PER_SEC)
    why = "421 4.4.2 Idle for too long; closing connection";
  else if (total > 0 && now - self->started >= (gint64)total * G_USEC_PER_SEC)
    why = "421 4.4.2 Connection open for too long; closing connection";
  if (why == NULL)
    return G_SOURCE_CONTINUE;

  if (self->server)
    gate_relay_server_log (self->server, _ ("Closed the connection from %s: no activity for too long"),
                           self->peer);
  close_now (self, why);
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------ */

static void
gate_relay_session_dispose (GObject *object)
{
  GateRelaySession *self = GATE_RELAY_SESSION (object);

  g_clear_handle_id (&self->tick_source, g_source_remove);
  stop_reading (self);
  if (self->writer)
    gate_spool_writer_abort (g_steal_pointer (&self->writer));
  g_clear_object (&self->stream);
  g_clear_object (&self->connection);
  g_clear_object (&self->cancellable);
  if (self->server)
    g_object_remove_weak_pointer (G_OBJECT (self->server), (gpointer *)&self->server);
  self->server = NULL;
  G_OBJECT_CLASS (gate_relay_session_parent_class)->dispose (object);
}

static void
gate_relay_session_finalize (GObject *object)
{
  GateRelaySession *self = GATE_RELAY_SESSION (object);

  g_byte_array_unref (self->in);
  g_free (self->read_buffer);
  g_string_free (self->out, TRUE);
  g_string_free (self->headers, TRUE);
  g_ptr_array_unref (self->recipients);
  g_clear_error (&self->write_error);
  g_free (self->peer);
  g_free (self->helo);
  g_free (self->auth_user);
  g_free (self->login_user);
  g_free (self->sender);
  G_OBJECT_CLASS (gate_relay_session_parent_class)->finalize (object);
}

static void
gate_relay_session_class_init (GateRelaySessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gate_relay_session_dispose;
  object_class->finalize = gate_relay_session_finalize;

  signals[SIGNAL_MESSAGE_ACCEPTED]
      = g_signal_new ("message-accepted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, GATE_TYPE_SPOOL_ENTRY);
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                           NULL, NULL, G_TYPE_NONE, 0);
}

static void
gate_relay_session_init (GateRelaySession *self)
{
  self->in = g_byte_array_new ();
  self->read_buffer = g_malloc (READ_SIZE);
  self->out = g_string_new (NULL);
  self->headers = g_string_new (NULL);
  self->recipients = g_ptr_array_new_with_free_func (g_free);
  self->cancellable = g_cancellable_new ();
}

GateRelaySession *
gate_relay_session_new (GateRelayServer *server, GSocketConnection *connection)
{
  GateRelaySession *self;
  g_autoptr (GSocketAddress) remote = NULL;

  g_return_val_if_fail (GATE_IS_RELAY_SERVER (server), NULL);
  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (connection), NULL);

  self = g_object_new (GATE_TYPE_RELAY_SESSION, NULL);
  self->server = server;
  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *)&self->server);
  self->connection = g_object_ref (connection);
  self->stream = g_object_ref (G_IO_STREAM (connection));
  remote = g_socket_connection_get_remote_address (connection, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    self->peer
        = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  else
    self->peer = g_strdup ("unknown");
  return self;
}

static void
greet (GateRelaySession *self)
{
  reply (self, "220 %s ESMTP Postgate relay ready", gate_relay_server_get_hostname (self->server));
  session_pump (self);
}

void
gate_relay_session_start (GateRelaySession *self, gboolean tls_on_connect)
{
  g_return_if_fail (GATE_IS_RELAY_SESSION (self));

  self->started = self->last_activity = g_get_monotonic_time ();
  self->tick_source = g_timeout_add_seconds (1, tick_cb, self);
  if (tls_on_connect)
    {
      /* The idle and session time-outs cover a client that never
       * completes the handshake. */
      self->greet_after_handshake = TRUE;
      start_tls (self);
      return;
    }
  greet (self);
}

void
gate_relay_session_close (GateRelaySession *self)
{
  g_return_if_fail (GATE_IS_RELAY_SESSION (self));
  close_now (self, "421 4.3.2 The relay is shutting down");
}

const char *
gate_relay_session_get_peer (GateRelaySession *self)
{
  g_return_val_if_fail (GATE_IS_RELAY_SESSION (self), NULL);
  return self->peer;
}
