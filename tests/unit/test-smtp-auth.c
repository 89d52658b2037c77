/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "gate-smtp-auth.h"
#include "gate-smtp-error.h"

static void
assert_base64_of (const char *encoded, const char *expected, gsize expected_len)
{
  gsize len = 0;
  g_autofree guchar *decoded = g_base64_decode (encoded, &len);

  g_assert_cmpmem (decoded, len, expected, expected_len);
}

static void
test_plain (void)
{
  g_autofree char *plain = gate_smtp_auth_plain_response (NULL, "user", "pass");
  g_autofree char *with_authzid = gate_smtp_auth_plain_response ("admin", "user", "pass");
  g_autofree char *rfc4616 = gate_smtp_auth_plain_response (NULL, "tim", "tanstaaftanstaaf");

  g_assert_cmpstr (plain, ==, "AHVzZXIAcGFzcw==");
  assert_base64_of (plain, "\0user\0pass", 10);
  assert_base64_of (with_authzid, "admin\0user\0pass", 15);
  /* RFC 4616 section 4's example. */
  g_assert_cmpstr (rfc4616, ==, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
}

static void
test_plain_utf8 (void)
{
  g_autofree char *plain = gate_smtp_auth_plain_response (NULL, "j\xc3\xbcrgen", "p\xc3\xa4ss");

  assert_base64_of (plain, "\0j\xc3\xbcrgen\0p\xc3\xa4ss", 14);
}

static void
test_login (void)
{
  g_autofree char *user = gate_smtp_auth_login_response ("user@example.com");
  g_autofree char *empty = gate_smtp_auth_login_response ("");
  g_autofree char *username = gate_smtp_auth_decode_challenge ("VXNlcm5hbWU6");
  g_autofree char *password = gate_smtp_auth_decode_challenge ("UGFzc3dvcmQ6");
  g_autofree char *empty_challenge = gate_smtp_auth_decode_challenge ("");

  g_assert_cmpstr (user, ==, "dXNlckBleGFtcGxlLmNvbQ==");
  g_assert_cmpstr (empty, ==, "");
  g_assert_cmpstr (username, ==, "Username:");
  g_assert_cmpstr (password, ==, "Password:");
  g_assert_cmpstr (empty_challenge, ==, "");
}

static void
test_decode_challenge_rejects (void)
{
  g_autofree char *not_base64 = gate_smtp_auth_decode_challenge ("not base64!");
  g_autofree char *bad_length = gate_smtp_auth_decode_challenge ("VXNlcm5hbWU");
  g_autofree char *bad_padding = gate_smtp_auth_decode_challenge ("VX=lcm5hbWU6");
  g_autofree char *nul = gate_smtp_auth_decode_challenge ("AAAA");          /* three NUL bytes */
  g_autofree char *invalid_utf8 = gate_smtp_auth_decode_challenge ("/w=="); /* 0xFF */

  g_assert_null (not_base64);
  g_assert_null (bad_length);
  g_assert_null (bad_padding);
  g_assert_null (nul);
  g_assert_null (invalid_utf8);
}

static void
test_cram_md5 (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *challenge = NULL;
  g_autofree char *response = NULL;

  /* RFC 2195 section 2's example. */
  challenge = g_base64_encode ((const guchar *)"<1896.697170952@postoffice.reston.mci.net>",
                               strlen ("<1896.697170952@postoffice.reston.mci.net>"));
  g_assert_cmpstr (challenge, ==, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
  response = gate_smtp_auth_cram_md5_response ("tim", "tanstaaftanstaaf", challenge, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (response, ==, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
}

static void
test_cram_md5_bad_challenge (void)
{
  const char *bad[] = { "***", "", "abc" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *response = gate_smtp_auth_cram_md5_response ("tim", "secret", bad[i], &error);

      g_assert_null (response);
      g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_PROTOCOL);
      /* The password never shows up in what is reported. */
      g_assert_null (strstr (error->message, "secret"));
    }
}

static void
test_xoauth2 (void)
{
  g_autofree char *response = gate_smtp_auth_xoauth2_response (
      "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");

  /* The example of Google's XOAUTH2 documentation. */
  g_assert_cmpstr (
      response, ==,
      "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRH"
      "RXVZMjl0Q2cBAQ==");
}

static void
test_mechanism_names (void)
{
  g_assert_cmpstr (gate_smtp_auth_mechanism_to_string (GATE_SMTP_AUTH_PLAIN), ==, "PLAIN");
  g_assert_cmpstr (gate_smtp_auth_mechanism_to_string (GATE_SMTP_AUTH_LOGIN), ==, "LOGIN");
  g_assert_cmpstr (gate_smtp_auth_mechanism_to_string (GATE_SMTP_AUTH_CRAM_MD5), ==, "CRAM-MD5");
  g_assert_cmpstr (gate_smtp_auth_mechanism_to_string (GATE_SMTP_AUTH_XOAUTH2), ==, "XOAUTH2");
  g_assert_null (gate_smtp_auth_mechanism_to_string (GATE_SMTP_AUTH_NONE));
  g_assert_null (gate_smtp_auth_mechanism_to_string (GATE_SMTP_AUTH_AUTOMATIC));

  g_assert_cmpint (gate_smtp_auth_mechanism_from_string ("plain"), ==, GATE_SMTP_AUTH_PLAIN);
  g_assert_cmpint (gate_smtp_auth_mechanism_from_string ("Cram-MD5"), ==, GATE_SMTP_AUTH_CRAM_MD5);
  g_assert_cmpint (gate_smtp_auth_mechanism_from_string ("LOGIN"), ==, GATE_SMTP_AUTH_LOGIN);
  g_assert_cmpint (gate_smtp_auth_mechanism_from_string ("xoauth2"), ==, GATE_SMTP_AUTH_XOAUTH2);
  g_assert_cmpint (gate_smtp_auth_mechanism_from_string ("auto"), ==, GATE_SMTP_AUTH_AUTOMATIC);
  g_assert_cmpint (gate_smtp_auth_mechanism_from_string ("Automatic"), ==, GATE_SMTP_AUTH_AUTOMATIC);
  g_assert_cmpint (gate_smtp_auth_mechanism_from_string ("GSSAPI"), ==, GATE_SMTP_AUTH_NONE);
  g_assert_cmpint (gate_smtp_auth_mechanism_from_string (NULL), ==, GATE_SMTP_AUTH_NONE);
}

static GateSmtpCapabilities *
caps_with_auth (const char *auth_line)
{
  const char *lines[] = { "mx.example", auth_line, NULL };
  g_autoptr (GateSmtpReply) reply = gate_smtp_reply_new (250, lines);

  return gate_smtp_capabilities_new_from_ehlo (reply);
}

static void
test_choose (void)
{
  g_autoptr (GateSmtpCapabilities) all = caps_with_auth ("AUTH LOGIN PLAIN CRAM-MD5 XOAUTH2");
  g_autoptr (GateSmtpCapabilities) plain_login = caps_with_auth ("AUTH LOGIN PLAIN");
  g_autoptr (GateSmtpCapabilities) login = caps_with_auth ("AUTH LOGIN");
  g_autoptr (GateSmtpCapabilities) gssapi = caps_with_auth ("AUTH GSSAPI NTLM");
  g_autoptr (GateSmtpCapabilities) none = gate_smtp_capabilities_new_empty ();

  g_assert_cmpint (gate_smtp_auth_choose (all, GATE_SMTP_AUTH_AUTOMATIC, FALSE), ==, GATE_SMTP_AUTH_CRAM_MD5);
  g_assert_cmpint (gate_smtp_auth_choose (all, GATE_SMTP_AUTH_AUTOMATIC, TRUE), ==, GATE_SMTP_AUTH_CRAM_MD5);
  g_assert_cmpint (gate_smtp_auth_choose (all, GATE_SMTP_AUTH_AUTOMATIC | GATE_SMTP_AUTH_XOAUTH2, TRUE), ==,
                   GATE_SMTP_AUTH_XOAUTH2);
  g_assert_cmpint (gate_smtp_auth_choose (all, GATE_SMTP_AUTH_AUTOMATIC | GATE_SMTP_AUTH_XOAUTH2, FALSE), ==,
                   GATE_SMTP_AUTH_CRAM_MD5);
  g_assert_cmpint (gate_smtp_auth_choose (all, GATE_SMTP_AUTH_LOGIN, FALSE), ==, GATE_SMTP_AUTH_LOGIN);
  g_assert_cmpint (gate_smtp_auth_choose (plain_login, GATE_SMTP_AUTH_AUTOMATIC, FALSE), ==,
                   GATE_SMTP_AUTH_PLAIN);
  g_assert_cmpint (gate_smtp_auth_choose (login, GATE_SMTP_AUTH_AUTOMATIC, FALSE), ==, GATE_SMTP_AUTH_LOGIN);
  g_assert_cmpint (gate_smtp_auth_choose (login, GATE_SMTP_AUTH_PLAIN, FALSE), ==, GATE_SMTP_AUTH_NONE);
  g_assert_cmpint (gate_smtp_auth_choose (gssapi, GATE_SMTP_AUTH_AUTOMATIC, FALSE), ==, GATE_SMTP_AUTH_NONE);
  g_assert_cmpint (gate_smtp_auth_choose (none, GATE_SMTP_AUTH_AUTOMATIC, FALSE), ==, GATE_SMTP_AUTH_NONE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/smtp-auth/plain", test_plain);
  g_test_add_func ("/smtp-auth/plain-utf8", test_plain_utf8);
  g_test_add_func ("/smtp-auth/login", test_login);
  g_test_add_func ("/smtp-auth/decode-challenge-rejects", test_decode_challenge_rejects);
  g_test_add_func ("/smtp-auth/cram-md5", test_cram_md5);
  g_test_add_func ("/smtp-auth/cram-md5-bad-challenge", test_cram_md5_bad_challenge);
  g_test_add_func ("/smtp-auth/xoauth2", test_xoauth2);
  g_test_add_func ("/smtp-auth/mechanism-names", test_mechanism_names);
  g_test_add_func ("/smtp-auth/choose", test_choose);

  return g_test_run ();
}
