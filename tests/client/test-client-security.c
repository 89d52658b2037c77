/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The client against real servers on loopback: security modes, certificates,
 * IPv6, and credentials in clear. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "client-test-util.h"

static const char *const NO_ARGS[] = { NULL };

static GateSmtpSendResult *
send_simple (GateSmtpClient *client, GError **error)
{
  g_autoptr (GateSmtpEnvelope) envelope
      = test_envelope_new ("sender@example.test", "rcpt@example.test", NULL);
  g_autoptr (GInputStream) message = test_message_stream ("Subject: hello\r\n\r\nHello there.\r\n");

  return test_run_send (client, envelope, message, NULL, error);
}

/* Connects, sends one message, quits, and checks the server stored it. */
static void
assert_round_trip (GateSmtpClient *client, TestServer *server)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GBytes) stored = NULL;

  g_assert_true (test_run_connect (client, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (gate_smtp_client_is_connected (client));
  g_assert_cmpint (gate_smtp_client_get_stage (client), ==, GATE_SMTP_STAGE_DONE);

  result = send_simple (client, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpuint (gate_smtp_send_result_get_n_accepted (result), ==, 1);
  g_assert_cmpuint (gate_smtp_reply_get_code (gate_smtp_send_result_get_final_reply (result)), ==, 250);

  g_assert_true (test_run_quit (client, &error));
  g_assert_no_error (error);
  g_assert_false (gate_smtp_client_is_connected (client));

  stored = test_server_read_message (server, 1);
  g_assert_nonnull (stored);
  g_assert_cmpmem (g_bytes_get_data (stored, NULL), g_bytes_get_size (stored),
                   "Subject: hello\r\n\r\nHello there.\r\n",
                   strlen ("Subject: hello\r\n\r\nHello there.\r\n"));
  test_assert_no_secrets (client);
}

static void
test_security_none (void)
{
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", NO_ARGS);
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);

  assert_round_trip (client, server);
  g_assert_null (gate_smtp_client_get_tls_info (client));
  g_assert_nonnull (strstr (test_transcript_text (client), "-> EHLO "));
  g_assert_nonnull (strstr (test_transcript_text (client), "<- 250"));
  g_assert_nonnull (strstr (test_transcript_text (client), "[message content: "));
  /* The content itself is not echoed. */
  g_assert_null (strstr (test_transcript_text (client), "Hello there."));
}

static TestServer *
start_tls_server (const char *mode, const char *cert, const char *const *extra)
{
  g_autofree char *pem = g_strdup_printf ("%s.pem", cert);
  g_autofree char *key = g_strdup_printf ("%s.key", cert);
  g_autofree char *pem_path = test_cert_path (pem);
  g_autofree char *key_path = test_cert_path (key);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();

  g_ptr_array_add (args, (gpointer) "--tls-mode");
  g_ptr_array_add (args, (gpointer)mode);
  g_ptr_array_add (args, (gpointer) "--cert");
  g_ptr_array_add (args, pem_path);
  g_ptr_array_add (args, (gpointer) "--key");
  g_ptr_array_add (args, key_path);
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer)extra[i]);
  g_ptr_array_add (args, NULL);
  return test_server_start ("smtp-test-server.py", (const char *const *)args->pdata);
}

