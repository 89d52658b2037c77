/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Sending: recipients refused, sizes, a 50 MB message, HELO-only servers,
 * replies on cue, several messages per connection, pipelining. */
#include "config.h"

#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "client-test-util.h"

static const char *const NO_ARGS[] = { NULL };

static GateSmtpClient *
connected_client (TestServer *server)
{
  GateSmtpClient *client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GError) error = NULL;

  g_assert_true (test_run_connect (client, NULL, &error));
  g_assert_no_error (error);
  return client;
}

static guint
count_occurrences (const char *haystack, const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (haystack, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static void
test_one_recipient_refused (void)
{
  const char *const args[] = { "--reply-rcpt", "nobody@example.test=550", NULL };
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", args);
  g_autoptr (GateSmtpClient) client = connected_client (server);
  g_autoptr (GateSmtpEnvelope) envelope = test_envelope_new (
      "from@example.test", "one@example.test", "nobody@example.test", "three@example.test", NULL);
  g_autoptr (GInputStream) message = test_message_stream ("Subject: three\r\n\r\nbody\r\n");
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) stored = NULL;
  g_autofree char *meta = NULL;
  g_autofree char *meta_path = g_build_filename (server->maildir, "1.json", NULL);

  result = test_run_send (client, envelope, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpuint (gate_smtp_send_result_get_n_recipients (result), ==, 3);
  g_assert_cmpuint (gate_smtp_send_result_get_n_accepted (result), ==, 2);
  g_assert_true (gate_smtp_send_result_recipient_accepted (result, 0));
  g_assert_false (gate_smtp_send_result_recipient_accepted (result, 1));
  g_assert_cmpstr (gate_smtp_send_result_get_recipient (result, 1), ==, "nobody@example.test");
  g_assert_cmpuint (gate_smtp_reply_get_code (gate_smtp_send_result_get_recipient_reply (result, 1)), ==,
                    550);
  g_assert_true (gate_smtp_send_result_recipient_accepted (result, 2));

  g_assert_true (g_file_get_contents (meta_path, &meta, NULL, NULL));
  g_assert_nonnull (strstr (meta, "one@example.test"));
  g_assert_nonnull (strstr (meta, "three@example.test"));
  g_assert_null (strstr (meta, "nobody@example.test"));
  g_assert_true (test_run_quit (client, &error));
}

static void
test_all_recipients_refused (void)
{
  const char *const args[]
      = { "--reply-rcpt", "a@example.test=550", "--reply-rcpt", "b@example.test=451", NULL };
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", args);
  g_autoptr (GateSmtpClient) client = connected_client (server);
  g_autoptr (GateSmtpEnvelope) envelope
      = test_envelope_new ("from@example.test", "a@example.test", "b@example.test", NULL);
  g_autoptr (GateSmtpEnvelope) good = test_envelope_new ("from@example.test", "c@example.test", NULL);
  g_autoptr (GInputStream) message = test_message_stream ("Subject: none\r\n\r\nNOT-DELIVERED\r\n");
  g_autoptr (GInputStream) second = test_message_stream ("Subject: second\r\n\r\nbody\r\n");
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) stored = NULL;
  g_autofree char *log = NULL;

  result = test_run_send (client, envelope, message, NULL, &error);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_RECIPIENT_REFUSED);
  g_assert_null (result);
  g_assert_nonnull (strstr (gate_smtp_error_get_detail (error), "a@example.test"));
  g_assert_nonnull (strstr (gate_smtp_error_get_detail (error), "b@example.test"));
  g_assert_true (gate_smtp_client_is_connected (client));
  g_clear_error (&error);

  /* The session is still good: RSET, then the next message goes. */
  result = test_run_send (client, good, second, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_true (test_run_quit (client, &error));

  log = test_server_read_log (server);
  g_assert_null (strstr (log, "NOT-DELIVERED"));
  g_assert_nonnull (strstr (log, "C: RSET"));
  stored = test_server_read_message (server, 1);
  g_assert_nonnull (stored);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (stored, NULL), g_bytes_get_size (stored), "second"));
}

