/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Every AUTH mechanism against aiosmtpd inside STARTTLS, wrong credentials,
 * and the choice of mechanism. */
#include "config.h"

#include <string.h>

#include "client-test-util.h"

static TestServer *
start_auth_server (const char *mechanisms)
{
  g_autofree char *pem = test_cert_path ("localhost.pem");
  g_autofree char *key = test_cert_path ("localhost.key");
  const char *const args[]
      = { "--tls-mode",         "starttls",           "--cert",          pem,      "--key",    key,
          "--require-starttls", "--auth-require-tls", "--auth-required", "--auth", mechanisms, NULL };

  return test_server_start ("smtp-test-server.py", args);
}

static GateSmtpClient *
new_client (TestServer *server)
{
  GateSmtpClient *client = test_client_new ("127.0.0.1", server->port, GATE_SMTP_SECURITY_STARTTLS);
  g_autofree char *ca = test_cert_path ("ca.pem");

  gate_smtp_client_set_ca_file (client, ca);
  return client;
}

static void
assert_signs_in_and_sends (GateSmtpClient *client, TestServer *server, GateSmtpAuthMechanism expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSmtpEnvelope) envelope = test_envelope_new ("a@example.test", "b@example.test", NULL);
  g_autoptr (GInputStream) message = test_message_stream ("Subject: auth\r\n\r\nbody\r\n");
  g_autoptr (GateSmtpSendResult) result = NULL;
  g_autoptr (GBytes) stored = NULL;

  g_assert_true (test_run_connect (client, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gate_smtp_client_get_auth_mechanism_used (client), ==, expected);

  result = test_run_send (client, envelope, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_true (test_run_quit (client, &error));
  g_assert_no_error (error);

  stored = test_server_read_message (server, 1);
  g_assert_nonnull (stored);
  test_assert_no_secrets (client);
}

static void
test_plain (void)
{
  g_autoptr (TestServer) server = start_auth_server ("PLAIN");
  g_autoptr (GateSmtpClient) client = new_client (server);

  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  assert_signs_in_and_sends (client, server, GATE_SMTP_AUTH_PLAIN);
  g_assert_nonnull (strstr (test_transcript_text (client), "~> AUTH PLAIN ********\n"));
}

static void
test_login (void)
{
  g_autoptr (TestServer) server = start_auth_server ("LOGIN");
  g_autoptr (GateSmtpClient) client = new_client (server);
  const char *text;

  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  assert_signs_in_and_sends (client, server, GATE_SMTP_AUTH_LOGIN);
  text = test_transcript_text (client);
  g_assert_nonnull (strstr (text, "~> AUTH LOGIN\n"));
  /* Both answers hidden. */
  g_assert_nonnull (strstr (strstr (text, "~> ********\n") + 1, "~> ********\n"));
}

static void
test_cram_md5 (void)
{
  g_autoptr (TestServer) server = start_auth_server ("CRAM-MD5");
  g_autoptr (GateSmtpClient) client = new_client (server);

  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  assert_signs_in_and_sends (client, server, GATE_SMTP_AUTH_CRAM_MD5);
  g_assert_nonnull (strstr (test_transcript_text (client), "~> AUTH CRAM-MD5\n"));
  g_assert_nonnull (strstr (test_transcript_text (client), "~> ********\n"));
}

static void
test_xoauth2 (void)
{
  g_autoptr (TestServer) server = start_auth_server ("PLAIN XOAUTH2");
  g_autoptr (GateSmtpClient) client = new_client (server);

  gate_smtp_client_set_oauth_token (client, TEST_USER, TEST_TOKEN);
  assert_signs_in_and_sends (client, server, GATE_SMTP_AUTH_XOAUTH2);
  g_assert_nonnull (strstr (test_transcript_text (client), "~> AUTH XOAUTH2 ********\n"));
}

static void
test_xoauth2_refused (void)
{
  g_autoptr (TestServer) server = start_auth_server ("XOAUTH2");
  g_autoptr (GateSmtpClient) client = new_client (server);
  g_autoptr (GError) error = NULL;

  gate_smtp_client_set_oauth_token (client, TEST_USER, "ya29.expired-token");
  g_assert_false (test_run_connect (client, NULL, &error));
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_AUTH_FAILED);
  g_assert_cmpuint (gate_smtp_reply_get_code (gate_smtp_error_get_reply (error)), ==, 535);
  g_assert_nonnull (strstr (test_transcript_text (client), "<~ 334 "));
  g_assert_null (strstr (test_transcript_text (client), "expired-token"));
  test_assert_no_secrets (client);
}

