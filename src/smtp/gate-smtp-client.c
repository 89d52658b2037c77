/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-smtp-client"

#include "config.h"

#include "gate-smtp-client.h"

#include <glib/gi18n-lib.h>
#include <gio/gnetworking.h>
#include <string.h>

#include "gate-data-encoder.h"
#include "gate-readable-source.h"
#include "gate-tls-warm-up.h"

/* The reader keeps at most this much unread input: enough for the longest
 * line a server may send plus a few more, never more whatever it sends. */
#define READ_BUFFER_SIZE (GATE_SMTP_REPLY_MAX_LINE + 2 + 12288)
/* DATA is read from the caller's stream in chunks of this size and written in
 * writes of one or two encoded chunks. */
#define DATA_CHUNK_SIZE (64 * 1024)
#define MIN_CHUNK_SIZE 4096

#define HIDDEN "********"

struct _GateSmtpClient
{
  GObject parent_instance;

  /* Settings */
  char *host;
  guint16 port;
  GateSmtpSecurity security;
  char *username;
  char *password;
  char *oauth_token;
  GateSmtpAuthMechanism auth_mechanisms;
  gboolean allow_plain_auth;
  char *helo_name;
  char *ca_file;
  char *pinned_fingerprint; /* canonical "AB:CD:…" */
  guint connect_timeout;
  guint command_timeout;
  guint data_timeout;

  /* State */
  GateSmtpStage stage;
  GateSmtpCapabilities *capabilities;
  GateTlsInfo *tls_info;
  GateSmtpAuthMechanism auth_used;
  guint messages_sent;
  gboolean connected;
  gboolean ready;     /* greeted, secured and signed in: can send */
  gboolean need_rset; /* a transaction was left unfinished */
  struct _Op *op;     /* the operation under way, if any */

  /* The wire */
  GSocketConnectable *identity;
  GSocketConnection *socket_connection;
  GTlsConnection *tls_connection;
  GIOStream *stream; /* the one in use: socket_connection or tls_connection */
  gboolean in_tls;
  char *session_helo;

  /* Line reader over the stream's input */
  guint8 *rbuf;
  gsize rstart;
  gsize rend;
  GateSmtpReplyParser *parser;

  /* What the certificate check found, for the error */
  GateCertificateProblem certificate_problem;
  char *peer_fingerprint;
  gboolean pin_matched;
  gboolean ca_file_matched;
  char *ca_file_error;

  /* The next message is the last: QUIT travels with its final dot. */
  gboolean quit_after_send;
};

G_DEFINE_TYPE (GateSmtpClient, gate_smtp_client, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (GateSmtpSecurity, gate_smtp_security,
                    G_DEFINE_ENUM_VALUE (GATE_SMTP_SECURITY_NONE, "none"),
                    G_DEFINE_ENUM_VALUE (GATE_SMTP_SECURITY_STARTTLS, "starttls"),
                    G_DEFINE_ENUM_VALUE (GATE_SMTP_SECURITY_TLS, "tls"))

enum
{
  PROP_0,
  PROP_HOST,
  PROP_PORT,
  PROP_SECURITY,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_OAUTH_TOKEN,
  PROP_AUTH_MECHANISMS,
  PROP_ALLOW_PLAIN_AUTH,
  PROP_HELO_NAME,
  PROP_CA_FILE,
  PROP_PINNED_FINGERPRINT,
  PROP_CONNECT_TIMEOUT,
  PROP_COMMAND_TIMEOUT,
  PROP_DATA_TIMEOUT,
  PROP_STAGE,
  PROP_CAPABILITIES,
  PROP_TLS_INFO,
  PROP_MESSAGES_SENT,
  PROP_CONNECTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_TRANSCRIPT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ------------------------------------------------------------------------ */
/* Security names */

const char *
gate_smtp_security_to_string (GateSmtpSecurity security)
{
  switch (security)
    {
      case GATE_SMTP_SECURITY_NONE:
        return "none";
      case GATE_SMTP_SECURITY_STARTTLS:
        return "starttls";
      case GATE_SMTP_SECURITY_TLS:
        return "tls";
      default:
        return NULL;
    }
}

gboolean
gate_smtp_security_from_string (const char *name, GateSmtpSecurity *security)
{
  GateSmtpSecurity value;

  g_return_val_if_fail (name != NULL, FALSE);

  if (g_ascii_strcasecmp (name, "none") == 0 || g_ascii_strcasecmp (name, "plain") == 0)
    value = GATE_SMTP_SECURITY_NONE;
  else if (g_ascii_strcasecmp (name, "starttls") == 0)
    value = GATE_SMTP_SECURITY_STARTTLS;
  else if (g_ascii_strcasecmp (name, "tls") == 0 || g_ascii_strcasecmp (name, "ssl") == 0)
    value = GATE_SMTP_SECURITY_TLS;
  else
    return FALSE;

  if (security != NULL)
    *security = value;
  return TRUE;
}

const char *
gate_smtp_security_get_label (GateSmtpSecurity security)
{
  switch (security)
    {
      case GATE_SMTP_SECURITY_NONE:
        return _ ("No encryption");
      case GATE_SMTP_SECURITY_STARTTLS:
        return _ ("STARTTLS");
      case GATE_SMTP_SECURITY_TLS:
        return _ ("TLS (SSL)");
      default:
        return NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Small helpers */

/* Secrets do not linger in freed memory. */
static void
secret_free (char *secret)
{
  if (secret == NULL)
    return;
  memset (secret, 0, strlen (secret));
  g_free (secret);
}

typedef char Secret;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Secret, secret_free)

static guint
elapsed_ms (gint64 since)
{
  return (guint)((g_get_monotonic_time () - since) / 1000);
}

/* "12,345": the transcript's number style, whatever the locale. */
static char *
format_count (guint64 value)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, value);
  GString *out = g_string_new (NULL);
  gsize len = strlen (digits);

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

/* Whether anyone follows the transcript: a relay forwarding thousands of
 * messages does not, and building its lines would cost more than sending. */
static gboolean
wants_transcript (GateSmtpClient *self)
{
  return g_signal_has_handler_pending (self, signals[SIGNAL_TRANSCRIPT], 0, FALSE);
}

static void
emit_event (GateSmtpClient *self, GateTranscriptDirection direction, gboolean secret_hidden, const char *text)
{
  g_autoptr (GateTranscriptEvent) event = NULL;

  if (!wants_transcript (self))
    return;
  event = gate_transcript_event_new (direction, self->in_tls, secret_hidden, text);
  g_signal_emit (self, signals[SIGNAL_TRANSCRIPT], 0, event);
}

static void emit_info (GateSmtpClient *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
emit_info (GateSmtpClient *self, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (!wants_transcript (self))
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  emit_event (self, GATE_TRANSCRIPT_INFO, FALSE, text);
}

static void
set_stage (GateSmtpClient *self, GateSmtpStage stage)
{
  if (self->stage == stage)
    return;
  /* Formatting a debug message costs even when it is not shown: checked
   * first, as this runs several times for each message a relay forwards. */
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    g_debug ("stage %d -> %d", self->stage, stage);
  self->stage = stage;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
}

static void
set_connected (GateSmtpClient *self, gboolean connected)
{
  if (self->connected == connected)
    return;
  self->connected = connected;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
}

static void
set_capabilities (GateSmtpClient *self, GateSmtpCapabilities *caps)
{
  if (self->capabilities == caps)
    return;
  g_clear_pointer (&self->capabilities, gate_smtp_capabilities_unref);
  self->capabilities = caps ? gate_smtp_capabilities_ref (caps) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAPABILITIES]);
}

static void
set_tls_info (GateSmtpClient *self, GateTlsInfo *info)
{
  if (self->tls_info == info)
    return;
  g_clear_pointer (&self->tls_info, gate_tls_info_unref);
  self->tls_info = info ? gate_tls_info_ref (info) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TLS_INFO]);
}

/* Drops the connection at once, without QUIT. */
static void
drop_connection (GateSmtpClient *self)
{
  if (self->socket_connection != NULL)
    {
      GSocket *socket = g_socket_connection_get_socket (self->socket_connection);

      /* Closing the socket itself never blocks, unlike a TLS close. */
      if (socket != NULL)
        g_socket_close (socket, NULL);
    }

  if (self->tls_connection != NULL)
    g_signal_handlers_disconnect_by_data (self->tls_connection, self);
  g_clear_object (&self->tls_connection);
  g_clear_object (&self->socket_connection);
  g_clear_object (&self->stream);
  self->in_tls = FALSE;
  self->ready = FALSE;
  self->need_rset = FALSE;
  self->rstart = self->rend = 0;
  gate_smtp_reply_parser_reset (self->parser);
  set_connected (self, FALSE);
}

/* ------------------------------------------------------------------------ */
/* Operations: one at a time, each a GTask with this as its data. */

typedef void (*ReplyHandler) (GTask *task, GateSmtpReply *reply);

typedef enum
{
  CMD_RSET,
  CMD_MAIL,
  CMD_RCPT,
  CMD_DATA,
} CommandKind;

typedef struct _Op
{
  GateSmtpClient *self;      /* owned by the task */
  GCancellable *cancellable; /* internal: the caller's or the timer cancels it */
  GCancellable *user_cancellable;
  gulong user_cancelled_id;
  GMainContext *context;
  GSource *timer;
  GSource *read_source; /* while waiting for the server's next bytes */
  guint read_nesting;   /* reads that went on at once, one inside the other */
  guint write_nesting;  /* the same for writes, and for reads of the message */
  gboolean timed_out;
  gint64 started;
  gint64 stage_started;
  ReplyHandler on_reply;

  /* connect */
  GSocketClient *socket_client;

  /* quit */
  gboolean quitting;

  /* auth */
  GateSmtpAuthMechanism mechanism;

  /* send */
  GateSmtpEnvelope *envelope;
  GInputStream *message;
  GateSmtpSendResult *result;
  GArray *kinds;      /* CommandKind of each command sent, in order */
  GPtrArray *lines;   /* the command lines, without CRLF */
  guint next_command; /* next to write (without pipelining) */
  guint next_reply;   /* next reply to read */
  guint next_recipient;
  gboolean pipelined;
  GateSmtpReply *mail_reply;
  GateSmtpReply *data_reply;
  GateSmtpReply *first_refusal;
  GString *refused;
  GError *pending_error; /* reported once a lone "." ended an unwanted DATA */
  GString *batch;
  GateDataEncoder *encoder;
  guint8 *chunk;
  gsize chunk_size;
  gsize chunk_len;
  GByteArray *out;
  guint64 bytes_sent;
  guint64 lines_sent;
  gboolean quit_pipelined;    /* QUIT went in the same write as the final dot */
  GateSmtpReply *final_reply; /* the reply to the dot, while the 221 is read */
} Op;