static void
test_oversize_declared (void)
{
  const char *const args[] = { "--size", "1000", NULL };
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", args);
  g_autoptr (GateSmtpClient) client = connected_client (server);
  g_autoptr (GateSmtpEnvelope) envelope = test_envelope_new ("from@example.test", "to@example.test", NULL);
  g_autofree char *big = g_strnfill (5000, 'x');
  g_autofree char *text = g_strdup_printf ("Subject: big\r\n\r\n%s\r\n", big);
  g_autoptr (GInputStream) message = test_message_stream (text);
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;

  g_assert_cmpuint (gate_smtp_capabilities_get_size_limit (gate_smtp_client_get_capabilities (client)), ==,
                    1000);
  gate_smtp_envelope_set_size (envelope, strlen (text));
  result = test_run_send (client, envelope, message, NULL, &error);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_MESSAGE_TOO_LARGE);
  g_assert_null (result);
  g_assert_true (gate_smtp_client_is_connected (client));
  g_assert_true (test_run_quit (client, NULL));

  log = test_server_read_log (server);
  g_assert_null (strstr (log, "MAIL"));
}

static void
test_oversize_found_by_server (void)
{
  const char *const args[] = { "--size", "1000", NULL };
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", args);
  g_autoptr (GateSmtpClient) client = connected_client (server);
  g_autoptr (GateSmtpEnvelope) envelope = test_envelope_new ("from@example.test", "to@example.test", NULL);
  g_autoptr (GString) text = g_string_new ("Subject: big\r\n\r\n");
  g_autoptr (GInputStream) message = NULL;
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;

  /* Size not declared: the server finds out at the end of data. */
  for (guint i = 0; i < 100; i++)
    g_string_append (text, "0123456789012345678901234567890123456789\r\n");
  message = test_message_stream (text->str);
  result = test_run_send (client, envelope, message, NULL, &error);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_MESSAGE_TOO_LARGE);
  g_assert_cmpuint (gate_smtp_reply_get_code (gate_smtp_error_get_reply (error)), ==, 552);
}

/* The declared size sets the size of the client's buffers: a message
 * larger than declared still goes whole, read in more pieces, with the dots
 * at the start of lines that cross a piece's edge doubled. */
static void
test_size_understated (void)
{
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", NULL);
  g_autoptr (GateSmtpClient) client = connected_client (server);
  g_autoptr (GateSmtpEnvelope) envelope = test_envelope_new ("from@example.test", "to@example.test", NULL);
  g_autoptr (GString) text = g_string_new ("Subject: larger than said\r\n\r\n");
  g_autoptr (GInputStream) message = NULL;
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) stored = NULL;

  for (guint i = 0; text->len < 200 * 1024; i++)
    g_string_append_printf (text, "%s line %u of a message with dots%s\r\n", i % 3 == 0 ? "." : "", i,
                            i % 7 == 0 ? " ....." : "");
  message = test_message_stream (text->str);
  gate_smtp_envelope_set_size (envelope, 100);
  result = test_run_send (client, envelope, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_true (test_run_quit (client, NULL));
  stored = test_server_read_message (server, 1);
  g_assert_nonnull (stored);
  g_assert_cmpmem (g_bytes_get_data (stored, NULL), g_bytes_get_size (stored), text->str, text->len);
}

/* ---- a 50 MB message generated on the fly ---- */

#define BIG_SIZE (50 * 1024 * 1024)

typedef struct
{
  GInputStream parent_instance;
  guint64 produced;
  guint64 line;
  char pending[256];
  gsize pending_len;
  gsize pending_pos;
  GChecksum *checksum;
} BigStream;

typedef GInputStreamClass BigStreamClass;

static GType big_stream_get_type (void);
G_DEFINE_TYPE (BigStream, big_stream, G_TYPE_INPUT_STREAM)

