/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Servers that misbehave, time-outs, and cancellation at each stage. */
#include "config.h"

#include <string.h>

#include "client-test-util.h"

static TestServer *
start_hostile (const char *behaviour)
{
  const char *const args[] = { "--behaviour", behaviour, NULL };

  return test_server_start ("hostile-server.py", args);
}

static GError *
connect_expecting_failure (GateSmtpClient *client, GCancellable *cancellable)
{
  GError *error = NULL;

  g_assert_false (test_run_connect (client, cancellable, &error));
  g_assert_nonnull (error);
  g_assert_false (gate_smtp_client_is_connected (client));
  g_assert_nonnull (strstr (test_transcript_text (client), "*** "));
  test_assert_no_secrets (client);
  return error;
}

static void
test_garbage (void)
{
  g_autoptr (TestServer) server = start_hostile ("garbage");
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GError) error = connect_expecting_failure (client, NULL);

  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_PROTOCOL);
  g_assert_cmpint (gate_smtp_error_get_stage (error), ==, GATE_SMTP_STAGE_GREETING);
  /* The bytes are shown escaped, never raw. */
  g_assert_nonnull (strstr (test_transcript_text (client), "\\x"));
}

static void
test_overlong_line (void)
{
  g_autoptr (TestServer) server = start_hostile ("overlong-line");
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GError) error = connect_expecting_failure (client, NULL);

  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_PROTOCOL);
  g_assert_nonnull (gate_smtp_error_get_detail (error));
  /* Nothing of the megabyte reached the transcript. */
  g_assert_cmpuint (strlen (test_transcript_text (client)), <, 4096);
}

static void
test_close_mid_reply (void)
{
  g_autoptr (TestServer) server = start_hostile ("close-mid-reply");
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GError) error = connect_expecting_failure (client, NULL);

  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_NETWORK);
  g_assert_cmpint (gate_smtp_error_get_stage (error), ==, GATE_SMTP_STAGE_HELLO);
  g_assert_true (gate_smtp_error_is_temporary (error));
}

static void
test_starttls_injection (void)
{
  g_autoptr (TestServer) server = start_hostile ("starttls-inject");
  g_autoptr (GateSmtpClient) client
      = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_STARTTLS);
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;

  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  error = connect_expecting_failure (client, NULL);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_PROTOCOL);
  g_assert_cmpint (gate_smtp_error_get_stage (error), ==, GATE_SMTP_STAGE_TLS);
  g_assert_null (gate_smtp_client_get_tls_info (client));
  /* The injected line was never taken as an answer. */
  g_assert_null (strstr (test_transcript_text (client), "injected"));

  log = test_server_read_log (server);
  g_assert_nonnull (strstr (log, "C: STARTTLS"));
  g_assert_null (strstr (log, "AUTH"));
}

static void
test_never_answers (void)
{
  g_autoptr (TestServer) server = start_hostile ("never-answer");
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GError) error = NULL;

  gate_smtp_client_set_timeouts (client, 2, 1, 2);
  error = connect_expecting_failure (client, NULL);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_TIMED_OUT);
  g_assert_cmpint (gate_smtp_error_get_stage (error), ==, GATE_SMTP_STAGE_GREETING);
  g_assert_true (gate_smtp_error_is_temporary (error));
}

static void
test_slow_server_times_out (void)
{
  g_autoptr (TestServer) server = start_hostile ("slow");
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GError) error = NULL;

  /* The slow server waits 2 s before each reply. */
  gate_smtp_client_set_timeouts (client, 2, 1, 2);
  error = connect_expecting_failure (client, NULL);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_TIMED_OUT);
}

/* Replies that come a byte at a time, some already waiting, some not yet
 * sent: read whole, whatever the pieces. */
static void
test_trickling_server (void)
{
  g_autoptr (TestServer) server = start_hostile ("trickle");
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GateSmtpEnvelope) envelope
      = test_envelope_new ("from@example.test", "a@example.test", "b@example.test", "c@example.test", NULL);
  g_autoptr (GInputStream) message = test_message_stream ("Subject: x\r\n\r\nbody\r\n");
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (test_run_connect (client, NULL, &error));
  g_assert_no_error (error);
  result = test_run_send (client, envelope, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gate_smtp_send_result_get_n_accepted (result), ==, 3);
  g_assert_true (test_run_quit (client, NULL));
}