static void
op_disarm_timer (Op *op)
{
  if (op->timer != NULL)
    {
      g_source_destroy (op->timer);
      g_clear_pointer (&op->timer, g_source_unref);
    }
}

static void
op_free (gpointer data)
{
  Op *op = data;

  op_disarm_timer (op);
  if (op->read_source != NULL)
    {
      g_source_destroy (op->read_source);
      g_clear_pointer (&op->read_source, g_source_unref);
    }
  if (op->user_cancelled_id != 0)
    g_cancellable_disconnect (op->user_cancellable, op->user_cancelled_id);
  g_clear_object (&op->user_cancellable);
  g_clear_object (&op->cancellable);
  g_clear_pointer (&op->context, g_main_context_unref);
  g_clear_object (&op->socket_client);
  g_clear_pointer (&op->envelope, gate_smtp_envelope_unref);
  g_clear_object (&op->message);
  g_clear_pointer (&op->result, gate_smtp_send_result_unref);
  g_clear_pointer (&op->kinds, g_array_unref);
  g_clear_pointer (&op->lines, g_ptr_array_unref);
  g_clear_pointer (&op->mail_reply, gate_smtp_reply_unref);
  g_clear_pointer (&op->data_reply, gate_smtp_reply_unref);
  g_clear_pointer (&op->first_refusal, gate_smtp_reply_unref);
  g_clear_pointer (&op->final_reply, gate_smtp_reply_unref);
  if (op->refused != NULL)
    g_string_free (op->refused, TRUE);
  g_clear_error (&op->pending_error);
  if (op->batch != NULL)
    g_string_free (op->batch, TRUE);
  g_clear_pointer (&op->encoder, gate_data_encoder_free);
  g_clear_pointer (&op->chunk, g_free);
  g_clear_pointer (&op->out, g_byte_array_unref);
  g_free (op);
}

static void
on_user_cancelled (GCancellable *user_cancellable, gpointer data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));
}

static gboolean
on_timer (gpointer data)
{
  Op *op = data;

  op->timed_out = TRUE;
  g_clear_pointer (&op->timer, g_source_unref);
  g_cancellable_cancel (op->cancellable);
  return G_SOURCE_REMOVE;
}

/* Each wait on the server has its own deadline: a stalled server fails the
 * operation with a time-out, by cancelling what is under way. */
static void
op_arm_timer (Op *op, guint seconds)
{
  op_disarm_timer (op);
  if (seconds == 0)
    return;
  op->timer = g_timeout_source_new ((guint)MIN ((guint64)seconds * 1000, G_MAXUINT));
  g_source_set_callback (op->timer, on_timer, op, NULL);
  g_source_attach (op->timer, op->context);
}

static GTask *
op_start (GateSmtpClient *self, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data,
          gpointer source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Op *op = g_new0 (Op, 1);

  g_task_set_source_tag (task, source_tag);
  /* Our own error (GATE_SMTP_ERROR_CANCELLED, with its stage) rather than
   * GTask's plain G_IO_ERROR_CANCELLED. */
  g_task_set_check_cancellable (task, FALSE);
  op->self = self;
  op->cancellable = g_cancellable_new ();
  op->context = g_main_context_ref_thread_default ();
  op->started = op->stage_started = g_get_monotonic_time ();
  if (cancellable != NULL)
    {
      op->user_cancellable = g_object_ref (cancellable);
      op->user_cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_user_cancelled),
                                                     g_object_ref (op->cancellable), g_object_unref);
    }
  g_task_set_task_data (task, op, op_free);
  return task;
}

static Op *
task_op (GTask *task)
{
  return g_task_get_task_data (task);
}

static GateSmtpClient *
task_self (GTask *task)
{
  return GATE_SMTP_CLIENT (g_task_get_source_object (task));
}

static GError *
client_error (GateSmtpClient *self, GateSmtpError code, GateSmtpReply *reply, const char *detail)
{
  GateSmtpErrorContext ctx = { 0 };

  ctx.stage = self->stage;
  ctx.host = self->host;
  ctx.port = self->port;
  ctx.reply = reply;
  ctx.detail = detail;
  if (code == GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED)
    {
      ctx.certificate_problem = self->certificate_problem;
      ctx.certificate_fingerprint = self->peer_fingerprint;
    }
  return gate_smtp_error_new (code, &ctx);
}

static void
emit_error (GateSmtpClient *self, const GError *error)
{
  const char *detail = NULL;

  if (error->domain == GATE_SMTP_ERROR)
    detail = gate_smtp_error_get_detail (error);

  if (detail != NULL && *detail != '\0' && strstr (error->message, detail) == NULL)
    {
      g_autofree char *text = g_strdup_printf ("%s (%s)", error->message, detail);
      emit_event (self, GATE_TRANSCRIPT_ERROR, FALSE, text);
    }
  else
    {
      emit_event (self, GATE_TRANSCRIPT_ERROR, FALSE, error->message);
    }
}

static void
op_finish_common (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);

  op_disarm_timer (op);
  if (self->op == op)
    self->op = NULL;
}

/* Fails the operation.  @keep_connection: an SMTP refusal leaves the session
 * usable; anything else (network, protocol, time-out, cancel) ends it. */
static void conclude_final_reply (GTask *task, GateSmtpReply *reply);

static void
op_fail (GTask *task, GError *error, gboolean keep_connection)
{
  GateSmtpClient *self = task_self (task);

  /* The 221 to a QUIT sent with the final dot did not come: the message's
   * fate is already known from the reply to the dot. */
  if (task_op (task)->final_reply != NULL)
    {
      g_autoptr (GateSmtpReply) final_reply = g_steal_pointer (&task_op (task)->final_reply);

      g_error_free (error);
      drop_connection (self);
      conclude_final_reply (task, final_reply);
      return;
    }

  /* A server that hangs up on QUIT without its 221 has still ended the
   * session as asked. */
  if (task_op (task)->quitting && g_error_matches (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_NETWORK))
    {
      g_error_free (error);
      drop_connection (self);
      set_stage (self, GATE_SMTP_STAGE_DONE);
      op_finish_common (task);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  op_finish_common (task);
  emit_error (self, error);
  if (!keep_connection)
    drop_connection (self);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
op_fail_code (GTask *task, GateSmtpError code, GateSmtpReply *reply, const char *detail,
              gboolean keep_connection)
{
  op_fail (task, client_error (task_self (task), code, reply, detail), keep_connection);
}

/* A GIO (or reader) failure: cancelled by the caller, by our timer, or a
 * real network error. */
static void
op_fail_io (GTask *task, GError *io_error)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  GError *error;

  if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || (op->timed_out && g_cancellable_is_cancelled (op->cancellable)))
    {
      if (op->timed_out)
        {
          g_autofree char *detail
              = g_strdup_printf (_ ("No answer from the server within %u seconds"),
                                 self->stage == GATE_SMTP_STAGE_CONNECT ? self->connect_timeout
                                 : self->stage == GATE_SMTP_STAGE_DATA  ? self->data_timeout
                                                                        : self->command_timeout);
          error = client_error (self, GATE_SMTP_ERROR_TIMED_OUT, NULL, detail);
        }
      else
        {
          error = client_error (self, GATE_SMTP_ERROR_CANCELLED, NULL, NULL);
        }
    }
  else if (io_error->domain == G_TLS_ERROR && io_error->code == G_TLS_ERROR_BAD_CERTIFICATE
           && self->certificate_problem != GATE_CERTIFICATE_PROBLEM_NONE)
    {
      error = client_error (self, GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED, NULL,
                            self->ca_file_error ? self->ca_file_error : io_error->message);
    }
  else
    {
      GateSmtpErrorContext ctx = { 0 };

      ctx.stage = self->stage;
      ctx.host = self->host;
      ctx.port = self->port;
      ctx.certificate_problem = self->certificate_problem;
      ctx.certificate_fingerprint = self->peer_fingerprint;
      error = gate_smtp_error_new_from_gio (io_error, &ctx);
    }

  g_error_free (io_error);
  op_fail (task, error, FALSE);
}

static void
op_return_boolean (GTask *task)
{
  op_finish_common (task);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* ------------------------------------------------------------------------ */
/* Reading replies: a line reader over the input stream, feeding the parser. */

static void reader_continue (GTask *task);

static void
reader_got (GTask *task, gssize n, GError *error)
{
  GateSmtpClient *self = task_self (task);

  if (n < 0)
    {
      op_fail_io (task, error);
      return;
    }
  if (self->stream == NULL)
    {
      op_fail_code (task, GATE_SMTP_ERROR_CANCELLED, NULL, NULL, FALSE);
      return;
    }
  if (n == 0)
    {
      op_fail_code (task, GATE_SMTP_ERROR_NETWORK, NULL, _ ("The server closed the connection"), FALSE);
      return;
    }

  self->rend += n;
  reader_continue (task);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  reader_got (data, n, error);
}

/* Reads what the server sent without waiting; FALSE when there is nothing. */
static gboolean
reader_try (GTask *task, GPollableInputStream *input)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  GError *error = NULL;
  gssize n = -1;

  if (!g_cancellable_set_error_if_cancelled (op->cancellable, &error))
    n = g_pollable_input_stream_read_nonblocking (input, self->rbuf + self->rend,
                                                  READ_BUFFER_SIZE - self->rend, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      g_error_free (error);
      return FALSE;
    }
  /* The operation may end in there: the reference keeps @op until after. */
  g_object_ref (task);
  op->read_nesting++;
  reader_got (task, n, error);
  op->read_nesting--;
  g_object_unref (task);
  return TRUE;
}

static gboolean
on_readable (gpointer data)
{
  GTask *task = data;
  Op *op = task_op (task);
  GInputStream *input = g_io_stream_get_input_stream (task_self (task)->stream);

  /* The source goes with this call; reader_try() may end the operation. */
  g_clear_pointer (&op->read_source, g_source_unref);
  if (reader_try (task, G_POLLABLE_INPUT_STREAM (input)))
    return G_SOURCE_REMOVE;
  op->read_source = g_source_ref (g_main_current_source ());
  return G_SOURCE_CONTINUE;
}

/* Waits for the server's next bytes.  A source on the stream costs less than
 * an asynchronous read (no task, and no taking the socket out of the poll set
 * and back around the call, each of which wakes the main loop once more; see
 * gate_readable_source_new()): a relay reads two replies per message it
 * forwards.
 * The read is tried first, as GIO does: a TLS connection may hold bytes it
 * has already decrypted, which no poll would announce. */