static void
big_stream_next_line (BigStream *self)
{
  /* Lines of varied length; every seventh starts with a dot. */
  guint64 n = self->line++;
  int len = g_snprintf (self->pending, sizeof self->pending, "%sline %010" G_GUINT64_FORMAT " %.*s\r\n",
                        n % 7 == 0 ? "." : "", n, (int)(n % 97),
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

  self->pending_len = len;
  self->pending_pos = 0;
}

static gssize
big_stream_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable, GError **error)
{
  BigStream *self = (BigStream *)stream;
  guint8 *out = buffer;
  gsize done = 0;

  while (done < count && self->produced < BIG_SIZE)
    {
      gsize n;

      if (self->pending_pos == self->pending_len)
        big_stream_next_line (self);
      n = MIN (count - done, self->pending_len - self->pending_pos);
      /* The last line may be cut: the client must end it with CRLF. */
      n = MIN (n, BIG_SIZE - self->produced);
      memcpy (out + done, self->pending + self->pending_pos, n);
      self->pending_pos += n;
      self->produced += n;
      done += n;
    }

  g_checksum_update (self->checksum, out, done);
  return done;
}

static void
big_stream_finalize (GObject *object)
{
  g_checksum_free (((BigStream *)object)->checksum);
  G_OBJECT_CLASS (big_stream_parent_class)->finalize (object);
}

static void
big_stream_class_init (BigStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = big_stream_finalize;
  klass->read_fn = big_stream_read;
}

static void
big_stream_init (BigStream *self)
{
  self->checksum = g_checksum_new (G_CHECKSUM_SHA256);
}

static gsize
peak_rss_kb (void)
{
  g_autofree char *status = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  p = strstr (status, "VmHWM:");
  return p ? g_ascii_strtoull (p + 6, NULL, 10) : 0;
}

static void
test_fifty_megabytes (void)
{
  g_autofree char *pem = test_cert_path ("localhost.pem");
  g_autofree char *key = test_cert_path ("localhost.key");
  g_autofree char *ca = test_cert_path ("ca.pem");
  const char *const args[]
      = { "--tls-mode", "starttls", "--cert", pem, "--key", key, "--size", "60000000", NULL };
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", args);
  g_autoptr (GateSmtpClient) client
      = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_STARTTLS);
  g_autoptr (GateSmtpEnvelope) envelope = test_envelope_new ("from@example.test", "to@example.test", NULL);
  g_autoptr (GInputStream) stream = g_object_new (big_stream_get_type (), NULL);
  BigStream *big = (BigStream *)stream;
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) stored = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *got = NULL;
  gsize rss_before, rss_after;

  gate_smtp_client_set_ca_file (client, ca);
  g_assert_true (test_run_connect (client, NULL, &error));
  g_assert_no_error (error);

  gate_smtp_envelope_set_size (envelope, BIG_SIZE);
  rss_before = peak_rss_kb ();
  result = test_run_send (client, envelope, stream, NULL, &error);
  rss_after = peak_rss_kb ();
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_true (test_run_quit (client, &error));
  g_assert_no_error (error);

  /* The server stored what was generated, byte for byte (it undoes the
   * dot-stuffing; the last, cut line gained a CRLF). */
  g_assert_cmpuint (big->produced, ==, BIG_SIZE);
  g_checksum_update (big->checksum, (const guchar *)"\r\n", 2);
  expected = g_strdup (g_checksum_get_string (big->checksum));
  stored = test_server_read_message (server, 1);
  g_assert_nonnull (stored);
  g_assert_cmpuint (g_bytes_get_size (stored), ==, BIG_SIZE + 2);
  got = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, stored);
  g_assert_cmpstr (got, ==, expected);
  g_assert_cmpuint (gate_smtp_send_result_get_bytes_sent (result), >, BIG_SIZE);

  /* Constant memory: the message is never held whole.  AddressSanitizer
   * keeps freed memory in quarantine, so the figure means nothing there. */
  if (g_getenv ("POSTGATE_SANITIZED") == NULL)
    {
      g_test_message ("peak RSS %zu kB before, %zu kB after", rss_before, rss_after);
      g_assert_cmpuint (rss_after - rss_before, <, 16 * 1024);
    }
  test_assert_no_secrets (client);
}

