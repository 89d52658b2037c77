/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "gate-smtp-error.h"

static GateSmtpReply *
reply_new (guint code, const char *text)
{
  const char *lines[] = { text, NULL };

  return gate_smtp_reply_new (code, lines);
}

static void
assert_explained (const GError *error)
{
  const char *next = gate_smtp_error_get_next_step (error);

  g_assert_nonnull (error->message);
  g_assert_cmpstr (error->message, !=, "");
  g_assert_nonnull (next);
  g_assert_cmpstr (next, !=, "");
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_true (g_utf8_validate (next, -1, NULL));
}

static void
test_every_code_explained (void)
{
  for (int code = GATE_SMTP_ERROR_NAME_NOT_FOUND; code <= GATE_SMTP_ERROR_INVALID_INPUT; code++)
    {
      GateSmtpErrorContext ctx
          = { .stage = GATE_SMTP_STAGE_CONNECT, .host = "mail.example.com", .port = 587 };
      g_autoptr (GError) error = gate_smtp_error_new (code, &ctx);
      g_autoptr (GError) bare = gate_smtp_error_new (code, NULL);
      /* Errors made without the helper get a next step too. */
      g_autoptr (GError) plain = g_error_new_literal (GATE_SMTP_ERROR, code, "x");

      g_assert_error (error, GATE_SMTP_ERROR, code);
      assert_explained (error);
      assert_explained (bare);
      g_assert_nonnull (gate_smtp_error_get_next_step (plain));
      g_assert_cmpint (gate_smtp_error_get_stage (error), ==, GATE_SMTP_STAGE_CONNECT);
    }
}

static void
test_timeout_port_25 (void)
{
  GateSmtpErrorContext ctx = { .stage = GATE_SMTP_STAGE_CONNECT, .host = "mail.smtp2go.com", .port = 25 };
  g_autoptr (GError) error = gate_smtp_error_new (GATE_SMTP_ERROR_TIMED_OUT, &ctx);

  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_TIMED_OUT);
  g_assert_cmpuint (gate_smtp_error_get_suggested_port (error), ==, 2525);
  g_assert_nonnull (strstr (gate_smtp_error_get_next_step (error), "port 25"));
  g_assert_nonnull (strstr (gate_smtp_error_get_next_step (error), "2525"));
  g_assert_true (gate_smtp_error_is_temporary (error));
}

static void
test_timeout_other_port (void)
{
  GateSmtpErrorContext ctx = { .stage = GATE_SMTP_STAGE_CONNECT, .host = "mx", .port = 2525 };
  GateSmtpErrorContext late = { .stage = GATE_SMTP_STAGE_DATA, .host = "mx", .port = 25 };
  g_autoptr (GError) error = gate_smtp_error_new (GATE_SMTP_ERROR_TIMED_OUT, &ctx);
  g_autoptr (GError) late_error = gate_smtp_error_new (GATE_SMTP_ERROR_TIMED_OUT, &late);

  g_assert_cmpuint (gate_smtp_error_get_suggested_port (error), !=, 2525);
  g_assert_cmpuint (gate_smtp_error_get_suggested_port (error), !=, 0);
  /* A time-out after the conversation began is not a blocked port. */
  g_assert_cmpuint (gate_smtp_error_get_suggested_port (late_error), ==, 0);
  g_assert_true (gate_smtp_error_is_temporary (late_error));
}

static void
test_auth_failed (void)
{
  g_autoptr (GateSmtpReply) reply = reply_new (535, "5.7.8 Authentication credentials invalid");
  GateSmtpErrorContext smtp2go
      = { .stage = GATE_SMTP_STAGE_AUTH, .host = "mail.smtp2go.com", .port = 2525, .reply = reply };
  GateSmtpErrorContext other
      = { .stage = GATE_SMTP_STAGE_AUTH, .host = "smtp.example.net", .port = 587, .reply = reply };
  g_autoptr (GError) error = gate_smtp_error_new (GATE_SMTP_ERROR_AUTH_FAILED, &smtp2go);
  g_autoptr (GError) other_error = gate_smtp_error_new (GATE_SMTP_ERROR_AUTH_FAILED, &other);

  g_assert_cmpstr (error->message, ==, "The username or password is wrong.");
  g_assert_cmpstr (gate_smtp_error_get_next_step (error), ==, "Check SMTP Users in your SMTP2GO dashboard.");
  g_assert_null (strstr (gate_smtp_error_get_next_step (other_error), "SMTP2GO"));
  g_assert_true (gate_smtp_error_get_reply (error) == reply);
  g_assert_cmpint (gate_smtp_error_get_stage (error), ==, GATE_SMTP_STAGE_AUTH);
  g_assert_false (gate_smtp_error_is_temporary (error));
}