static void
test_starttls_with_auth (void)
{
  const char *const extra[] = { "--require-starttls", "--auth", "PLAIN", "--auth-require-tls", NULL };
  g_autoptr (TestServer) server = start_tls_server ("starttls", "localhost", extra);
  g_autoptr (GateSmtpClient) client
      = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_STARTTLS);
  g_autofree char *ca = test_cert_path ("ca.pem");
  g_autofree char *log = NULL;
  GateTlsInfo *info;
  const char *text;

  gate_smtp_client_set_ca_file (client, ca);
  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  assert_round_trip (client, server);

  info = gate_smtp_client_get_tls_info (client);
  g_assert_nonnull (info);
  g_assert_nonnull (gate_tls_info_get_protocol (info));
  g_assert_nonnull (strstr (gate_tls_info_get_subject (info), "localhost"));
  g_assert_false (gate_tls_info_is_self_signed (info));
  g_assert_cmpint (gate_smtp_client_get_auth_mechanism_used (client), ==, GATE_SMTP_AUTH_PLAIN);

  text = test_transcript_text (client);
  g_assert_nonnull (strstr (text, "-> STARTTLS"));
  g_assert_nonnull (strstr (text, "~> AUTH PLAIN ********"));
  g_assert_nonnull (strstr (text, "SHA-256 fingerprint: "));
  /* EHLO again inside TLS. */
  g_assert_nonnull (strstr (text, "~> EHLO "));

  /* Nothing but EHLO and STARTTLS went in clear. */
  log = test_server_read_log (server);
  g_assert_nonnull (strstr (log, "C: STARTTLS"));
  g_assert_nonnull (strstr (log, "T: AUTH PLAIN"));
  g_assert_null (strstr (log, "C: AUTH"));
  g_assert_null (strstr (log, "C: MAIL"));
}

static void
test_implicit_tls_by_name (void)
{
  g_autoptr (TestServer) server = start_tls_server ("implicit", "localhost", NULL);
  /* By name: "localhost" may be ::1 first, where nothing listens. */
  g_autoptr (GateSmtpClient) client = test_client_new ("localhost", server->port, GATE_SMTP_SECURITY_TLS);
  g_autofree char *ca = test_cert_path ("ca.pem");
  g_autofree char *log = NULL;

  gate_smtp_client_set_ca_file (client, ca);
  assert_round_trip (client, server);
  g_assert_nonnull (gate_smtp_client_get_tls_info (client));
  g_assert_nonnull (strstr (test_transcript_text (client), "<~ 220"));

  log = test_server_read_log (server);
  g_assert_null (strstr (log, "C: "));
  g_assert_nonnull (strstr (log, "T: MAIL FROM:<sender@example.test>"));
}

/* A CA file named relative to the working folder still works: the client
 * keeps it as an absolute path, which GIO's trust store needs. */
static void
test_ca_file_relative_path (void)
{
  g_autoptr (TestServer) server = start_tls_server ("implicit", "localhost", NULL);
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_TLS);
  g_autofree char *previous = g_get_current_dir ();
  g_autofree char *stored = NULL;

  g_assert_cmpint (g_chdir (test_certs_dir ()), ==, 0);
  gate_smtp_client_set_ca_file (client, "ca.pem");
  g_assert_cmpint (g_chdir (previous), ==, 0);

  g_object_get (client, "ca-file", &stored, NULL);
  g_assert_true (g_path_is_absolute (stored));
  assert_round_trip (client, server);
}

static void
test_starttls_not_offered (void)
{
  const char *const args[] = { "--auth", "PLAIN LOGIN", NULL };
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", args);
  g_autoptr (GateSmtpClient) client
      = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_STARTTLS);
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;

  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  gate_smtp_client_set_allow_plain_auth (client, TRUE); /* even so */
  g_assert_false (test_run_connect (client, NULL, &error));
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_STARTTLS_NOT_OFFERED);
  g_assert_false (gate_smtp_client_is_connected (client));
  test_assert_no_secrets (client);
  g_assert_nonnull (strstr (test_transcript_text (client), "*** "));

  log = test_server_read_log (server);
  g_assert_nonnull (strstr (log, "C: EHLO"));
  g_assert_null (strstr (log, "AUTH"));
  g_assert_null (strstr (log, "MAIL"));
}

static void
test_hostile_no_starttls (void)
{
  const char *const args[] = { "--behaviour", "no-starttls-offered", NULL };
  g_autoptr (TestServer) server = test_server_start ("hostile-server.py", args);
  g_autoptr (GateSmtpClient) client
      = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_STARTTLS);
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;

  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  g_assert_false (test_run_connect (client, NULL, &error));
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_STARTTLS_NOT_OFFERED);
  log = test_server_read_log (server);
  g_assert_null (strstr (log, "AUTH"));
  g_assert_null (strstr (log, TEST_PASSWORD));
}