static void
reader_wait (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  GInputStream *input = g_io_stream_get_input_stream (self->stream);

  /* A server that keeps sending in pieces must not grow the stack: past a
   * few reads that went on at once, the next one goes through the loop. */
  if (!G_IS_POLLABLE_INPUT_STREAM (input)
      || !g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (input)) || op->read_nesting >= 4)
    {
      g_input_stream_read_async (input, self->rbuf + self->rend, READ_BUFFER_SIZE - self->rend,
                                 G_PRIORITY_DEFAULT, op->cancellable, on_read, task);
      return;
    }
  if (reader_try (task, G_POLLABLE_INPUT_STREAM (input)))
    return;
  op->read_source = gate_readable_source_new (self->stream, op->cancellable, on_readable, task, NULL);
  g_source_set_static_name (op->read_source, "[gate-smtp-client] read");
  g_source_attach (op->read_source, op->context);
}

static void
reader_continue (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);

  if (g_cancellable_is_cancelled (op->cancellable))
    {
      op_fail_io (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled"));
      return;
    }

  for (;;)
    {
      guint8 *start = self->rbuf + self->rstart;
      gsize avail = self->rend - self->rstart;
      guint8 *nl = memchr (start, '\n', avail);
      g_autofree char *text = NULL;
      g_autoptr (GateSmtpReply) reply = NULL;
      g_autoptr (GError) error = NULL;
      GateSmtpReplyParserResult res;
      gsize len;

      if (nl == NULL)
        {
          /* A line longer than any reply may have: fail without holding
           * more of it. */
          if (avail > GATE_SMTP_REPLY_MAX_LINE + 1)
            {
              op_fail_code (task, GATE_SMTP_ERROR_PROTOCOL, NULL,
                            _ ("The server sent a line that is far too long"), FALSE);
              return;
            }
          if (self->rstart > 0)
            {
              memmove (self->rbuf, start, avail);
              self->rstart = 0;
              self->rend = avail;
            }
          reader_wait (task);
          return;
        }

      len = nl - start;
      self->rstart += len + 1;
      if (len > 0 && start[len - 1] == '\r')
        len--;

      if (len > GATE_SMTP_REPLY_MAX_LINE)
        {
          op_fail_code (task, GATE_SMTP_ERROR_PROTOCOL, NULL,
                        _ ("The server sent a line that is far too long"), FALSE);
          return;
        }

      if (wants_transcript (self))
        {
          text = g_strndup ((const char *)start, len);
          emit_event (self, GATE_TRANSCRIPT_SERVER, FALSE, text);
        }

      res = gate_smtp_reply_parser_feed (self->parser, (const char *)start, len, &reply, &error);
      if (res == GATE_SMTP_REPLY_PARSER_ERROR)
        {
          op_fail_code (task, GATE_SMTP_ERROR_PROTOCOL, NULL, error ? error->message : NULL, FALSE);
          return;
        }
      if (res == GATE_SMTP_REPLY_PARSER_COMPLETE)
        {
          ReplyHandler handler = op->on_reply;

          op_disarm_timer (op);
          op->on_reply = NULL;
          g_assert (handler != NULL);
          handler (task, reply);
          return;
        }
    }
}

static void
op_read_reply (GTask *task, guint timeout, ReplyHandler handler)
{
  Op *op = task_op (task);

  op->on_reply = handler;
  op_arm_timer (op, timeout);
  reader_continue (task);
}

/* ------------------------------------------------------------------------ */
/* Writing */

typedef void (*WrittenHandler) (GTask *task);

typedef struct
{
  GTask *task;
  WrittenHandler handler;
  GBytes *bytes;
} WriteData;

static void
on_written (GObject *source, GAsyncResult *result, gpointer data)
{
  WriteData *wd = data;
  GTask *task = wd->task;
  WrittenHandler handler = wd->handler;
  GError *error = NULL;

  g_clear_pointer (&wd->bytes, g_bytes_unref);
  g_free (wd);

  op_disarm_timer (task_op (task));
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      op_fail_io (task, error);
      return;
    }
  handler (task);
}

/* Writes @bytes (owned) in one write, then calls @handler.  What the socket
 * takes at once (nearly always all of it) is written without a task and the
 * trip through the main loop its completion would take; a few such writes
 * may nest (the handler writes again), past that the next goes through the
 * loop. */
static void
op_write_bytes (GTask *task, GBytes *bytes, guint timeout, WrittenHandler handler)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  GOutputStream *output = g_io_stream_get_output_stream (self->stream);
  WriteData *wd;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  gsize done = 0;

  if (op->write_nesting < 4 && G_IS_POLLABLE_OUTPUT_STREAM (output)
      && g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (output)))
    {
      GError *error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (output), data, len,
                                                             op->cancellable, &error);

      if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_bytes_unref (bytes);
          op_fail_io (task, error);
          return;
        }
      g_clear_error (&error);
      done = n > 0 ? (gsize)n : 0;
      if (done == len)
        {
          g_bytes_unref (bytes);
          /* As on_written() does: no deadline of an earlier wait lives on. */
          op_disarm_timer (op);
          /* The operation may end in there: the reference keeps @op. */
          g_object_ref (task);
          op->write_nesting++;
          handler (task);
          op->write_nesting--;
          g_object_unref (task);
          return;
        }
    }
  wd = g_new0 (WriteData, 1);
  wd->task = task;
  wd->handler = handler;
  wd->bytes = bytes;
  op_arm_timer (op, timeout);
  g_output_stream_write_all_async (output, data + done, len - done, G_PRIORITY_DEFAULT, op->cancellable,
                                   on_written, wd);
}

static void
op_after_command_written (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  ReplyHandler handler = op->on_reply;

  op->on_reply = NULL;
  op_read_reply (task, self->command_timeout, handler);
}

/* Sends one command line and reads its reply.  @shown is what the transcript
 * says instead of @line when @line holds a secret. */
static void
op_command (GTask *task, const char *line, const char *shown, ReplyHandler handler)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  char *wire;
  gsize len;

  emit_event (self, GATE_TRANSCRIPT_CLIENT, shown != NULL, shown ? shown : line);

  wire = g_strconcat (line, "\r\n", NULL);
  len = strlen (wire);
  op->on_reply = handler;
  /* The secret's copy is wiped when the write is done. */
  op_write_bytes (task, g_bytes_new_with_free_func (wire, len, (GDestroyNotify)secret_free, wire),
                  self->command_timeout, op_after_command_written);
}

/* ------------------------------------------------------------------------ */
/* Connecting */

static void send_hello (GTask *task);
static void after_hello (GTask *task);
static void start_tls (GTask *task);
static void start_auth (GTask *task);

static char *
default_helo_name (GateSmtpClient *self)
{
  const char *host_name = g_get_host_name ();
  g_autoptr (GSocketAddress) local = NULL;

  /* A fully qualified name is what servers want; a bare "myhost" or
   * "localhost" is worse than the address literal. */
  if (host_name != NULL && strchr (host_name, '.') != NULL && g_hostname_is_ascii_encoded (host_name)
      && !g_hostname_is_ip_address (host_name) && !g_str_has_prefix (host_name, "localhost")
      && !g_str_has_suffix (host_name, ".localdomain") && !g_str_has_suffix (host_name, ".local"))
    {
      gboolean ok = TRUE;
      for (const char *p = host_name; *p != '\0'; p++)
        if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
          ok = FALSE;
      if (ok)
        return g_strdup (host_name);
    }

  if (self->socket_connection != NULL)
    local = g_socket_connection_get_local_address (self->socket_connection, NULL);
  if (local != NULL && G_IS_INET_SOCKET_ADDRESS (local))
    {
      GInetAddress *address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
      g_autofree char *text = g_inet_address_to_string (address);

      if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
        return g_strdup_printf ("[IPv6:%s]", text);
      return g_strdup_printf ("[%s]", text);
    }

  return g_strdup ("[127.0.0.1]");
}

static void
connect_done (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);

  self->ready = TRUE;
  set_stage (self, GATE_SMTP_STAGE_DONE);
  emit_info (self, _ ("Ready to send (session set up in %u ms)"), elapsed_ms (op->started));
  op_return_boolean (task);
}

static void
on_greeting (GTask *task, GateSmtpReply *reply)
{
  guint code = gate_smtp_reply_get_code (reply);

  if (code == 220)
    {
      send_hello (task);
      return;
    }

  if (code == 421 || code == 554 || gate_smtp_reply_is_temporary (reply)
      || gate_smtp_reply_is_permanent (reply))
    op_fail_code (task, GATE_SMTP_ERROR_SERVICE_UNAVAILABLE, reply, NULL, FALSE);
  else
    op_fail_code (task, GATE_SMTP_ERROR_PROTOCOL, reply, _ ("The server's greeting is not an SMTP greeting"),
                  FALSE);
}

static void
read_greeting (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);

  set_stage (self, GATE_SMTP_STAGE_GREETING);
  op->stage_started = g_get_monotonic_time ();
  op_read_reply (task, self->command_timeout, on_greeting);
}

static void
on_helo (GTask *task, GateSmtpReply *reply)
{
  GateSmtpClient *self = task_self (task);

  if (gate_smtp_reply_get_code (reply) / 100 == 2)
    {
      g_autoptr (GateSmtpCapabilities) caps = gate_smtp_capabilities_new_empty ();

      set_capabilities (self, caps);
      after_hello (task);
      return;
    }

  op_fail_code (task, GATE_SMTP_ERROR_SERVICE_UNAVAILABLE, reply, NULL, FALSE);
}

static void
on_ehlo (GTask *task, GateSmtpReply *reply)
{
  GateSmtpClient *self = task_self (task);
  guint code = gate_smtp_reply_get_code (reply);

  if (code == 250)
    {
      g_autoptr (GateSmtpCapabilities) caps = gate_smtp_capabilities_new_from_ehlo (reply);

      set_capabilities (self, caps);
      after_hello (task);
      return;
    }

  /* An old server that does not know EHLO: plain SMTP, no extensions. */
  if (gate_smtp_reply_is_permanent (reply) && code != 554)
    {
      g_autofree char *line = g_strconcat ("HELO ", self->session_helo, NULL);

      op_command (task, line, NULL, on_helo);
      return;
    }

  op_fail_code (task, GATE_SMTP_ERROR_SERVICE_UNAVAILABLE, reply, NULL, FALSE);
}

static void
send_hello (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  g_autofree char *line = NULL;

  set_stage (self, GATE_SMTP_STAGE_HELLO);
  if (self->session_helo == NULL)
    self->session_helo = self->helo_name ? g_strdup (self->helo_name) : default_helo_name (self);
  line = g_strconcat ("EHLO ", self->session_helo, NULL);
  op_command (task, line, NULL, on_ehlo);
}