static void
test_sender_not_verified (void)
{
  g_autoptr (GateSmtpReply) reply = reply_new (550, "5.7.1 Sender domain not verified");
  GateSmtpErrorContext ctx = {
    .stage = GATE_SMTP_STAGE_MAIL, .host = "smtp.example.net", .reply = reply, .address = "me@example.org"
  };
  g_autoptr (GError) error = gate_smtp_error_new (GATE_SMTP_ERROR_SENDER_REFUSED, &ctx);

  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_SENDER_REFUSED);
  g_assert_nonnull (strstr (gate_smtp_error_get_next_step (error), "Verify your sender address or domain"));
  g_assert_nonnull (strstr (error->message, "me@example.org"));
  g_assert_false (gate_smtp_error_is_temporary (error));
}

static void
test_relay_denied (void)
{
  g_autoptr (GateSmtpReply) reply = reply_new (554, "5.7.1 <x@example.org>: Relay access denied");
  GateSmtpErrorContext ctx = { .stage = GATE_SMTP_STAGE_RCPT, .reply = reply, .address = "x@example.org" };
  g_autoptr (GError) error = gate_smtp_error_new (GATE_SMTP_ERROR_RECIPIENT_REFUSED, &ctx);

  g_assert_nonnull (strstr (gate_smtp_error_get_next_step (error), "username and password"));
  g_assert_nonnull (strstr (error->message, "x@example.org"));
}

static void
test_temporary (void)
{
  struct
  {
    GateSmtpError code;
    guint reply_code;
    gboolean temporary;
  } cases[] = {
    { GATE_SMTP_ERROR_SERVICE_UNAVAILABLE, 421, TRUE },
    { GATE_SMTP_ERROR_SERVICE_UNAVAILABLE, 0, TRUE },
    { GATE_SMTP_ERROR_SENDER_REFUSED, 451, TRUE },
    { GATE_SMTP_ERROR_SENDER_REFUSED, 550, FALSE },
    { GATE_SMTP_ERROR_RECIPIENT_REFUSED, 450, TRUE },
    { GATE_SMTP_ERROR_RECIPIENT_REFUSED, 550, FALSE },
    { GATE_SMTP_ERROR_MESSAGE_REFUSED, 452, TRUE },
    { GATE_SMTP_ERROR_MESSAGE_REFUSED, 554, FALSE },
    { GATE_SMTP_ERROR_AUTH_FAILED, 454, TRUE },
    { GATE_SMTP_ERROR_AUTH_FAILED, 535, FALSE },
    { GATE_SMTP_ERROR_NETWORK, 0, TRUE },
    { GATE_SMTP_ERROR_TIMED_OUT, 0, TRUE },
    { GATE_SMTP_ERROR_CONNECTION_REFUSED, 0, TRUE },
    { GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED, 0, FALSE },
    { GATE_SMTP_ERROR_TLS_FAILED, 0, FALSE },
    { GATE_SMTP_ERROR_STARTTLS_NOT_OFFERED, 0, FALSE },
    { GATE_SMTP_ERROR_PROTOCOL, 0, FALSE },
    { GATE_SMTP_ERROR_CANCELLED, 0, FALSE },
    { GATE_SMTP_ERROR_MESSAGE_TOO_LARGE, 552, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GateSmtpReply) reply = cases[i].reply_code ? reply_new (cases[i].reply_code, "text") : NULL;
      GateSmtpErrorContext ctx = { .stage = GATE_SMTP_STAGE_MAIL, .reply = reply };
      g_autoptr (GError) error = gate_smtp_error_new (cases[i].code, &ctx);
      g_autoptr (GError) copy = g_error_copy (error);

      g_test_message ("case %u: code %d reply %u", i, cases[i].code, cases[i].reply_code);
      g_assert_cmpint (gate_smtp_error_is_temporary (error), ==, cases[i].temporary);
      /* The extended data survives a copy. */
      g_assert_cmpint (gate_smtp_error_is_temporary (copy), ==, cases[i].temporary);
      g_assert_true (gate_smtp_error_get_reply (copy) == reply);
      g_assert_cmpstr (gate_smtp_error_get_next_step (copy), ==, gate_smtp_error_get_next_step (error));
    }
}

