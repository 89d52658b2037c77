/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "gate-smtp-capabilities.h"

static GateSmtpCapabilities *
caps_from (const char *const *lines)
{
  g_autoptr (GateSmtpReply) reply = gate_smtp_reply_new (250, lines);

  return gate_smtp_capabilities_new_from_ehlo (reply);
}

static void
test_typical (void)
{
  const char *lines[] = { "mail.example.com Hello client [127.0.0.1]",
                          "SIZE 52428800",
                          "8BITMIME",
                          "PIPELINING",
                          "SMTPUTF8",
                          "ENHANCEDSTATUSCODES",
                          "CHUNKING",
                          "DSN",
                          "STARTTLS",
                          "AUTH PLAIN LOGIN CRAM-MD5",
                          "HELP",
                          NULL };
  g_autoptr (GateSmtpCapabilities) caps = caps_from (lines);
  const char *const *mechs = gate_smtp_capabilities_get_auth_mechanisms (caps);

  g_assert_cmpstr (gate_smtp_capabilities_get_server_name (caps), ==, "mail.example.com");
  g_assert_cmpuint (gate_smtp_capabilities_get_flags (caps), ==,
                    GATE_SMTP_CAP_SIZE | GATE_SMTP_CAP_PIPELINING | GATE_SMTP_CAP_8BITMIME
                        | GATE_SMTP_CAP_SMTPUTF8 | GATE_SMTP_CAP_ENHANCEDSTATUSCODES | GATE_SMTP_CAP_AUTH
                        | GATE_SMTP_CAP_STARTTLS | GATE_SMTP_CAP_CHUNKING | GATE_SMTP_CAP_DSN);
  g_assert_cmpuint (gate_smtp_capabilities_get_size_limit (caps), ==, 52428800);
  g_assert_cmpuint (g_strv_length ((char **)mechs), ==, 3);
  g_assert_cmpstr (mechs[0], ==, "PLAIN");
  g_assert_cmpstr (mechs[1], ==, "LOGIN");
  g_assert_cmpstr (mechs[2], ==, "CRAM-MD5");
  g_assert_true (gate_smtp_capabilities_has_auth_mechanism (caps, "cram-md5"));
  g_assert_false (gate_smtp_capabilities_has_auth_mechanism (caps, "XOAUTH2"));
  g_assert_true (gate_smtp_capabilities_has (caps, GATE_SMTP_CAP_PIPELINING | GATE_SMTP_CAP_SIZE));
}

static void
test_size_without_number (void)
{
  const char *bare[] = { "mx", "SIZE", NULL };
  const char *bad[] = { "mx", "SIZE lots", NULL };
  const char *negative[] = { "mx", "SIZE -5", NULL };
  const char *zero[] = { "mx", "SIZE 0", NULL };
  g_autoptr (GateSmtpCapabilities) a = caps_from (bare);
  g_autoptr (GateSmtpCapabilities) b = caps_from (bad);
  g_autoptr (GateSmtpCapabilities) c = caps_from (negative);
  g_autoptr (GateSmtpCapabilities) d = caps_from (zero);

  g_assert_true (gate_smtp_capabilities_has (a, GATE_SMTP_CAP_SIZE));
  g_assert_cmpuint (gate_smtp_capabilities_get_size_limit (a), ==, 0);
  g_assert_true (gate_smtp_capabilities_has (b, GATE_SMTP_CAP_SIZE));
  g_assert_cmpuint (gate_smtp_capabilities_get_size_limit (b), ==, 0);
  g_assert_true (gate_smtp_capabilities_has (c, GATE_SMTP_CAP_SIZE));
  g_assert_cmpuint (gate_smtp_capabilities_get_size_limit (c), ==, 0);
  g_assert_cmpuint (gate_smtp_capabilities_get_size_limit (d), ==, 0);
}

static void
test_legacy_auth (void)
{
  const char *lines[] = { "old.example.org", "AUTH=LOGIN PLAIN", "AUTH LOGIN", NULL };
  g_autoptr (GateSmtpCapabilities) caps = caps_from (lines);
  const char *const *mechs = gate_smtp_capabilities_get_auth_mechanisms (caps);

  g_assert_true (gate_smtp_capabilities_has (caps, GATE_SMTP_CAP_AUTH));
  g_assert_cmpuint (g_strv_length ((char **)mechs), ==, 2);
  g_assert_cmpstr (mechs[0], ==, "LOGIN");
  g_assert_cmpstr (mechs[1], ==, "PLAIN");
}