static void
on_starttls (GTask *task, GateSmtpReply *reply)
{
  GateSmtpClient *self = task_self (task);

  if (gate_smtp_reply_get_code (reply) != 220)
    {
      op_fail_code (task, GATE_SMTP_ERROR_TLS_FAILED, reply, NULL, FALSE);
      return;
    }

  /* Anything the server sent after its 220 came in clear and could be taken
   * for an answer inside TLS (a command injection): end the session. */
  if (self->rend > self->rstart)
    {
      op_fail_code (task, GATE_SMTP_ERROR_PROTOCOL, reply,
                    _ ("The server sent data before encryption started"), FALSE);
      return;
    }

  start_tls (task);
}

static void
after_hello (GTask *task)
{
  GateSmtpClient *self = task_self (task);

  if (self->security == GATE_SMTP_SECURITY_STARTTLS && !self->in_tls)
    {
      set_stage (self, GATE_SMTP_STAGE_TLS);
      if (!gate_smtp_capabilities_has (self->capabilities, GATE_SMTP_CAP_STARTTLS))
        {
          op_fail_code (task, GATE_SMTP_ERROR_STARTTLS_NOT_OFFERED, NULL, NULL, FALSE);
          return;
        }
      task_op (task)->stage_started = g_get_monotonic_time ();
      op_command (task, "STARTTLS", NULL, on_starttls);
      return;
    }

  start_auth (task);
}

static GateCertificateProblem
classify_certificate (GateSmtpClient *self, GTlsCertificateFlags flags, gboolean self_signed)
{
  if (self->pinned_fingerprint != NULL)
    return GATE_CERTIFICATE_PROBLEM_PIN_MISMATCH;
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    return GATE_CERTIFICATE_PROBLEM_REVOKED;
  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    return GATE_CERTIFICATE_PROBLEM_EXPIRED;
  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    return GATE_CERTIFICATE_PROBLEM_NOT_YET_VALID;
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return GATE_CERTIFICATE_PROBLEM_WRONG_HOST;
  if ((flags & G_TLS_CERTIFICATE_UNKNOWN_CA) && self_signed)
    return GATE_CERTIFICATE_PROBLEM_SELF_SIGNED;
  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    return GATE_CERTIFICATE_PROBLEM_UNKNOWN_ISSUER;
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    return GATE_CERTIFICATE_PROBLEM_INSECURE;
  return GATE_CERTIFICATE_PROBLEM_OTHER;
}

/* Called only when the system's validation failed.  A pinned fingerprint
 * that matches, or the extra trust anchor of ca-file, can still vouch for
 * the certificate; nothing else can. */
static gboolean
on_accept_certificate (GTlsConnection *connection, GTlsCertificate *peer, GTlsCertificateFlags errors,
                       gpointer data)
{
  GateSmtpClient *self = GATE_SMTP_CLIENT (data);
  g_autoptr (GateTlsInfo) info = gate_tls_info_new_from_certificate (peer);
  GTlsCertificateFlags flags = errors;
  GTlsCertificateFlags own;
  gboolean anchored = FALSE;

  g_free (self->peer_fingerprint);
  self->peer_fingerprint = g_strdup (gate_tls_info_get_fingerprint (info));

  if (self->pinned_fingerprint != NULL && g_strcmp0 (self->peer_fingerprint, self->pinned_fingerprint) == 0)
    {
      self->pin_matched = TRUE;
      return TRUE;
    }

  if (self->ca_file != NULL && (errors & G_TLS_CERTIFICATE_UNKNOWN_CA))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GTlsDatabase) database = g_tls_file_database_new (self->ca_file, &error);

      if (database != NULL)
        {
          GTlsCertificateFlags verified;

          verified
              = g_tls_database_verify_chain (database, peer, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                             self->identity, NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, &error);
          if (error == NULL && verified == 0)
            {
              self->ca_file_matched = TRUE;
              return TRUE;
            }
          if (error == NULL && !(verified & G_TLS_CERTIFICATE_UNKNOWN_CA))
            {
              anchored = TRUE;
              flags = verified;
            }
        }
      else
        {
          g_free (self->ca_file_error);
          self->ca_file_error = g_strdup_printf (
              _ ("The extra certificate authority file could not be read: %s"), error->message);
        }
    }

  /* GIO reports at least one problem, not all: ask for the rest, so the
   * explanation names the most useful one (wrong host rather than unknown
   * issuer, for example). */
  own = g_tls_certificate_verify (peer, self->identity, NULL);
  if (anchored)
    own &= ~G_TLS_CERTIFICATE_UNKNOWN_CA;
  flags |= own;

  self->certificate_problem = classify_certificate (self, flags, gate_tls_info_is_self_signed (info));
  return FALSE;
}

static void
emit_tls_details (GateSmtpClient *self, GTask *task)
{
  Op *op = task_op (task);
  GateTlsInfo *info = self->tls_info;
  const char *const *names;
  GDateTime *from, *to;

  emit_info (self, _ ("TLS handshake done in %u ms: %s, %s"), elapsed_ms (op->stage_started),
             gate_tls_info_get_protocol (info) ? gate_tls_info_get_protocol (info) : _ ("unknown version"),
             gate_tls_info_get_cipher_suite (info) ? gate_tls_info_get_cipher_suite (info)
                                                   : _ ("unknown cipher suite"));

  if (gate_tls_info_get_certificate (info) == NULL)
    return;

  emit_info (self, _ ("Certificate subject: %s"),
             gate_tls_info_get_subject (info) ? gate_tls_info_get_subject (info) : "");
  emit_info (self, _ ("Certificate issuer: %s"),
             gate_tls_info_get_issuer (info) ? gate_tls_info_get_issuer (info) : "");
  from = gate_tls_info_get_not_before (info);
  to = gate_tls_info_get_not_after (info);
  if (from != NULL && to != NULL)
    {
      g_autofree char *a = g_date_time_format_iso8601 (from);
      g_autofree char *b = g_date_time_format_iso8601 (to);
      emit_info (self, _ ("Certificate valid from %s to %s"), a, b);
    }
  names = gate_tls_info_get_names (info);
  if (names != NULL && names[0] != NULL)
    {
      g_autofree char *joined = g_strjoinv (", ", (char **)names);
      emit_info (self, _ ("Certificate names: %s"), joined);
    }
  emit_info (self, _ ("Certificate SHA-256 fingerprint: %s"), gate_tls_info_get_fingerprint (info));
  if (self->pin_matched)
    emit_info (self, _ ("The certificate matches the pinned fingerprint"));
  else if (self->ca_file_matched)
    emit_info (self, _ ("The certificate was issued by the extra certificate authority"));
}

static void
on_handshake (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GateSmtpClient *self = task_self (task);
  GError *error = NULL;
  g_autoptr (GateTlsInfo) info = NULL;

  op_disarm_timer (task_op (task));
  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      op_fail_io (task, error);
      return;
    }

  g_clear_object (&self->stream);
  self->stream = G_IO_STREAM (g_object_ref (self->tls_connection));
  self->in_tls = TRUE;
  info = gate_tls_info_new_from_connection (self->tls_connection);
  set_tls_info (self, info);
  emit_tls_details (self, task);

  if (self->security == GATE_SMTP_SECURITY_TLS)
    {
      read_greeting (task);
    }
  else
    {
      /* RFC 3207: forget what was learnt in clear and ask again. */
      gate_smtp_reply_parser_reset (self->parser);
      set_capabilities (self, NULL);
      send_hello (task);
    }
}

static void
start_tls (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  GError *error = NULL;
  GIOStream *tls;

  set_stage (self, GATE_SMTP_STAGE_TLS);
  op->stage_started = g_get_monotonic_time ();
  self->certificate_problem = GATE_CERTIFICATE_PROBLEM_NONE;
  self->pin_matched = FALSE;
  self->ca_file_matched = FALSE;
  g_clear_pointer (&self->ca_file_error, g_free);
  g_clear_pointer (&self->peer_fingerprint, g_free);

  /* The server identity gives both SNI and the host name check. */
  tls = g_tls_client_connection_new (G_IO_STREAM (self->socket_connection), self->identity, &error);
  if (tls == NULL)
    {
      op_fail_io (task, error);
      return;
    }
  self->tls_connection = G_TLS_CONNECTION (tls);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), self);

  op_arm_timer (op, self->command_timeout);
  g_tls_connection_handshake_async (self->tls_connection, G_PRIORITY_DEFAULT, op->cancellable, on_handshake,
                                    task);
}

static void
on_socket_event (GSocketClient *client, GSocketClientEvent event, GSocketConnectable *connectable,
                 GIOStream *connection, gpointer data)
{
  GTask *task = data;
  GateSmtpClient *self = task_self (task);

  if (event == G_SOCKET_CLIENT_CONNECTING && G_IS_SOCKET_CONNECTION (connection))
    {
      g_autoptr (GSocketAddress) remote = NULL;

      /* During CONNECTING, GIO gives the address being tried. */
      remote = g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (connection), NULL);
      if (remote != NULL && G_IS_INET_SOCKET_ADDRESS (remote))
        {
          g_autofree char *address
              = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));

          /* A name may have several addresses: say which one is tried. */
          if (g_strcmp0 (address, self->host) != 0)
            emit_info (self, _ ("Trying %s (%s)…"), self->host, address);
        }
    }
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  GError *error = NULL;
  GSocketConnection *connection;
  g_autoptr (GSocketAddress) remote = NULL;
  g_autofree char *address = NULL;
  GSocket *socket;

  op_disarm_timer (op);
  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (connection == NULL)
    {
      op_fail_io (task, error);
      return;
    }

  self->socket_connection = connection;
  self->stream = G_IO_STREAM (g_object_ref (connection));
  set_connected (self, TRUE);

  /* Commands go out as soon as they are written: with Nagle's algorithm and
   * the server's delayed ACK, each small write could wait ~40 ms. */
  socket = g_socket_connection_get_socket (connection);
  if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error))
    {
      g_debug ("TCP_NODELAY: %s", error->message);
      g_clear_error (&error);
    }

  remote = g_socket_connection_get_remote_address (connection, NULL);
  if (remote != NULL && G_IS_INET_SOCKET_ADDRESS (remote))
    address = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  emit_info (self, _ ("Connected to %s (%s) port %u in %u ms"), self->host, address ? address : "?",
             self->port, elapsed_ms (op->stage_started));

  if (self->security == GATE_SMTP_SECURITY_TLS)
    start_tls (task);
  else
    {
      /* With STARTTLS, three replies come before TLS is needed. */
      if (self->security == GATE_SMTP_SECURITY_STARTTLS)
        gate_tls_warm_up ();
      read_greeting (task);
    }
}

/* ------------------------------------------------------------------------ */
/* AUTH */