static void
test_certificate_problems (void)
{
  GateCertificateProblem problems[] = {
    GATE_CERTIFICATE_PROBLEM_UNKNOWN_ISSUER, GATE_CERTIFICATE_PROBLEM_SELF_SIGNED,
    GATE_CERTIFICATE_PROBLEM_WRONG_HOST,     GATE_CERTIFICATE_PROBLEM_EXPIRED,
    GATE_CERTIFICATE_PROBLEM_NOT_YET_VALID,  GATE_CERTIFICATE_PROBLEM_REVOKED,
    GATE_CERTIFICATE_PROBLEM_INSECURE,       GATE_CERTIFICATE_PROBLEM_PIN_MISMATCH,
  };
  g_autoptr (GHashTable) messages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (problems); i++)
    {
      GateSmtpErrorContext ctx = { .stage = GATE_SMTP_STAGE_TLS,
                                   .host = "mx.example",
                                   .port = 465,
                                   .certificate_problem = problems[i],
                                   .certificate_fingerprint = "AB:CD:EF" };
      g_autoptr (GError) error = gate_smtp_error_new (GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED, &ctx);

      assert_explained (error);
      g_assert_cmpint (gate_smtp_error_get_certificate_problem (error), ==, problems[i]);
      g_assert_cmpstr (gate_smtp_error_get_certificate_fingerprint (error), ==, "AB:CD:EF");
      g_assert_false (gate_smtp_error_is_temporary (error));
      /* Each problem has its own words. */
      g_assert_true (g_hash_table_add (messages, g_strdup (error->message)));
      if (problems[i] == GATE_CERTIFICATE_PROBLEM_SELF_SIGNED)
        g_assert_nonnull (strstr (gate_smtp_error_get_next_step (error), "AB:CD:EF"));
    }
}

static void
test_too_large (void)
{
  g_autoptr (GateSmtpReply) reply = reply_new (552, "5.3.4 Message size exceeds fixed limit");
  GateSmtpErrorContext with_limit = { .stage = GATE_SMTP_STAGE_MAIL, .size_limit = 10000000 };
  GateSmtpErrorContext refused = { .stage = GATE_SMTP_STAGE_DATA, .reply = reply };
  g_autoptr (GError) error = gate_smtp_error_new (GATE_SMTP_ERROR_MESSAGE_TOO_LARGE, &with_limit);
  g_autoptr (GError) remapped = gate_smtp_error_new (GATE_SMTP_ERROR_MESSAGE_REFUSED, &refused);

  g_assert_nonnull (strstr (error->message, "10.0"));
  g_assert_error (remapped, GATE_SMTP_ERROR, GATE_SMTP_ERROR_MESSAGE_TOO_LARGE);
}