static void
assert_certificate_refused (const char *cert, gboolean with_ca, const char *host,
                            GateCertificateProblem expected)
{
  g_autoptr (TestServer) server = start_tls_server ("implicit", cert, NULL);
  g_autoptr (GateSmtpClient) client = test_client_new (host, server->port, GATE_SMTP_SECURITY_TLS);
  g_autoptr (GError) error = NULL;
  g_autofree char *pem_name = g_strdup_printf ("%s.pem", cert);
  g_autofree char *pem = test_cert_path (pem_name);
  g_autoptr (GTlsCertificate) certificate = g_tls_certificate_new_from_file (pem, NULL);
  g_autofree char *fingerprint = gate_tls_certificate_fingerprint (certificate);
  g_autofree char *log = NULL;

  if (with_ca)
    {
      g_autofree char *ca = test_cert_path ("ca.pem");
      gate_smtp_client_set_ca_file (client, ca);
    }
  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);

  g_assert_false (test_run_connect (client, NULL, &error));
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED);
  g_assert_cmpint (gate_smtp_error_get_certificate_problem (error), ==, expected);
  g_assert_cmpstr (gate_smtp_error_get_certificate_fingerprint (error), ==, fingerprint);
  g_assert_cmpint (gate_smtp_error_get_stage (error), ==, GATE_SMTP_STAGE_TLS);
  g_assert_false (gate_smtp_client_is_connected (client));
  test_assert_no_secrets (client);

  /* Nothing was sent over the refused session. */
  log = test_server_read_log (server);
  g_assert_null (strstr (log, "T: "));
}

static void
test_certificate_wrong_host (void)
{
  assert_certificate_refused ("wronghost", TRUE, "127.0.0.1", GATE_CERTIFICATE_PROBLEM_WRONG_HOST);
  assert_certificate_refused ("wronghost", FALSE, "127.0.0.1", GATE_CERTIFICATE_PROBLEM_WRONG_HOST);
}

static void
test_certificate_self_signed (void)
{
  assert_certificate_refused ("selfsigned", FALSE, "127.0.0.1", GATE_CERTIFICATE_PROBLEM_SELF_SIGNED);
  /* Another authority's file does not help it. */
  assert_certificate_refused ("selfsigned", TRUE, "127.0.0.1", GATE_CERTIFICATE_PROBLEM_SELF_SIGNED);
}

static void
test_certificate_unknown_issuer (void)
{
  assert_certificate_refused ("localhost", FALSE, "127.0.0.1", GATE_CERTIFICATE_PROBLEM_UNKNOWN_ISSUER);
}

static void
test_certificate_expired (void)
{
  assert_certificate_refused ("expired", TRUE, "127.0.0.1", GATE_CERTIFICATE_PROBLEM_EXPIRED);
}

static void
test_certificate_pinned (void)
{
  g_autoptr (TestServer) server = start_tls_server ("starttls", "selfsigned", NULL);
  g_autoptr (GateSmtpClient) client
      = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_STARTTLS);
  g_autofree char *pem = test_cert_path ("selfsigned.pem");
  g_autoptr (GTlsCertificate) certificate = g_tls_certificate_new_from_file (pem, NULL);
  g_autofree char *fingerprint = gate_tls_certificate_fingerprint (certificate);
  g_autofree char *lower = g_ascii_strdown (fingerprint, -1);
  GateTlsInfo *info;

  /* Any case, with or without colons. */
  gate_smtp_client_set_pinned_fingerprint (client, lower);
  assert_round_trip (client, server);
  info = gate_smtp_client_get_tls_info (client);
  g_assert_nonnull (info);
  g_assert_true (gate_tls_info_is_self_signed (info));
  g_assert_cmpstr (gate_tls_info_get_fingerprint (info), ==, fingerprint);
  g_assert_nonnull (strstr (test_transcript_text (client), "pinned"));
}

