/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GateTlsInfo and fingerprints, checked against openssl's own answers. */
#include "config.h"

#include <string.h>

#include "client-test-util.h"
#include "gate-tls-info.h"

static void
test_normalize (void)
{
  const char *canonical_expected = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                                   "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
  const char *good[] = {
    "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF",
    "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
    "0011 2233 4455 6677 8899 aabb ccdd eeff 0011 2233 4455 6677 8899 aabb ccdd eeff",
  };
  const char *bad[] = {
    "",
    "0011",
    "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEF",    /* 63 digits */
    "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF00", /* 33 bytes */
    "g0112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *canonical = NULL;

      g_assert_true (gate_tls_fingerprint_normalize (good[i], &canonical));
      g_assert_cmpstr (canonical, ==, canonical_expected);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (gate_tls_fingerprint_normalize (bad[i], NULL));
}

static char *
openssl_fingerprint (const char *pem)
{
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  const char *eq;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "openssl", "x509", "-in", pem, "-noout",
                              "-fingerprint", "-sha256", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  /* "sha256 Fingerprint=AB:CD:…" */
  eq = strchr (out, '=');
  g_assert_nonnull (eq);
  return g_strstrip (g_strdup (eq + 1));
}

static GateTlsInfo *
info_for (const char *name, char **fingerprint)
{
  g_autofree char *file = g_strdup_printf ("%s.pem", name);
  g_autofree char *pem = test_cert_path (file);
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = g_tls_certificate_new_from_file (pem, &error);

  g_assert_no_error (error);
  *fingerprint = openssl_fingerprint (pem);
  return gate_tls_info_new_from_certificate (certificate);
}

static void
test_certificate_info (void)
{
  g_autofree char *fingerprint = NULL;
  g_autoptr (GateTlsInfo) info = info_for ("localhost", &fingerprint);
  const char *const *names = gate_tls_info_get_names (info);

  g_assert_cmpstr (gate_tls_info_get_fingerprint (info), ==, fingerprint);
  g_assert_false (gate_tls_info_is_self_signed (info));
  g_assert_nonnull (strstr (gate_tls_info_get_subject (info), "CN=localhost"));
  g_assert_nonnull (strstr (gate_tls_info_get_issuer (info), "Postgate Test CA"));
  g_assert_true (g_strv_contains (names, "localhost"));
  g_assert_true (g_strv_contains (names, "127.0.0.1"));
  g_assert_true (g_strv_contains (names, "::1"));
  g_assert_cmpint (
      g_date_time_compare (gate_tls_info_get_not_before (info), gate_tls_info_get_not_after (info)), <, 0);
  g_assert_null (gate_tls_info_get_protocol (info));
  g_assert_nonnull (gate_tls_info_get_certificate (info));
}

static void
test_self_signed (void)
{
  g_autofree char *fp1 = NULL;
  g_autofree char *fp2 = NULL;
  g_autofree char *fp3 = NULL;
  g_autoptr (GateTlsInfo) self_signed = info_for ("selfsigned", &fp1);
  g_autoptr (GateTlsInfo) ca = info_for ("ca", &fp2);
  g_autoptr (GateTlsInfo) expired = info_for ("expired", &fp3);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  g_assert_true (gate_tls_info_is_self_signed (self_signed));
  g_assert_cmpstr (gate_tls_info_get_fingerprint (self_signed), ==, fp1);
  /* A root authority is self-signed too. */
  g_assert_true (gate_tls_info_is_self_signed (ca));
  g_assert_false (gate_tls_info_is_self_signed (expired));
  g_assert_cmpint (g_date_time_compare (gate_tls_info_get_not_after (expired), now), <, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tls-info/normalize", test_normalize);
  g_test_add_func ("/tls-info/certificate", test_certificate_info);
  g_test_add_func ("/tls-info/self-signed", test_self_signed);

  return g_test_run ();
}