static void
test_from_gio (void)
{
  struct
  {
    GQuark domain;
    int code;
    GateSmtpError expected;
  } cases[] = {
    { G_IO_ERROR, G_IO_ERROR_CANCELLED, GATE_SMTP_ERROR_CANCELLED },
    { G_IO_ERROR, G_IO_ERROR_TIMED_OUT, GATE_SMTP_ERROR_TIMED_OUT },
    { G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, GATE_SMTP_ERROR_CONNECTION_REFUSED },
    { G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND, GATE_SMTP_ERROR_NAME_NOT_FOUND },
    { G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE, GATE_SMTP_ERROR_NETWORK },
    { G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, GATE_SMTP_ERROR_NETWORK },
    { G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, GATE_SMTP_ERROR_NETWORK },
    { G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, GATE_SMTP_ERROR_NAME_NOT_FOUND },
    { G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE, GATE_SMTP_ERROR_NAME_NOT_FOUND },
    { G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED },
    { G_TLS_ERROR, G_TLS_ERROR_HANDSHAKE, GATE_SMTP_ERROR_TLS_FAILED },
    { G_TLS_ERROR, G_TLS_ERROR_NOT_TLS, GATE_SMTP_ERROR_TLS_FAILED },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) gio = g_error_new_literal (cases[i].domain, cases[i].code, "low-level words");
      GateSmtpErrorContext ctx = { .stage = GATE_SMTP_STAGE_CONNECT, .host = "mx.example", .port = 25 };
      g_autoptr (GError) error = gate_smtp_error_new_from_gio (gio, &ctx);

      g_assert_error (error, GATE_SMTP_ERROR, (int)cases[i].expected);
      g_assert_cmpstr (gate_smtp_error_get_detail (error), ==, "low-level words");
      assert_explained (error);
    }

  {
    g_autoptr (GError) gio = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "Socket I/O timed out");
    GateSmtpErrorContext ctx = { .stage = GATE_SMTP_STAGE_CONNECT, .host = "mx.example", .port = 25 };
    g_autoptr (GError) error = gate_smtp_error_new_from_gio (gio, &ctx);
    g_autoptr (GError) again = gate_smtp_error_new_from_gio (error, &ctx);

    g_assert_cmpuint (gate_smtp_error_get_suggested_port (error), ==, 2525);
    /* An error that is already ours passes through unchanged. */
    g_assert_error (again, GATE_SMTP_ERROR, GATE_SMTP_ERROR_TIMED_OUT);
    g_assert_cmpuint (gate_smtp_error_get_suggested_port (again), ==, 2525);
  }
  {
    g_autoptr (GError) gio = g_error_new_literal (G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE, "x");
    g_autoptr (GError) error = gate_smtp_error_new_from_gio (gio, NULL);

    g_assert_true (gate_smtp_error_is_temporary (error));
  }
}

static void
test_other_domains (void)
{
  g_autoptr (GError) other = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "x");

  g_assert_null (gate_smtp_error_get_next_step (other));
  g_assert_null (gate_smtp_error_get_reply (other));
  g_assert_false (gate_smtp_error_is_temporary (other));
  g_assert_cmpuint (gate_smtp_error_get_suggested_port (other), ==, 0);
  g_assert_cmpint (gate_smtp_error_get_stage (other), ==, GATE_SMTP_STAGE_NONE);
}

static void
test_stage_labels (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (int stage = GATE_SMTP_STAGE_NONE; stage <= GATE_SMTP_STAGE_DONE; stage++)
    {
      const char *label = gate_smtp_stage_get_label (stage);

      g_assert_nonnull (label);
      g_assert_true (g_hash_table_add (seen, (gpointer)label));
    }
  g_assert_cmpstr (gate_smtp_stage_get_label (GATE_SMTP_STAGE_AUTH), ==, "Signing in");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/smtp-error/every-code-explained", test_every_code_explained);
  g_test_add_func ("/smtp-error/timeout-port-25", test_timeout_port_25);
  g_test_add_func ("/smtp-error/timeout-other-port", test_timeout_other_port);
  g_test_add_func ("/smtp-error/auth-failed", test_auth_failed);
  g_test_add_func ("/smtp-error/sender-not-verified", test_sender_not_verified);
  g_test_add_func ("/smtp-error/relay-denied", test_relay_denied);
  g_test_add_func ("/smtp-error/temporary", test_temporary);
  g_test_add_func ("/smtp-error/certificate-problems", test_certificate_problems);
  g_test_add_func ("/smtp-error/too-large", test_too_large);
  g_test_add_func ("/smtp-error/from-gio", test_from_gio);
  g_test_add_func ("/smtp-error/other-domains", test_other_domains);
  g_test_add_func ("/smtp-error/stage-labels", test_stage_labels);

  return g_test_run ();
}