static void
test_certificate_pin_mismatch (void)
{
  g_autoptr (TestServer) server = start_tls_server ("implicit", "selfsigned", NULL);
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_TLS);
  g_autoptr (GError) error = NULL;

  gate_smtp_client_set_pinned_fingerprint (
      client, "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF");
  g_assert_false (test_run_connect (client, NULL, &error));
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED);
  g_assert_cmpint (gate_smtp_error_get_certificate_problem (error), ==,
                   GATE_CERTIFICATE_PROBLEM_PIN_MISMATCH);
}

static void
test_pin_does_not_weaken (void)
{
  /* A pin for another certificate leaves normal validation in place: the
   * CA-signed certificate still passes with its authority. */
  g_autoptr (TestServer) server = start_tls_server ("implicit", "localhost", NULL);
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_TLS);
  g_autofree char *ca = test_cert_path ("ca.pem");

  gate_smtp_client_set_ca_file (client, ca);
  gate_smtp_client_set_pinned_fingerprint (
      client, "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF");
  assert_round_trip (client, server);
}

static void
test_ipv6 (void)
{
  const char *const extra[] = { "--ipv6", NULL };
  g_autoptr (TestServer) server = start_tls_server ("starttls", "localhost", extra);
  g_autoptr (GateSmtpClient) client = test_client_new ("::1", server->port, GATE_SMTP_SECURITY_STARTTLS);
  g_autofree char *ca = test_cert_path ("ca.pem");

  gate_smtp_client_set_ca_file (client, ca);
  assert_round_trip (client, server);
  g_assert_nonnull (strstr (test_transcript_text (client), "(::1)"));
}

static void
test_plain_auth_refused (void)
{
  const char *const args[] = { "--auth", "PLAIN", NULL };
  g_autoptr (TestServer) server = test_server_start ("smtp-test-server.py", args);
  g_autoptr (GateSmtpClient) client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GateSmtpClient) allowed = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_NONE);
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;

  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  g_assert_false (test_run_connect (client, NULL, &error));
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_PLAIN_AUTH_REFUSED);
  test_assert_no_secrets (client);
  log = test_server_read_log (server);
  g_assert_null (strstr (log, "AUTH"));

  /* When the profile says so, it signs in without TLS. */
  gate_smtp_client_set_credentials (allowed, TEST_USER, TEST_PASSWORD);
  gate_smtp_client_set_allow_plain_auth (allowed, TRUE);
  assert_round_trip (allowed, server);
  g_assert_cmpint (gate_smtp_client_get_auth_mechanism_used (allowed), ==, GATE_SMTP_AUTH_PLAIN);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client/security/none", test_security_none);
  g_test_add_func ("/client/security/starttls-auth", test_starttls_with_auth);
  g_test_add_func ("/client/security/implicit-tls-by-name", test_implicit_tls_by_name);
  g_test_add_func ("/client/security/ca-file-relative-path", test_ca_file_relative_path);
  g_test_add_func ("/client/security/starttls-not-offered", test_starttls_not_offered);
  g_test_add_func ("/client/security/hostile-no-starttls", test_hostile_no_starttls);
  g_test_add_func ("/client/security/certificate-wrong-host", test_certificate_wrong_host);
  g_test_add_func ("/client/security/certificate-self-signed", test_certificate_self_signed);
  g_test_add_func ("/client/security/certificate-unknown-issuer", test_certificate_unknown_issuer);
  g_test_add_func ("/client/security/certificate-expired", test_certificate_expired);
  g_test_add_func ("/client/security/certificate-pinned", test_certificate_pinned);
  g_test_add_func ("/client/security/certificate-pin-mismatch", test_certificate_pin_mismatch);
  g_test_add_func ("/client/security/pin-does-not-weaken", test_pin_does_not_weaken);
  g_test_add_func ("/client/security/ipv6", test_ipv6);
  g_test_add_func ("/client/security/plain-auth-refused", test_plain_auth_refused);

  return g_test_run ();
}