static void
on_auth_final (GTask *task, GateSmtpReply *reply)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  guint code = gate_smtp_reply_get_code (reply);

  if (code == 235)
    {
      self->auth_used = op->mechanism;
      emit_info (self, _ ("Signed in with %s in %u ms"), gate_smtp_auth_mechanism_to_string (op->mechanism),
                 elapsed_ms (op->stage_started));
      connect_done (task);
      return;
    }

  if (code == 421)
    {
      op_fail_code (task, GATE_SMTP_ERROR_SERVICE_UNAVAILABLE, reply, NULL, FALSE);
      return;
    }

  if (code == 334)
    {
      op_fail_code (task, GATE_SMTP_ERROR_PROTOCOL, reply,
                    _ ("The server asked for more during sign-in than the method allows"), FALSE);
      return;
    }

  op_fail_code (task, GATE_SMTP_ERROR_AUTH_FAILED, reply, NULL, FALSE);
}

static const char *
reply_first_line (GateSmtpReply *reply)
{
  const char *const *lines = gate_smtp_reply_get_lines (reply);

  return lines != NULL && lines[0] != NULL ? lines[0] : "";
}

/* LOGIN asks for the user name, then the password, each with a 334: shows
 * the question, answers it with @text (hidden in the transcript). */
static void
answer_login_challenge (GTask *task, GateSmtpReply *reply, const char *text, ReplyHandler next)
{
  GateSmtpClient *self = task_self (task);
  g_autoptr (Secret) answer = NULL;
  g_autofree char *decoded = NULL;

  if (gate_smtp_reply_get_code (reply) != 334)
    {
      on_auth_final (task, reply);
      return;
    }

  decoded = gate_smtp_auth_decode_challenge (reply_first_line (reply));
  if (decoded != NULL)
    emit_info (self, _ ("The server asks: %s"), decoded);
  answer = gate_smtp_auth_login_response (text);
  op_command (task, answer, HIDDEN, next);
}

static void
on_login_password_challenge (GTask *task, GateSmtpReply *reply)
{
  answer_login_challenge (task, reply, task_self (task)->password, on_auth_final);
}

static void
on_login_user_challenge (GTask *task, GateSmtpReply *reply)
{
  answer_login_challenge (task, reply, task_self (task)->username, on_login_password_challenge);
}

static void
on_cram_md5_challenge (GTask *task, GateSmtpReply *reply)
{
  GateSmtpClient *self = task_self (task);
  g_autoptr (Secret) answer = NULL;
  g_autoptr (GError) error = NULL;

  if (gate_smtp_reply_get_code (reply) != 334)
    {
      on_auth_final (task, reply);
      return;
    }

  answer
      = gate_smtp_auth_cram_md5_response (self->username, self->password, reply_first_line (reply), &error);
  if (answer == NULL)
    {
      op_fail_code (task, GATE_SMTP_ERROR_PROTOCOL, reply, error ? error->message : NULL, FALSE);
      return;
    }
  op_command (task, answer, HIDDEN, on_auth_final);
}

static void
on_xoauth2_reply (GTask *task, GateSmtpReply *reply)
{
  GateSmtpClient *self = task_self (task);

  if (gate_smtp_reply_get_code (reply) == 334)
    {
      g_autofree char *decoded = gate_smtp_auth_decode_challenge (reply_first_line (reply));

      /* The server's error details, as JSON; an empty line asks for the
       * final answer (RFC 7628 style). */
      if (decoded != NULL)
        emit_info (self, _ ("The server says: %s"), decoded);
      op_command (task, "", NULL, on_auth_final);
      return;
    }

  on_auth_final (task, reply);
}

static void
start_auth (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  gboolean have_password = self->username != NULL && self->password != NULL;
  gboolean have_token = self->username != NULL && self->oauth_token != NULL;
  GateSmtpAuthMechanism allowed = self->auth_mechanisms;

  if (!have_password && !have_token)
    {
      connect_done (task);
      return;
    }

  set_stage (self, GATE_SMTP_STAGE_AUTH);
  op->stage_started = g_get_monotonic_time ();

  if (!self->in_tls && !self->allow_plain_auth)
    {
      op_fail_code (task, GATE_SMTP_ERROR_PLAIN_AUTH_REFUSED, NULL, NULL, FALSE);
      return;
    }

  if (have_token)
    allowed |= GATE_SMTP_AUTH_XOAUTH2;
  if (!have_password)
    allowed &= GATE_SMTP_AUTH_XOAUTH2;

  op->mechanism = gate_smtp_auth_choose (self->capabilities, allowed, have_token);
  if (op->mechanism == GATE_SMTP_AUTH_NONE)
    {
      const char *const *offered = gate_smtp_capabilities_get_auth_mechanisms (self->capabilities);
      g_autofree char *list = g_strjoinv (" ", (char **)offered);
      g_autofree char *detail = NULL;

      if (list[0] != '\0')
        detail = g_strdup_printf (_ ("The server offers: %s"), list);
      else
        detail = g_strdup (_ ("The server offers no way to sign in"));
      op_fail_code (task, GATE_SMTP_ERROR_NO_AUTH_MECHANISM, NULL, detail, FALSE);
      return;
    }

  switch (op->mechanism)
    {
      case GATE_SMTP_AUTH_PLAIN:
        {
          g_autoptr (Secret) payload = gate_smtp_auth_plain_response (NULL, self->username, self->password);
          g_autoptr (Secret) line = g_strconcat ("AUTH PLAIN ", payload, NULL);

          op_command (task, line, "AUTH PLAIN " HIDDEN, on_auth_final);
        }
        break;

      case GATE_SMTP_AUTH_LOGIN:
        op_command (task, "AUTH LOGIN", NULL, on_login_user_challenge);
        break;

      case GATE_SMTP_AUTH_CRAM_MD5:
        op_command (task, "AUTH CRAM-MD5", NULL, on_cram_md5_challenge);
        break;

      case GATE_SMTP_AUTH_XOAUTH2:
        {
          g_autoptr (Secret) payload = gate_smtp_auth_xoauth2_response (self->username, self->oauth_token);
          g_autoptr (Secret) line = g_strconcat ("AUTH XOAUTH2 ", payload, NULL);

          op_command (task, line, "AUTH XOAUTH2 " HIDDEN, on_xoauth2_reply);
        }
        break;

      case GATE_SMTP_AUTH_NONE:
      case GATE_SMTP_AUTH_AUTOMATIC:
      default:
        g_assert_not_reached ();
    }
}

void
gate_smtp_client_connect_async (GateSmtpClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  GTask *task;
  Op *op;

  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = op_start (self, cancellable, callback, user_data, gate_smtp_client_connect_async);
  op = task_op (task);

  if (self->op != NULL || self->connected)
    {
      g_task_return_error (
          task, client_error (self, GATE_SMTP_ERROR_INVALID_INPUT, NULL,
                              self->op ? _ ("Another operation is under way") : _ ("Already connected")));
      g_object_unref (task);
      return;
    }
  if (self->host == NULL || *self->host == '\0' || self->port == 0)
    {
      g_task_return_error (task, client_error (self, GATE_SMTP_ERROR_INVALID_INPUT, NULL,
                                               _ ("No server name or port was given")));
      g_object_unref (task);
      return;
    }

  self->op = op;
  self->auth_used = GATE_SMTP_AUTH_NONE;
  self->certificate_problem = GATE_CERTIFICATE_PROBLEM_NONE;
  g_clear_pointer (&self->session_helo, g_free);
  g_clear_pointer (&self->peer_fingerprint, g_free);
  set_capabilities (self, NULL);
  set_tls_info (self, NULL);
  gate_smtp_reply_parser_reset (self->parser);
  self->rstart = self->rend = 0;

  g_clear_object (&self->identity);
  self->identity = g_network_address_new (self->host, self->port);

  set_stage (self, GATE_SMTP_STAGE_CONNECT);
  emit_info (self, _ ("Connecting to %s port %u (%s)…"), self->host, self->port,
             gate_smtp_security_get_label (self->security));

  op->socket_client = g_socket_client_new ();
  g_socket_client_set_family (op->socket_client, G_SOCKET_FAMILY_INVALID);
  g_signal_connect (op->socket_client, "event", G_CALLBACK (on_socket_event), task);

  op_arm_timer (op, self->connect_timeout);
  g_socket_client_connect_async (op->socket_client, self->identity, op->cancellable, on_connected, task);
}