static void
test_helo_only (void)
{
  const char *const args[] = { "--no-ehlo", NULL };
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", args);
  g_autoptr (GateSmtpClient) client = connected_client (server);
  g_autoptr (GateSmtpEnvelope) envelope = test_envelope_new ("from@example.test", "to@example.test", NULL);
  g_autoptr (GInputStream) message = test_message_stream ("Subject: helo\r\n\r\nbody\r\n");
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (strstr (test_transcript_text (client), "-> HELO "));
  g_assert_cmpuint (gate_smtp_capabilities_get_flags (gate_smtp_client_get_capabilities (client)), ==, 0);
  result = test_run_send (client, envelope, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_true (test_run_quit (client, NULL));
  g_assert_nonnull (test_server_read_message (server, 1));
}

static void
assert_refused_on_cue (const char *option, const char *code, const char *text, GateSmtpError expected,
                       gboolean temporary)
{
  const char *const args[] = { option, code, text, NULL };
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", args);
  g_autoptr (GateSmtpClient) client = connected_client (server);
  g_autoptr (GateSmtpEnvelope) envelope = test_envelope_new ("from@example.test", "to@example.test", NULL);
  g_autoptr (GInputStream) message = test_message_stream ("Subject: cue\r\n\r\nbody\r\n");
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;

  result = test_run_send (client, envelope, message, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, GATE_SMTP_ERROR, (gint)expected);
  g_assert_cmpuint (gate_smtp_reply_get_code (gate_smtp_error_get_reply (error)), ==, atoi (code));
  g_assert_cmpint (gate_smtp_error_is_temporary (error), ==, temporary);
  g_assert_nonnull (gate_smtp_error_get_next_step (error));
  g_assert_true (gate_smtp_client_is_connected (client));
  g_assert_nonnull (strstr (test_transcript_text (client), "*** "));
  g_assert_true (test_run_quit (client, NULL));
}

static void
test_replies_on_cue (void)
{
  assert_refused_on_cue ("--reply-mail", "451", "4.3.0 Try again later", GATE_SMTP_ERROR_SENDER_REFUSED,
                         TRUE);
  assert_refused_on_cue ("--reply-mail", "550", "5.7.1 From header sender domain not verified",
                         GATE_SMTP_ERROR_SENDER_REFUSED, FALSE);
  assert_refused_on_cue ("--reply-data", "554", "5.7.1 Message rejected as spam",
                         GATE_SMTP_ERROR_MESSAGE_REFUSED, FALSE);
  assert_refused_on_cue ("--reply-data", "452", "4.3.1 Insufficient system storage",
                         GATE_SMTP_ERROR_MESSAGE_REFUSED, TRUE);
}

static void
send_two (const char *const *args, gboolean expect_pipelining)
{
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", args);
  g_autoptr (GateSmtpClient) client = connected_client (server);
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;
  const char *batch;

  for (guint i = 1; i <= 2; i++)
    {
      g_autoptr (GateSmtpEnvelope) envelope
          = test_envelope_new ("from@example.test", "to@example.test", "cc@example.test", NULL);
      g_autofree char *text
          = g_strdup_printf ("Subject: number %u\r\n\r\n.dot line\nbare LF\rbare CR\r\n", i);
      g_autoptr (GInputStream) message = test_message_stream (text);
      g_autoptr (GateSmtpSendResult) result = NULL;
      g_autoptr (GBytes) stored = NULL;
      g_autofree char *expected
          = g_strdup_printf ("Subject: number %u\r\n\r\n.dot line\r\nbare LF\r\nbare CR\r\n", i);

      /* The second message is the last of the session. */
      gate_smtp_client_set_quit_after_send (client, i == 2);
      result = test_run_send (client, envelope, message, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (result);
      stored = test_server_read_message (server, i);
      g_assert_nonnull (stored);
      g_assert_cmpmem (g_bytes_get_data (stored, NULL), g_bytes_get_size (stored), expected,
                       strlen (expected));
    }
  g_assert_cmpuint (gate_smtp_client_get_messages_sent (client), ==, 2);
  /* With PIPELINING, QUIT went with the last message's final dot and the
   * session is over; without, it is still open for QUIT. */
  g_assert_cmpint (gate_smtp_client_is_connected (client), ==, !expect_pipelining);
  g_assert_true (test_run_quit (client, &error));
  g_assert_no_error (error);
  g_assert_false (gate_smtp_client_is_connected (client));
  g_assert_nonnull (strstr (test_transcript_text (client), "<- 221"));

  log = test_server_read_log (server);
  if (expect_pipelining)
    g_assert_nonnull (strstr (log, "C: .\nC: QUIT"));
  else
    g_assert_null (strstr (log, "C: .\nC: QUIT"));
  /* One connection, no RSET after a finished transaction. */
  g_assert_cmpuint (count_occurrences (log, "=== connect"), ==, 1);
  g_assert_null (strstr (log, "RSET"));
  g_assert_cmpuint (count_occurrences (log, "C: MAIL FROM:<from@example.test>"), ==, 2);
  g_assert_nonnull (strstr (log, "C: ..dot line"));

  /* With PIPELINING, MAIL, both RCPT and DATA arrive in one read. */
  batch = strstr (log, "C: MAIL FROM:");
  g_assert_nonnull (batch);
  if (expect_pipelining)
    {
      g_autofree char *chunk = NULL;
      const char *end = strstr (batch, "--- read");

      chunk = end ? g_strndup (batch, end - batch) : g_strdup (batch);
      g_assert_nonnull (strstr (chunk, "C: RCPT TO:<to@example.test>"));
      g_assert_nonnull (strstr (chunk, "C: RCPT TO:<cc@example.test>"));
      g_assert_nonnull (strstr (chunk, "C: DATA"));
    }
  else
    {
      g_assert_true (g_str_has_prefix (strstr (batch, "\n") + 1, "--- read"));
    }
}

static void
test_two_messages_pipelined (void)
{
  send_two (NO_ARGS, TRUE);
}

static void
test_two_messages_without_pipelining (void)
{
  const char *const args[] = { "--no-pipelining", NULL };
  send_two (args, FALSE);
}

static void
test_8bitmime_and_smtputf8 (void)
{
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", NO_ARGS);
  g_autoptr (GateSmtpClient) client = connected_client (server);
  g_autoptr (GateSmtpEnvelope) envelope = test_envelope_new ("from@example.test", "to@example.test", NULL);
  g_autoptr (GateSmtpEnvelope) intl = test_envelope_new ("from@example.test", "jörg@example.test", NULL);
  g_autoptr (GInputStream) message = test_message_stream ("Subject: 8bit\r\n\r\nGrüße\r\n");
  g_autoptr (GInputStream) message2 = test_message_stream ("Subject: intl\r\n\r\nbody\r\n");
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *meta = NULL;
  g_autofree char *meta_path = g_build_filename (server->maildir, "1.json", NULL);
  g_autofree char *log = NULL;

  gate_smtp_envelope_set_body_flags (envelope, GATE_SMTP_BODY_8BITMIME);
  result = test_run_send (client, envelope, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (meta_path, &meta, NULL, NULL));
  g_assert_nonnull (strstr (meta, "BODY=8BITMIME"));

  /* The test server does not offer SMTPUTF8: refused before MAIL. */
  g_assert_null (test_run_send (client, intl, message2, NULL, &error));
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_MESSAGE_REFUSED);
  g_assert_true (gate_smtp_client_is_connected (client));
  g_assert_true (test_run_quit (client, NULL));
  log = test_server_read_log (server);
  g_assert_cmpuint (count_occurrences (log, "MAIL FROM"), ==, 1);
}

static void
test_smtp_sink_pipelining (void)
{
  /* Postfix's smtp-sink checks the client's pipelining for real. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) probe = NULL;
  g_autoptr (GSocketAddress) any = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSubprocess) sink = NULL;
  g_autoptr (GateSmtpClient) client = NULL;
  g_autofree char *listen = NULL;
  guint16 port;
  const char *sink_path = "/usr/sbin/smtp-sink";

  if (!g_file_test (sink_path, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_fail_printf ("%s is missing (package postfix)", sink_path);
      return;
    }

  /* smtp-sink takes a port number: ask the system for a free one. */
  probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_assert_true (g_socket_bind (probe, any, FALSE, &error));
  bound = g_socket_get_local_address (probe, &error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (probe, NULL);

  listen = g_strdup_printf ("127.0.0.1:%u", port);
  /* PIPELINING is on by default in smtp-sink; "timeout" is its time limit. */
  /* As root, smtp-sink insists on dropping to another user. */
  sink = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, "timeout", "60", sink_path, "-u",
                           getuid () == 0 ? "nobody" : g_get_user_name (), "-4", listen, "10", NULL);
  g_assert_no_error (error);

  client = test_client_new ("127.0.0.1", port, GATE_SMTP_SECURITY_NONE);
  /* The sink may need a moment to listen. */
  for (guint attempt = 0;; attempt++)
    {
      g_clear_error (&error);
      if (test_run_connect (client, NULL, &error))
        break;
      g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CONNECTION_REFUSED);
      g_assert_cmpuint (attempt, <, 50);
      g_usleep (100 * 1000);
    }
  g_assert_true (
      gate_smtp_capabilities_has (gate_smtp_client_get_capabilities (client), GATE_SMTP_CAP_PIPELINING));

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (GateSmtpEnvelope) envelope
          = test_envelope_new ("from@example.test", "a@example.test", "b@example.test", NULL);
      g_autoptr (GInputStream) message = test_message_stream ("Subject: sink\r\n\r\nbody\r\n");
      g_autoptr (GateSmtpSendResult) result = test_run_send (client, envelope, message, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (gate_smtp_send_result_get_n_accepted (result), ==, 2);
    }
  g_assert_true (test_run_quit (client, &error));
  g_assert_no_error (error);

  /* "timeout" passes SIGTERM on to smtp-sink (SIGKILL would orphan it). */
  g_subprocess_send_signal (sink, SIGTERM);
  g_subprocess_wait (sink, NULL, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client/send/one-recipient-refused", test_one_recipient_refused);
  g_test_add_func ("/client/send/all-recipients-refused", test_all_recipients_refused);
  g_test_add_func ("/client/send/oversize-declared", test_oversize_declared);
  g_test_add_func ("/client/send/oversize-found-by-server", test_oversize_found_by_server);
  g_test_add_func ("/client/send/size-understated", test_size_understated);
  g_test_add_func ("/client/send/fifty-megabytes", test_fifty_megabytes);
  g_test_add_func ("/client/send/helo-only", test_helo_only);
  g_test_add_func ("/client/send/replies-on-cue", test_replies_on_cue);
  g_test_add_func ("/client/send/two-messages-pipelined", test_two_messages_pipelined);
  g_test_add_func ("/client/send/two-messages-without-pipelining", test_two_messages_without_pipelining);
  g_test_add_func ("/client/send/8bitmime-and-smtputf8", test_8bitmime_and_smtputf8);
  g_test_add_func ("/client/send/smtp-sink-pipelining", test_smtp_sink_pipelining);

  return g_test_run ();
}