static void
test_refused_recipients_then_354 (void)
{
  g_autoptr (TestServer) server = start_hostile ("refuse-rcpt-then-354");
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GateSmtpEnvelope) envelope
      = test_envelope_new ("from@example.test", "a@example.test", "b@example.test", NULL);
  g_autoptr (GInputStream) message = test_message_stream ("Subject: x\r\n\r\nSECRET-CONTENT\r\n");
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;
  const char *data;

  g_assert_true (test_run_connect (client, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (test_run_send (client, envelope, message, NULL, &error));
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_RECIPIENT_REFUSED);
  g_assert_true (gate_smtp_client_is_connected (client));
  g_assert_true (test_run_quit (client, NULL));

  /* The server's 354 got a lone "." and none of the message. */
  log = test_server_read_log (server);
  g_assert_null (strstr (log, "SECRET-CONTENT"));
  data = strstr (log, "C: DATA\n");
  g_assert_nonnull (data);
  g_assert_true (g_str_has_prefix (data + strlen ("C: DATA\n"), "C: .\n"));
}

static void
test_connection_refused (void)
{
  g_autoptr (GSocket) probe
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GateSmtpClient) client = NULL;
  g_autoptr (GError) error = NULL;

  /* A port that was free a moment ago and has no listener. */
  g_assert_true (g_socket_bind (probe, any, FALSE, NULL));
  bound = g_socket_get_local_address (probe, NULL);
  client = test_client_new ("127.0.0.1", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)),
                            GATE_SMTP_SECURITY_NONE);
  g_socket_close (probe, NULL);

  error = connect_expecting_failure (client, NULL);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CONNECTION_REFUSED);
  g_assert_cmpint (gate_smtp_error_get_stage (error), ==, GATE_SMTP_STAGE_CONNECT);
}

/* ---- cancellation ---- */

typedef struct
{
  GCancellable *cancellable;
  GateSmtpStage stage;
  gboolean fired;
} CancelAt;

static void
on_stage (GObject *object, GParamSpec *pspec, gpointer data)
{
  CancelAt *at = data;

  if (!at->fired && gate_smtp_client_get_stage (GATE_SMTP_CLIENT (object)) == at->stage)
    {
      at->fired = TRUE;
      g_cancellable_cancel (at->cancellable);
    }
}

static void
assert_connect_cancelled_at (GateSmtpClient *client, GateSmtpStage stage)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  CancelAt at = { cancellable, stage, FALSE };
  g_autoptr (GError) error = NULL;
  gulong id;

  id = g_signal_connect (client, "notify::stage", G_CALLBACK (on_stage), &at);
  error = connect_expecting_failure (client, cancellable);
  g_signal_handler_disconnect (client, id);
  g_assert_true (at.fired);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CANCELLED);
  g_assert_cmpint (gate_smtp_error_get_stage (error), ==, stage);
}

static void
test_cancel_connect (void)
{
  g_autoptr (TestServer) server = start_hostile ("normal");
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GateSmtpClient) again = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GCancellable) cancelled = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  assert_connect_cancelled_at (client, GATE_SMTP_STAGE_CONNECT);

  /* Already cancelled before it starts. */
  g_cancellable_cancel (cancelled);
  error = connect_expecting_failure (again, cancelled);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CANCELLED);
}

static void
test_cancel_greeting (void)
{
  g_autoptr (TestServer) server = start_hostile ("never-answer");
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);

  assert_connect_cancelled_at (client, GATE_SMTP_STAGE_GREETING);
}

static TestServer *
start_tls_server (const char *mode)
{
  g_autofree char *pem = test_cert_path ("localhost.pem");
  g_autofree char *key = test_cert_path ("localhost.key");
  const char *const args[]
      = { "--tls-mode", mode, "--cert", pem, "--key", key, "--auth", "PLAIN LOGIN", NULL };

  return test_server_start ("smtp-test-server.py", args);
}

static void
test_cancel_tls (void)
{
  g_autoptr (TestServer) implicit = start_tls_server ("implicit");
  g_autoptr (TestServer) starttls = start_tls_server ("starttls");
  g_autoptr (GateSmtpClient) a = test_client_new ("127.0.0.1", implicit->port, GATE_SMTP_SECURITY_TLS);
  g_autoptr (GateSmtpClient) b = test_client_new ("127.0.0.1", starttls->port, GATE_SMTP_SECURITY_STARTTLS);
  g_autofree char *ca = test_cert_path ("ca.pem");

  gate_smtp_client_set_ca_file (a, ca);
  gate_smtp_client_set_ca_file (b, ca);
  assert_connect_cancelled_at (a, GATE_SMTP_STAGE_TLS);
  assert_connect_cancelled_at (b, GATE_SMTP_STAGE_TLS);
}

static void
test_cancel_auth (void)
{
  g_autoptr (TestServer) server = start_tls_server ("starttls");
  g_autoptr (GateSmtpClient) client
      = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_STARTTLS);
  g_autofree char *ca = test_cert_path ("ca.pem");
  g_autofree char *log = NULL;

  gate_smtp_client_set_ca_file (client, ca);
  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  assert_connect_cancelled_at (client, GATE_SMTP_STAGE_AUTH);
  log = test_server_read_log (server);
  g_assert_null (strstr (log, TEST_PASSWORD));
}