gboolean
gate_smtp_client_connect_finish (GateSmtpClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, gate_smtp_client_connect_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------------------ */
/* Sending */

static void send_next_command (GTask *task);
static void on_transaction_reply (GTask *task, GateSmtpReply *reply);
static void stream_message (GTask *task);

static void
op_return_result (GTask *task)
{
  Op *op = task_op (task);

  op_finish_common (task);
  g_task_return_pointer (task, gate_smtp_send_result_ref (op->result),
                         (GDestroyNotify)gate_smtp_send_result_unref);
  g_object_unref (task);
}

static void
on_abort_dot_reply (GTask *task, GateSmtpReply *reply)
{
  Op *op = task_op (task);

  op_fail (task, g_steal_pointer (&op->pending_error), TRUE);
}

/* The server said 354 to a DATA that must not carry the message (nobody to
 * deliver to): end it with an empty body, then report @error. */
static void
abort_data (GTask *task, GError *error)
{
  Op *op = task_op (task);

  op->pending_error = error;
  op_command (task, ".", NULL, on_abort_dot_reply);
}

static void
transaction_decide (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  GError *error = NULL;
  gboolean got_354 = op->data_reply != NULL && gate_smtp_reply_get_code (op->data_reply) == 354;

  if (op->mail_reply == NULL || !gate_smtp_reply_is_positive (op->mail_reply))
    {
      set_stage (self, GATE_SMTP_STAGE_MAIL);
      error = client_error (self, GATE_SMTP_ERROR_SENDER_REFUSED, op->mail_reply, NULL);
    }
  else if (gate_smtp_send_result_get_n_accepted (op->result) == 0)
    {
      set_stage (self, GATE_SMTP_STAGE_RCPT);
      error = client_error (self, GATE_SMTP_ERROR_RECIPIENT_REFUSED, op->first_refusal,
                            op->refused ? op->refused->str : NULL);
    }
  else if (!got_354)
    {
      set_stage (self, GATE_SMTP_STAGE_DATA);
      error = client_error (self, GATE_SMTP_ERROR_MESSAGE_REFUSED, op->data_reply, NULL);
    }

  if (error != NULL)
    {
      if (got_354)
        abort_data (task, error);
      else
        op_fail (task, error, TRUE);
      return;
    }

  stream_message (task);
}

static void
on_transaction_written (GTask *task)
{
  GateSmtpClient *self = task_self (task);

  op_read_reply (task, self->command_timeout, on_transaction_reply);
}

static void
on_transaction_reply (GTask *task, GateSmtpReply *reply)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  CommandKind kind = g_array_index (op->kinds, CommandKind, op->next_reply);
  guint code = gate_smtp_reply_get_code (reply);

  op->next_reply++;

  if (code == 421)
    {
      op_fail_code (task, GATE_SMTP_ERROR_SERVICE_UNAVAILABLE, reply, NULL, FALSE);
      return;
    }

  switch (kind)
    {
      case CMD_RSET:
        if (gate_smtp_reply_is_positive (reply))
          self->need_rset = FALSE;
        break;

      case CMD_MAIL:
        g_clear_pointer (&op->mail_reply, gate_smtp_reply_unref);
        op->mail_reply = gate_smtp_reply_ref (reply);
        break;

      case CMD_RCPT:
        {
          const char *const *recipients = gate_smtp_envelope_get_recipients (op->envelope);
          const char *recipient = recipients[op->next_recipient++];

          gate_smtp_send_result_add_recipient (op->result, recipient, reply);
          if (!gate_smtp_reply_is_positive (reply))
            {
              g_autofree char *text = gate_smtp_reply_to_string (reply);

              if (op->first_refusal == NULL)
                op->first_refusal = gate_smtp_reply_ref (reply);
              if (op->refused == NULL)
                op->refused = g_string_new (NULL);
              else
                g_string_append (op->refused, "; ");
              g_string_append_printf (op->refused, "%s: %u %s", recipient, code,
                                      gate_smtp_reply_get_text (reply));
            }
        }
        break;

      case CMD_DATA:
        g_clear_pointer (&op->data_reply, gate_smtp_reply_unref);
        op->data_reply = gate_smtp_reply_ref (reply);
        break;

      default:
        g_assert_not_reached ();
    }

  if (op->pipelined)
    {
      if (op->next_reply < op->kinds->len)
        {
          CommandKind next = g_array_index (op->kinds, CommandKind, op->next_reply);

          if (next == CMD_RCPT)
            set_stage (self, GATE_SMTP_STAGE_RCPT);
          else if (next == CMD_DATA)
            set_stage (self, GATE_SMTP_STAGE_DATA);
          op_read_reply (task, self->command_timeout, on_transaction_reply);
        }
      else
        {
          transaction_decide (task);
        }
      return;
    }

  /* One command at a time: stop as soon as the answer is known. */
  if (kind == CMD_MAIL && !gate_smtp_reply_is_positive (reply))
    {
      transaction_decide (task);
      return;
    }
  if (kind == CMD_RCPT && op->next_recipient == gate_smtp_envelope_get_n_recipients (op->envelope)
      && gate_smtp_send_result_get_n_accepted (op->result) == 0)
    {
      transaction_decide (task);
      return;
    }
  if (op->next_command < op->lines->len)
    send_next_command (task);
  else
    transaction_decide (task);
}

static void
stage_for_kind (GateSmtpClient *self, CommandKind kind)
{
  switch (kind)
    {
      case CMD_RSET:
      case CMD_MAIL:
        set_stage (self, GATE_SMTP_STAGE_MAIL);
        break;
      case CMD_RCPT:
        set_stage (self, GATE_SMTP_STAGE_RCPT);
        break;
      case CMD_DATA:
        set_stage (self, GATE_SMTP_STAGE_DATA);
        break;
      default:
        break;
    }
}

static void
send_next_command (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  guint i = op->next_command++;

  stage_for_kind (self, g_array_index (op->kinds, CommandKind, i));
  if (g_array_index (op->kinds, CommandKind, i) == CMD_MAIL)
    self->need_rset = TRUE;
  op_command (task, g_ptr_array_index (op->lines, i), NULL, on_transaction_reply);
}

static void
add_command (Op *op, CommandKind kind, char *line)
{
  g_array_append_val (op->kinds, kind);
  g_ptr_array_add (op->lines, line);
}

static void
conclude_final_reply (GTask *task, GateSmtpReply *reply)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);

  self->need_rset = FALSE;
  gate_smtp_send_result_set_final_reply (op->result, reply);

  if (gate_smtp_reply_get_code (reply) / 100 == 2)
    {
      self->messages_sent++;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGES_SENT]);
      emit_info (self, _ ("Message accepted in %u ms"), elapsed_ms (op->started));
      set_stage (self, GATE_SMTP_STAGE_DONE);
      op_return_result (task);
      return;
    }

  switch (gate_smtp_reply_get_code (reply))
    {
      case 421:
        op_fail_code (task, GATE_SMTP_ERROR_SERVICE_UNAVAILABLE, reply, NULL, FALSE);
        break;
      case 552:
        /* "Exceeded storage allocation" at the end of data: the size. */
        op_fail_code (task, GATE_SMTP_ERROR_MESSAGE_TOO_LARGE, reply, NULL, TRUE);
        break;
      default:
        op_fail_code (task, GATE_SMTP_ERROR_MESSAGE_REFUSED, reply, NULL, TRUE);
        break;
    }
}

static void
on_pipelined_quit_reply (GTask *task, GateSmtpReply *reply)
{
  Op *op = task_op (task);
  g_autoptr (GateSmtpReply) final_reply = g_steal_pointer (&op->final_reply);

  drop_connection (task_self (task));
  conclude_final_reply (task, final_reply);
}

static void
on_final_reply (GTask *task, GateSmtpReply *reply)
{
  Op *op = task_op (task);

  if (op->quit_pipelined)
    {
      op->final_reply = gate_smtp_reply_ref (reply);
      op_read_reply (task, task_self (task)->command_timeout, on_pipelined_quit_reply);
      return;
    }
  conclude_final_reply (task, reply);
}

static void
on_last_chunk_written (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);

  gate_smtp_send_result_set_bytes_sent (op->result, op->bytes_sent);
  op_read_reply (task, self->data_timeout, on_final_reply);
}

static void read_message_chunk (GTask *task);

static void
encode_held_chunk (Op *op)
{
  gsize before = op->out->len;

  gate_data_encoder_feed (op->encoder, op->chunk, op->chunk_len, op->out);
  op->bytes_sent += op->out->len - before;
  op->chunk_len = 0;
}

static void
on_chunk_written (GTask *task)
{
  Op *op = task_op (task);

  g_byte_array_set_size (op->out, 0);
  encode_held_chunk (op);
  read_message_chunk (task);
}

/* @n bytes of the message were read into op->chunk (0: its end), or @error. */
static void
message_read (GTask *task, gssize n, GError *error)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);

  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || op->timed_out)
        {
          op_fail_io (task, error);
        }
      else
        {
          /* The server waits for the rest of a message that will not come:
           * only closing the connection ends that. */
          g_autofree char *detail = g_strdup_printf (_ ("The message could not be read: %s"), error->message);
          g_error_free (error);
          op_fail_code (task, GATE_SMTP_ERROR_INVALID_INPUT, NULL, detail, FALSE);
        }
      return;
    }

  if (n == 0)
    {
      g_autofree char *size = NULL;
      g_autofree char *lines = NULL;
      g_autofree char *text = NULL;

      gsize before;

      op->lines_sent = gate_data_encoder_get_line_count (op->encoder);
      if (gate_data_encoder_saw_8bit (op->encoder)
          && !(gate_smtp_envelope_get_body_flags (op->envelope)
               & (GATE_SMTP_BODY_8BITMIME | GATE_SMTP_BODY_SMTPUTF8)))
        emit_info (
            self,
            _ ("The message has 8-bit bytes but was not declared as 8-bit; some servers may damage it"));
      before = op->out->len;
      gate_data_encoder_finish (op->encoder, op->out);
      /* The content, without the final "." line. */
      op->bytes_sent += op->out->len - before - 3;
      if (wants_transcript (self))
        {
          size = format_count (op->bytes_sent);
          lines = format_count (op->lines_sent);
          text = g_strdup_printf (_ ("[message content: %s bytes, %s lines]"), size, lines);
          emit_event (self, GATE_TRANSCRIPT_CLIENT, FALSE, text);
          emit_event (self, GATE_TRANSCRIPT_CLIENT, FALSE, ".");
        }

      /* RFC 2920 lets QUIT follow the end of data in one group: for the
       * last message that saves the round trip a separate QUIT costs. */
      if (self->quit_after_send && op->pipelined)
        {
          g_byte_array_append (op->out, (const guint8 *)"QUIT\r\n", 6);
          emit_event (self, GATE_TRANSCRIPT_CLIENT, FALSE, "QUIT");
          op->quit_pipelined = TRUE;
        }

      /* The end of data goes in the same write as the last chunk.  (The
       * buffer stays untouched until the write is done: no copy.) */
      op_write_bytes (task, g_bytes_new_static (op->out->data, op->out->len), self->data_timeout,
                      on_last_chunk_written);
      return;
    }

  op->chunk_len = n;
  if (op->out->len > 0)
    {
      /* Write what is encoded while this chunk waits: it may be the last,
       * which must travel with the final dot. */
      op_write_bytes (task, g_bytes_new_static (op->out->data, op->out->len), self->data_timeout,
                      on_chunk_written);
      return;
    }

  encode_held_chunk (op);
  read_message_chunk (task);
}

static void
on_message_read (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GError *error = NULL;
  gssize n;

  op_disarm_timer (task_op (task));
  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  message_read (task, n, error);
}

/* Reads the next chunk of the message.  A message in memory (as the relay
 * forwards small ones) is read at once, without a task, a few chunks nested
 * at most; a file, asynchronously. */
static void
read_message_chunk (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);

  if (op->write_nesting < 4 && G_IS_POLLABLE_INPUT_STREAM (op->message)
      && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (op->message)))
    {
      GError *error = NULL;
      gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (op->message), op->chunk,
                                                           op->chunk_size, op->cancellable, &error);

      if (!(n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)))
        {
          op_disarm_timer (op);
          g_object_ref (task);
          op->write_nesting++;
          message_read (task, n, error);
          op->write_nesting--;
          g_object_unref (task);
          return;
        }
      g_clear_error (&error);
    }
  op_arm_timer (op, self->data_timeout);
  g_input_stream_read_async (op->message, op->chunk, op->chunk_size, G_PRIORITY_DEFAULT, op->cancellable,
                             on_message_read, task);
}

static void
stream_message (GTask *task)
{
  GateSmtpClient *self = task_self (task);
  Op *op = task_op (task);
  gint64 size;

  set_stage (self, GATE_SMTP_STAGE_DATA);
  op->encoder = gate_data_encoder_new ();
  /* A message of known size takes buffers its size (a relay forwards mostly
   * small ones): 192 KB taken and given back for each of them kept moving
   * the top of the heap, a system call and fresh pages every message.  A
   * wrong size only means more reads. */
  size = gate_smtp_envelope_get_size (op->envelope);
  op->chunk_size = size >= 0 ? (gsize)CLAMP (size, MIN_CHUNK_SIZE, DATA_CHUNK_SIZE) : DATA_CHUNK_SIZE;
  op->chunk = g_malloc (op->chunk_size);
  /* Dot-stuffing and CRLF can at most double a chunk. */
  op->out = g_byte_array_sized_new (2 * op->chunk_size + 8);
  op->bytes_sent = 0;
  read_message_chunk (task);
}