static void
test_strongest_offered (void)
{
  g_autoptr (TestServer) server = start_auth_server ("PLAIN LOGIN CRAM-MD5");
  g_autoptr (GateSmtpClient) client = new_client (server);
  g_autoptr (GateSmtpClient) only_login = new_client (server);
  g_autoptr (GError) error = NULL;

  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  g_assert_true (test_run_connect (client, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gate_smtp_client_get_auth_mechanism_used (client), ==, GATE_SMTP_AUTH_CRAM_MD5);
  gate_smtp_client_close (client);
  test_assert_no_secrets (client);

  /* The caller's choice limits it. */
  gate_smtp_client_set_credentials (only_login, TEST_USER, TEST_PASSWORD);
  gate_smtp_client_set_auth_mechanisms (only_login, GATE_SMTP_AUTH_LOGIN);
  g_assert_true (test_run_connect (only_login, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gate_smtp_client_get_auth_mechanism_used (only_login), ==, GATE_SMTP_AUTH_LOGIN);
  test_assert_no_secrets (only_login);
}

static void
test_no_usable_mechanism (void)
{
  g_autoptr (TestServer) server = start_auth_server ("LOGIN");
  g_autoptr (GateSmtpClient) client = new_client (server);
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;

  gate_smtp_client_set_credentials (client, TEST_USER, TEST_PASSWORD);
  gate_smtp_client_set_auth_mechanisms (client, GATE_SMTP_AUTH_CRAM_MD5);
  g_assert_false (test_run_connect (client, NULL, &error));
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_NO_AUTH_MECHANISM);
  log = test_server_read_log (server);
  g_assert_null (strstr (log, "AUTH"));
  test_assert_no_secrets (client);
}

static void
assert_wrong_password (const char *mechanism)
{
  g_autoptr (TestServer) server = start_auth_server (mechanism);
  g_autoptr (GateSmtpClient) client = new_client (server);
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;

  gate_smtp_client_set_credentials (client, TEST_USER, "wrong-" TEST_PASSWORD);
  g_assert_false (test_run_connect (client, NULL, &error));
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_AUTH_FAILED);
  g_assert_false (gate_smtp_error_is_temporary (error));
  g_assert_cmpint (gate_smtp_error_get_stage (error), ==, GATE_SMTP_STAGE_AUTH);
  g_assert_cmpuint (gate_smtp_reply_get_code (gate_smtp_error_get_reply (error)), ==, 535);
  g_assert_nonnull (gate_smtp_error_get_next_step (error));
  g_assert_false (gate_smtp_client_is_connected (client));
  g_assert_null (strstr (test_transcript_text (client), "wrong-"));
  test_assert_no_secrets (client);

  log = test_server_read_log (server);
  g_assert_null (strstr (log, "MAIL"));
}

static void
test_wrong_password (void)
{
  assert_wrong_password ("PLAIN");
  assert_wrong_password ("LOGIN");
  assert_wrong_password ("CRAM-MD5");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client/auth/plain", test_plain);
  g_test_add_func ("/client/auth/login", test_login);
  g_test_add_func ("/client/auth/cram-md5", test_cram_md5);
  g_test_add_func ("/client/auth/xoauth2", test_xoauth2);
  g_test_add_func ("/client/auth/xoauth2-refused", test_xoauth2_refused);
  g_test_add_func ("/client/auth/strongest-offered", test_strongest_offered);
  g_test_add_func ("/client/auth/no-usable-mechanism", test_no_usable_mechanism);
  g_test_add_func ("/client/auth/wrong-password", test_wrong_password);

  return g_test_run ();
}