/* A message stream that cancels the send after its first chunk, so the
 * cancellation lands in the middle of the content. */
typedef struct
{
  GInputStream parent_instance;
  GCancellable *cancellable;
  guint reads;
} CancelStream;

typedef GInputStreamClass CancelStreamClass;

static GType cancel_stream_get_type (void);
G_DEFINE_TYPE (CancelStream, cancel_stream, G_TYPE_INPUT_STREAM)

static gssize
cancel_stream_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
                    GError **error)
{
  CancelStream *self = (CancelStream *)stream;

  if (self->reads++ == 1)
    g_cancellable_cancel (self->cancellable);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;
  memset (buffer, 'x', count);
  if (count >= 2)
    memcpy ((char *)buffer + count - 2, "\r\n", 2);
  return count;
}

static void
cancel_stream_class_init (CancelStreamClass *klass)
{
  klass->read_fn = cancel_stream_read;
}

static void
cancel_stream_init (CancelStream *self)
{
}

static void
test_cancel_data (void)
{
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", NULL);
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GateSmtpEnvelope) envelope = test_envelope_new ("from@example.test", "to@example.test", NULL);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GInputStream) stream = g_object_new (cancel_stream_get_type (), NULL);
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSmtpClient) second = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GateSmtpEnvelope) envelope2 = test_envelope_new ("from@example.test", "to@example.test", NULL);
  g_autoptr (GCancellable) cancellable2 = g_cancellable_new ();
  g_autoptr (GInputStream) message2 = test_message_stream ("Subject: x\r\n\r\nbody\r\n");
  CancelAt at = { cancellable2, GATE_SMTP_STAGE_DATA, FALSE };
  g_autofree char *log = NULL;

  ((CancelStream *)stream)->cancellable = cancellable;
  g_assert_true (test_run_connect (client, NULL, &error));
  g_assert_no_error (error);
  result = test_run_send (client, envelope, stream, cancellable, &error);
  g_assert_null (result);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CANCELLED);
  g_assert_cmpint (gate_smtp_error_get_stage (error), ==, GATE_SMTP_STAGE_DATA);
  g_assert_false (gate_smtp_client_is_connected (client));
  g_clear_error (&error);

  /* Cancelled as the DATA stage begins. */
  g_assert_true (test_run_connect (second, NULL, &error));
  g_assert_no_error (error);
  g_signal_connect (second, "notify::stage", G_CALLBACK (on_stage), &at);
  g_assert_null (test_run_send (second, envelope2, message2, cancellable2, &error));
  g_assert_true (at.fired);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CANCELLED);
  g_assert_false (gate_smtp_client_is_connected (second));

  /* Neither message was completed. */
  g_assert_null (test_server_read_message (server, 1));
  log = test_server_read_log (server);
  g_assert_null (strstr (log, "C: .\n"));
}

static void
test_close_while_busy (void)
{
  g_autoptr (TestServer) server = start_hostile ("never-answer");
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  GMainContext *context = g_main_context_default ();

  /* gate_smtp_client_close() during an operation ends it as cancelled. */
  gate_smtp_client_connect_async (client, NULL, NULL, NULL);
  while (gate_smtp_client_get_stage (client) != GATE_SMTP_STAGE_GREETING)
    g_main_context_iteration (context, TRUE);
  g_assert_true (gate_smtp_client_is_connected (client));
  gate_smtp_client_close (client);
  while (gate_smtp_client_is_connected (client))
    g_main_context_iteration (context, TRUE);
  g_assert_nonnull (strstr (test_transcript_text (client), "*** "));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client/hostile/garbage", test_garbage);
  g_test_add_func ("/client/hostile/overlong-line", test_overlong_line);
  g_test_add_func ("/client/hostile/close-mid-reply", test_close_mid_reply);
  g_test_add_func ("/client/hostile/starttls-injection", test_starttls_injection);
  g_test_add_func ("/client/hostile/never-answers", test_never_answers);
  g_test_add_func ("/client/hostile/slow-server-times-out", test_slow_server_times_out);
  g_test_add_func ("/client/hostile/refused-recipients-then-354", test_refused_recipients_then_354);
  g_test_add_func ("/client/hostile/trickling-server", test_trickling_server);
  g_test_add_func ("/client/hostile/connection-refused", test_connection_refused);
  g_test_add_func ("/client/cancel/connect", test_cancel_connect);
  g_test_add_func ("/client/cancel/greeting", test_cancel_greeting);
  g_test_add_func ("/client/cancel/tls", test_cancel_tls);
  g_test_add_func ("/client/cancel/auth", test_cancel_auth);
  g_test_add_func ("/client/cancel/data", test_cancel_data);
  g_test_add_func ("/client/cancel/close-while-busy", test_close_while_busy);

  return g_test_run ();
}