static gboolean
envelope_needs_smtputf8 (GateSmtpEnvelope *envelope)
{
  const char *const *recipients = gate_smtp_envelope_get_recipients (envelope);

  if (gate_smtp_envelope_get_body_flags (envelope) & GATE_SMTP_BODY_SMTPUTF8)
    return TRUE;
  if (gate_smtp_address_needs_smtputf8 (gate_smtp_envelope_get_sender (envelope)))
    return TRUE;
  for (guint i = 0; recipients[i] != NULL; i++)
    if (gate_smtp_address_needs_smtputf8 (recipients[i]))
      return TRUE;
  return FALSE;
}

void
gate_smtp_client_send_async (GateSmtpClient *self, GateSmtpEnvelope *envelope, GInputStream *message,
                             GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  Op *op;
  const char *sender;
  const char *const *recipients;
  gint64 size;
  guint64 limit;
  gboolean smtputf8;
  gboolean eightbit;
  GString *mail;

  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_return_if_fail (envelope != NULL);
  g_return_if_fail (G_IS_INPUT_STREAM (message));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = op_start (self, cancellable, callback, user_data, gate_smtp_client_send_async);
  op = task_op (task);

  if (self->op != NULL || !self->ready)
    {
      g_task_return_error (task, client_error (self, GATE_SMTP_ERROR_INVALID_INPUT, NULL,
                                               self->op ? _ ("Another operation is under way")
                                                        : _ ("Not connected to the server")));
      g_object_unref (task);
      return;
    }

  self->op = op;
  op->envelope = gate_smtp_envelope_ref (envelope);
  op->message = g_object_ref (message);
  op->result = gate_smtp_send_result_new ();
  op->kinds = g_array_new (FALSE, FALSE, sizeof (CommandKind));
  op->lines = g_ptr_array_new_with_free_func (g_free);

  set_stage (self, GATE_SMTP_STAGE_MAIL);

  sender = gate_smtp_envelope_get_sender (envelope);
  recipients = gate_smtp_envelope_get_recipients (envelope);
  if (sender == NULL || (*sender != '\0' && !gate_smtp_address_is_valid (sender)))
    {
      g_autofree char *detail
          = g_strdup_printf (_ ("The sender address “%s” is not usable"), sender ? sender : "");
      op_fail_code (task, GATE_SMTP_ERROR_INVALID_INPUT, NULL, detail, TRUE);
      return;
    }
  if (recipients == NULL || recipients[0] == NULL)
    {
      op_fail_code (task, GATE_SMTP_ERROR_INVALID_INPUT, NULL, _ ("There is no recipient"), TRUE);
      return;
    }
  for (guint i = 0; recipients[i] != NULL; i++)
    if (!gate_smtp_address_is_valid (recipients[i]))
      {
        g_autofree char *detail
            = g_strdup_printf (_ ("The recipient address “%s” is not usable"), recipients[i]);
        set_stage (self, GATE_SMTP_STAGE_RCPT);
        op_fail_code (task, GATE_SMTP_ERROR_INVALID_INPUT, NULL, detail, TRUE);
        return;
      }

  smtputf8 = envelope_needs_smtputf8 (envelope);
  eightbit = (gate_smtp_envelope_get_body_flags (envelope) & GATE_SMTP_BODY_8BITMIME) != 0;
  if (smtputf8 && !gate_smtp_capabilities_has (self->capabilities, GATE_SMTP_CAP_SMTPUTF8))
    {
      op_fail_code (task, GATE_SMTP_ERROR_MESSAGE_REFUSED, NULL,
                    _ ("The message has international addresses or headers, and the server does not accept "
                       "them (no SMTPUTF8)"),
                    TRUE);
      return;
    }
  if (eightbit && !gate_smtp_capabilities_has (self->capabilities, GATE_SMTP_CAP_8BITMIME))
    {
      op_fail_code (task, GATE_SMTP_ERROR_MESSAGE_REFUSED, NULL,
                    _ ("The message has 8-bit content, and the server does not accept it (no 8BITMIME)"),
                    TRUE);
      return;
    }

  size = gate_smtp_envelope_get_size (envelope);
  limit = gate_smtp_capabilities_get_size_limit (self->capabilities);
  if (size >= 0 && limit > 0 && (guint64)size > limit)
    {
      g_autofree char *a = format_count ((guint64)size);
      g_autofree char *b = format_count (limit);
      g_autofree char *detail
          = g_strdup_printf (_ ("The message has %s bytes; the server takes at most %s"), a, b);
      emit_info (self, "%s", detail);
      op_fail_code (task, GATE_SMTP_ERROR_MESSAGE_TOO_LARGE, NULL, detail, TRUE);
      return;
    }

  if (self->need_rset)
    add_command (op, CMD_RSET, g_strdup ("RSET"));

  mail = g_string_new (NULL);
  g_string_append_printf (mail, "MAIL FROM:<%s>", sender);
  if (size >= 0 && gate_smtp_capabilities_has (self->capabilities, GATE_SMTP_CAP_SIZE))
    g_string_append_printf (mail, " SIZE=%" G_GINT64_FORMAT, size);
  if (eightbit)
    g_string_append (mail, " BODY=8BITMIME");
  if (smtputf8)
    g_string_append (mail, " SMTPUTF8");
  add_command (op, CMD_MAIL, g_string_free (mail, FALSE));
  for (guint i = 0; recipients[i] != NULL; i++)
    add_command (op, CMD_RCPT, g_strdup_printf ("RCPT TO:<%s>", recipients[i]));
  add_command (op, CMD_DATA, g_strdup ("DATA"));

  op->pipelined = gate_smtp_capabilities_has (self->capabilities, GATE_SMTP_CAP_PIPELINING);
  if (!op->pipelined)
    {
      send_next_command (task);
      return;
    }

  /* RFC 2920: the whole envelope and DATA in one write, then the replies in
   * order: one round trip instead of one per command. */
  op->batch = g_string_new (NULL);
  for (guint i = 0; i < op->lines->len; i++)
    {
      const char *line = g_ptr_array_index (op->lines, i);

      emit_event (self, GATE_TRANSCRIPT_CLIENT, FALSE, line);
      g_string_append (op->batch, line);
      g_string_append (op->batch, "\r\n");
    }
  op->next_command = op->lines->len;
  self->need_rset = TRUE;
  set_stage (self, GATE_SMTP_STAGE_MAIL);
  op_write_bytes (task, g_bytes_new (op->batch->str, op->batch->len), self->command_timeout,
                  on_transaction_written);
}

GateSmtpSendResult *
gate_smtp_client_send_finish (GateSmtpClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, gate_smtp_client_send_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------------ */
/* Quitting */

static void
on_quit_reply (GTask *task, GateSmtpReply *reply)
{
  GateSmtpClient *self = task_self (task);

  drop_connection (self);
  set_stage (self, GATE_SMTP_STAGE_DONE);
  op_return_boolean (task);
}

void
gate_smtp_client_set_quit_after_send (GateSmtpClient *self, gboolean quit_after_send)
{
  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));

  self->quit_after_send = quit_after_send;
}

void
gate_smtp_client_quit_async (GateSmtpClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  GTask *task;

  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = op_start (self, cancellable, callback, user_data, gate_smtp_client_quit_async);

  if (self->op != NULL)
    {
      g_task_return_error (task, client_error (self, GATE_SMTP_ERROR_INVALID_INPUT, NULL,
                                               _ ("Another operation is under way")));
      g_object_unref (task);
      return;
    }
  if (!self->connected)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  self->op = task_op (task);
  self->op->quitting = TRUE;
  set_stage (self, GATE_SMTP_STAGE_QUIT);
  op_command (task, "QUIT", NULL, on_quit_reply);
}

gboolean
gate_smtp_client_quit_finish (GateSmtpClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, gate_smtp_client_quit_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
gate_smtp_client_close (GateSmtpClient *self)
{
  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));

  /* An operation under way ends as cancelled, and closes the connection
   * when its callback runs. */
  if (self->op != NULL)
    {
      g_cancellable_cancel (self->op->cancellable);
      return;
    }
  drop_connection (self);
}

/* ------------------------------------------------------------------------ */
/* GObject */

GateSmtpClient *
gate_smtp_client_new (const char *host, guint16 port, GateSmtpSecurity security)
{
  return g_object_new (GATE_TYPE_SMTP_CLIENT, "host", host, "port", (guint)port, "security", security, NULL);
}

static void
gate_smtp_client_dispose (GObject *object)
{
  GateSmtpClient *self = GATE_SMTP_CLIENT (object);

  /* A task holds a reference while it runs, so no operation is under way. */
  drop_connection (self);
  g_clear_object (&self->identity);
  g_clear_pointer (&self->capabilities, gate_smtp_capabilities_unref);
  g_clear_pointer (&self->tls_info, gate_tls_info_unref);

  G_OBJECT_CLASS (gate_smtp_client_parent_class)->dispose (object);
}

static void
gate_smtp_client_finalize (GObject *object)
{
  GateSmtpClient *self = GATE_SMTP_CLIENT (object);

  g_free (self->host);
  g_free (self->username);
  secret_free (self->password);
  secret_free (self->oauth_token);
  g_free (self->helo_name);
  g_free (self->ca_file);
  g_free (self->pinned_fingerprint);
  g_free (self->session_helo);
  g_free (self->peer_fingerprint);
  g_free (self->ca_file_error);
  g_free (self->rbuf);
  gate_smtp_reply_parser_free (self->parser);

  G_OBJECT_CLASS (gate_smtp_client_parent_class)->finalize (object);
}