static void
test_mixed_case_and_duplicates (void)
{
  const char *lines[] = {
    "Mixed.Example", "auth plain Login", "Auth PLAIN cram-md5", "pipelining", "Size 1000", "StartTLS", NULL
  };
  g_autoptr (GateSmtpCapabilities) caps = caps_from (lines);
  const char *const *mechs = gate_smtp_capabilities_get_auth_mechanisms (caps);

  g_assert_cmpstr (gate_smtp_capabilities_get_server_name (caps), ==, "Mixed.Example");
  g_assert_cmpuint (g_strv_length ((char **)mechs), ==, 3);
  g_assert_cmpstr (mechs[0], ==, "PLAIN");
  g_assert_cmpstr (mechs[1], ==, "LOGIN");
  g_assert_cmpstr (mechs[2], ==, "CRAM-MD5");
  g_assert_true (gate_smtp_capabilities_has (caps, GATE_SMTP_CAP_PIPELINING));
  g_assert_true (gate_smtp_capabilities_has (caps, GATE_SMTP_CAP_STARTTLS));
  g_assert_cmpuint (gate_smtp_capabilities_get_size_limit (caps), ==, 1000);
}

static void
test_greeting_only (void)
{
  const char *lines[] = { "tiny.example", NULL };
  g_autoptr (GateSmtpCapabilities) caps = caps_from (lines);
  g_autoptr (GateSmtpCapabilities) empty = gate_smtp_capabilities_new_empty ();

  g_assert_cmpuint (gate_smtp_capabilities_get_flags (caps), ==, GATE_SMTP_CAP_NONE);
  g_assert_nonnull (gate_smtp_capabilities_get_auth_mechanisms (caps));
  g_assert_null (gate_smtp_capabilities_get_auth_mechanisms (caps)[0]);
  g_assert_cmpuint (gate_smtp_capabilities_get_flags (empty), ==, GATE_SMTP_CAP_NONE);
  g_assert_null (gate_smtp_capabilities_get_auth_mechanisms (empty)[0]);
  g_assert_false (gate_smtp_capabilities_has (empty, GATE_SMTP_CAP_STARTTLS));
}

static void
test_unknown_and_odd_keywords (void)
{
  /* The keyword must match exactly: "STARTTLSX" or "X-PIPELINING" are not
   * what they look like, and "8BITMIME=yes" is not the '=' form of anything. */
  const char *lines[]
      = { "odd", "STARTTLSX", "X-PIPELINING", "8BITMIME=yes", "", "  ", "XCLIENT NAME ADDR", NULL };
  g_autoptr (GateSmtpCapabilities) caps = caps_from (lines);

  g_assert_cmpuint (gate_smtp_capabilities_get_flags (caps), ==, GATE_SMTP_CAP_NONE);
}

static void
test_auth_without_mechanisms (void)
{
  const char *lines[] = { "mx", "AUTH", NULL };
  g_autoptr (GateSmtpCapabilities) caps = caps_from (lines);

  g_assert_true (gate_smtp_capabilities_has (caps, GATE_SMTP_CAP_AUTH));
  g_assert_null (gate_smtp_capabilities_get_auth_mechanisms (caps)[0]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/smtp-capabilities/typical", test_typical);
  g_test_add_func ("/smtp-capabilities/size-without-number", test_size_without_number);
  g_test_add_func ("/smtp-capabilities/legacy-auth", test_legacy_auth);
  g_test_add_func ("/smtp-capabilities/mixed-case-duplicates", test_mixed_case_and_duplicates);
  g_test_add_func ("/smtp-capabilities/greeting-only", test_greeting_only);
  g_test_add_func ("/smtp-capabilities/unknown-keywords", test_unknown_and_odd_keywords);
  g_test_add_func ("/smtp-capabilities/auth-without-mechanisms", test_auth_without_mechanisms);

  return g_test_run ();
}