static void
gate_smtp_client_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateSmtpClient *self = GATE_SMTP_CLIENT (object);

  switch (prop_id)
    {
      case PROP_HOST:
        g_value_set_string (value, self->host);
        break;
      case PROP_PORT:
        g_value_set_uint (value, self->port);
        break;
      case PROP_SECURITY:
        g_value_set_enum (value, self->security);
        break;
      case PROP_USERNAME:
        g_value_set_string (value, self->username);
        break;
      case PROP_AUTH_MECHANISMS:
        g_value_set_uint (value, self->auth_mechanisms);
        break;
      case PROP_ALLOW_PLAIN_AUTH:
        g_value_set_boolean (value, self->allow_plain_auth);
        break;
      case PROP_HELO_NAME:
        g_value_set_string (value, self->helo_name);
        break;
      case PROP_CA_FILE:
        g_value_set_string (value, self->ca_file);
        break;
      case PROP_PINNED_FINGERPRINT:
        g_value_set_string (value, self->pinned_fingerprint);
        break;
      case PROP_CONNECT_TIMEOUT:
        g_value_set_uint (value, self->connect_timeout);
        break;
      case PROP_COMMAND_TIMEOUT:
        g_value_set_uint (value, self->command_timeout);
        break;
      case PROP_DATA_TIMEOUT:
        g_value_set_uint (value, self->data_timeout);
        break;
      case PROP_STAGE:
        g_value_set_uint (value, self->stage);
        break;
      case PROP_CAPABILITIES:
        g_value_set_boxed (value, self->capabilities);
        break;
      case PROP_TLS_INFO:
        g_value_set_boxed (value, self->tls_info);
        break;
      case PROP_MESSAGES_SENT:
        g_value_set_uint (value, self->messages_sent);
        break;
      case PROP_CONNECTED:
        g_value_set_boolean (value, self->connected);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
replace_string (char **field, const char *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static gboolean
replace_secret (char **field, const char *value)
{
  secret_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static void
gate_smtp_client_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GateSmtpClient *self = GATE_SMTP_CLIENT (object);
  gboolean changed = FALSE;

  switch (prop_id)
    {
      case PROP_HOST:
        changed = replace_string (&self->host, g_value_get_string (value));
        break;
      case PROP_PORT:
        changed = self->port != g_value_get_uint (value);
        self->port = (guint16)g_value_get_uint (value);
        break;
      case PROP_SECURITY:
        changed = self->security != (GateSmtpSecurity)g_value_get_enum (value);
        self->security = g_value_get_enum (value);
        break;
      case PROP_USERNAME:
        changed = replace_string (&self->username, g_value_get_string (value));
        break;
      case PROP_PASSWORD:
        changed = replace_secret (&self->password, g_value_get_string (value));
        break;
      case PROP_OAUTH_TOKEN:
        changed = replace_secret (&self->oauth_token, g_value_get_string (value));
        break;
      case PROP_AUTH_MECHANISMS:
        changed = self->auth_mechanisms != g_value_get_uint (value);
        self->auth_mechanisms = g_value_get_uint (value);
        break;
      case PROP_ALLOW_PLAIN_AUTH:
        changed = self->allow_plain_auth != g_value_get_boolean (value);
        self->allow_plain_auth = g_value_get_boolean (value);
        break;
      case PROP_HELO_NAME:
        changed = replace_string (&self->helo_name, g_value_get_string (value));
        break;
      case PROP_CA_FILE:
        {
          const char *path = g_value_get_string (value);
          /* GIO's file database wants an absolute path (it warns otherwise), and
           * a relative one would change meaning if the working folder does. */
          g_autofree char *absolute
              = path != NULL && *path != '\0' ? g_canonicalize_filename (path, NULL) : NULL;
          changed = replace_string (&self->ca_file, absolute);
        }
        break;
      case PROP_PINNED_FINGERPRINT:
        {
          const char *text = g_value_get_string (value);
          g_autofree char *canonical = NULL;

          if (text != NULL && *text != '\0' && !gate_tls_fingerprint_normalize (text, &canonical))
            {
              g_warning (_ ("The saved fingerprint of the server’s certificate is not a SHA-256 fingerprint "
                            "and is not used"));
              break;
            }
          changed = replace_string (&self->pinned_fingerprint, canonical);
        }
        break;
      case PROP_CONNECT_TIMEOUT:
        changed = self->connect_timeout != g_value_get_uint (value);
        self->connect_timeout = g_value_get_uint (value);
        break;
      case PROP_COMMAND_TIMEOUT:
        changed = self->command_timeout != g_value_get_uint (value);
        self->command_timeout = g_value_get_uint (value);
        break;
      case PROP_DATA_TIMEOUT:
        changed = self->data_timeout != g_value_get_uint (value);
        self->data_timeout = g_value_get_uint (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        return;
    }

  if (changed)
    g_object_notify_by_pspec (object, pspec);
}

static void
gate_smtp_client_class_init (GateSmtpClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  const GParamFlags wo = G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = gate_smtp_client_dispose;
  object_class->finalize = gate_smtp_client_finalize;
  object_class->get_property = gate_smtp_client_get_property;
  object_class->set_property = gate_smtp_client_set_property;

  properties[PROP_HOST] = g_param_spec_string ("host", NULL, NULL, NULL, rw);
  properties[PROP_PORT] = g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 25, rw);
  properties[PROP_SECURITY] = g_param_spec_enum ("security", NULL, NULL, gate_smtp_security_get_type (),
                                                 GATE_SMTP_SECURITY_STARTTLS, rw);
  properties[PROP_USERNAME] = g_param_spec_string ("username", NULL, NULL, NULL, rw);
  properties[PROP_PASSWORD] = g_param_spec_string ("password", NULL, NULL, NULL, wo);
  properties[PROP_OAUTH_TOKEN] = g_param_spec_string ("oauth-token", NULL, NULL, NULL, wo);
  /* GateSmtpAuthMechanism flags */
  properties[PROP_AUTH_MECHANISMS]
      = g_param_spec_uint ("auth-mechanisms", NULL, NULL, 0, G_MAXUINT, GATE_SMTP_AUTH_AUTOMATIC, rw);
  properties[PROP_ALLOW_PLAIN_AUTH] = g_param_spec_boolean ("allow-plain-auth", NULL, NULL, FALSE, rw);
  properties[PROP_HELO_NAME] = g_param_spec_string ("helo-name", NULL, NULL, NULL, rw);
  properties[PROP_CA_FILE] = g_param_spec_string ("ca-file", NULL, NULL, NULL, rw);
  properties[PROP_PINNED_FINGERPRINT] = g_param_spec_string ("pinned-fingerprint", NULL, NULL, NULL, rw);
  properties[PROP_CONNECT_TIMEOUT] = g_param_spec_uint ("connect-timeout", NULL, NULL, 0, 3600, 30, rw);
  properties[PROP_COMMAND_TIMEOUT] = g_param_spec_uint ("command-timeout", NULL, NULL, 0, 3600, 60, rw);
  properties[PROP_DATA_TIMEOUT] = g_param_spec_uint ("data-timeout", NULL, NULL, 0, 36000, 600, rw);
  /* GateSmtpStage */
  properties[PROP_STAGE]
      = g_param_spec_uint ("stage", NULL, NULL, 0, GATE_SMTP_STAGE_DONE, GATE_SMTP_STAGE_NONE, ro);
  properties[PROP_CAPABILITIES]
      = g_param_spec_boxed ("capabilities", NULL, NULL, GATE_TYPE_SMTP_CAPABILITIES, ro);
  properties[PROP_TLS_INFO] = g_param_spec_boxed ("tls-info", NULL, NULL, GATE_TYPE_TLS_INFO, ro);
  properties[PROP_MESSAGES_SENT] = g_param_spec_uint ("messages-sent", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_CONNECTED] = g_param_spec_boolean ("connected", NULL, NULL, FALSE, ro);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_TRANSCRIPT]
      = g_signal_new ("transcript", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, GATE_TYPE_TRANSCRIPT_EVENT | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
gate_smtp_client_init (GateSmtpClient *self)
{
  self->port = 25;
  self->security = GATE_SMTP_SECURITY_STARTTLS;
  self->auth_mechanisms = GATE_SMTP_AUTH_AUTOMATIC;
  self->connect_timeout = 30;
  self->command_timeout = 60;
  self->data_timeout = 600;
  self->rbuf = g_malloc (READ_BUFFER_SIZE);
  self->parser = gate_smtp_reply_parser_new ();
}

/* ------------------------------------------------------------------------ */
/* Accessors */

const char *
gate_smtp_client_get_host (GateSmtpClient *self)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), NULL);
  return self->host;
}

guint16
gate_smtp_client_get_port (GateSmtpClient *self)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), 0);
  return self->port;
}

GateSmtpSecurity
gate_smtp_client_get_security (GateSmtpClient *self)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), GATE_SMTP_SECURITY_NONE);
  return self->security;
}

void
gate_smtp_client_set_credentials (GateSmtpClient *self, const char *username, const char *password)
{
  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_object_set (self, "username", username, "password", password, NULL);
}

void
gate_smtp_client_set_oauth_token (GateSmtpClient *self, const char *username, const char *token)
{
  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_object_set (self, "username", username, "oauth-token", token, NULL);
}

void
gate_smtp_client_set_auth_mechanisms (GateSmtpClient *self, GateSmtpAuthMechanism allowed)
{
  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_object_set (self, "auth-mechanisms", (guint)allowed, NULL);
}

void
gate_smtp_client_set_allow_plain_auth (GateSmtpClient *self, gboolean allow)
{
  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_object_set (self, "allow-plain-auth", allow, NULL);
}

void
gate_smtp_client_set_helo_name (GateSmtpClient *self, const char *helo_name)
{
  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_object_set (self, "helo-name", helo_name, NULL);
}

void
gate_smtp_client_set_ca_file (GateSmtpClient *self, const char *ca_file)
{
  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_object_set (self, "ca-file", ca_file, NULL);
}

void
gate_smtp_client_set_pinned_fingerprint (GateSmtpClient *self, const char *sha256_hex)
{
  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_object_set (self, "pinned-fingerprint", sha256_hex, NULL);
}

void
gate_smtp_client_set_timeouts (GateSmtpClient *self, guint connect_seconds, guint command_seconds,
                               guint data_seconds)
{
  g_return_if_fail (GATE_IS_SMTP_CLIENT (self));
  g_object_set (self, "connect-timeout", connect_seconds, "command-timeout", command_seconds, "data-timeout",
                data_seconds, NULL);
}

GateSmtpStage
gate_smtp_client_get_stage (GateSmtpClient *self)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), GATE_SMTP_STAGE_NONE);
  return self->stage;
}

gboolean
gate_smtp_client_is_connected (GateSmtpClient *self)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), FALSE);
  return self->connected;
}

GateSmtpCapabilities *
gate_smtp_client_get_capabilities (GateSmtpClient *self)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), NULL);
  return self->capabilities;
}

GateTlsInfo *
gate_smtp_client_get_tls_info (GateSmtpClient *self)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), NULL);
  return self->tls_info;
}

GateSmtpAuthMechanism
gate_smtp_client_get_auth_mechanism_used (GateSmtpClient *self)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), GATE_SMTP_AUTH_NONE);
  return self->auth_used;
}

guint
gate_smtp_client_get_messages_sent (GateSmtpClient *self)
{
  g_return_val_if_fail (GATE_IS_SMTP_CLIENT (self), 0);
  return self->messages_sent;
}
