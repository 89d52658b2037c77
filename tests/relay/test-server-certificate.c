/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The relay's own STARTTLS certificate: made once with OpenSSL, stored with a
 * private key only the user can read, loaded again afterwards, valid for the
 * names it claims and no others. */
#define G_LOG_DOMAIN "test-certificate"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "gate-local-certificate.h"

static void
load_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (result);
}

static GTlsCertificateFlags
verify_for (GTlsCertificate *cert, const char *host)
{
  g_autoptr (GSocketConnectable) identity = g_network_address_new (host, 25);
  return g_tls_certificate_verify (cert, identity, cert);
}

static void
test_generate_and_reload (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("cert-test-XXXXXX", &error);
  g_autofree char *sub = g_build_filename (dir, "data", NULL);
  g_autoptr (GateLocalCertificate) local = NULL;
  g_autoptr (GateLocalCertificate) again = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (GTlsCertificate) cert2 = NULL;
  g_autoptr (GTlsCertificate) provided = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *provided_fingerprint = NULL;
  g_autofree char *key_pem = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  local = gate_local_certificate_new (sub);
  gate_local_certificate_add_name (local, "relay.example.test");
  gate_local_certificate_load_async (local, NULL, load_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  cert = gate_local_certificate_load_finish (local, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (cert);
  g_assert_true (gate_local_certificate_get_created (local));

  fingerprint = g_strdup (gate_local_certificate_get_fingerprint (local));
  g_assert_nonnull (fingerprint);
  g_assert_cmpuint (strlen (fingerprint), ==, 32 * 3 - 1);
  g_assert_true (g_regex_match_simple ("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", fingerprint, 0, 0));

  /* The key is private: the folder and the file. */
  g_assert_cmpint (g_stat (gate_local_certificate_get_key_path (local), &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (sub, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_true (g_file_get_contents (gate_local_certificate_get_key_path (local), &key_pem, NULL, NULL));
  g_assert_true (strstr (key_pem, "PRIVATE KEY") != NULL);

  /* Valid for the names it claims, not for others. */
  g_assert_cmpint (verify_for (cert, "localhost"), ==, 0);
  g_assert_cmpint (verify_for (cert, "127.0.0.1"), ==, 0);
  g_assert_cmpint (verify_for (cert, "relay.example.test"), ==, 0);
  g_assert_true (verify_for (cert, "mail.example.org") & G_TLS_CERTIFICATE_BAD_IDENTITY);

  /* Loaded, not made again, the second time. */
  again = gate_local_certificate_new (sub);
  cert2 = gate_local_certificate_load (again, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (gate_local_certificate_get_created (again));
  g_assert_cmpstr (gate_local_certificate_get_fingerprint (again), ==, fingerprint);
  g_assert_true (g_tls_certificate_is_same (cert, cert2));

  /* A certificate the user provides. */
  provided = gate_local_certificate_load_files (gate_local_certificate_get_certificate_path (local),
                                                gate_local_certificate_get_key_path (local),
                                                &provided_fingerprint, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (provided_fingerprint, ==, fingerprint);
  g_assert_null (gate_local_certificate_load_files (gate_local_certificate_get_key_path (local),
                                                    "/nonexistent", NULL, &error));
  g_assert_nonnull (error);

  g_unlink (gate_local_certificate_get_key_path (local));
  g_unlink (gate_local_certificate_get_certificate_path (local));
  g_rmdir (sub);
  g_rmdir (dir);
}

/* A key that is not the certificate's is refused when loaded, not at each
 * device's handshake. */
static void
test_provided_wrong_key (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("cert-test-XXXXXX", &error);
  g_autofree char *dir_a = g_build_filename (dir, "a", NULL);
  g_autofree char *dir_b = g_build_filename (dir, "b", NULL);
  g_autoptr (GateLocalCertificate) a = gate_local_certificate_new (dir_a);
  g_autoptr (GateLocalCertificate) b = gate_local_certificate_new (dir_b);
  g_autoptr (GTlsCertificate) cert_a = gate_local_certificate_load (a, NULL, &error);
  g_autoptr (GTlsCertificate) cert_b = gate_local_certificate_load (b, NULL, &error);
  g_autoptr (GTlsCertificate) mixed = NULL;

  g_assert_no_error (error);
  mixed = gate_local_certificate_load_files (gate_local_certificate_get_certificate_path (a),
                                             gate_local_certificate_get_key_path (b), NULL, &error);
  g_assert_null (mixed);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "does not belong to the certificate"));

  for (GateLocalCertificate **each = (GateLocalCertificate *[]){ a, b, NULL }; *each != NULL; each++)
    {
      g_unlink (gate_local_certificate_get_key_path (*each));
      g_unlink (gate_local_certificate_get_certificate_path (*each));
    }
  g_rmdir (dir_a);
  g_rmdir (dir_b);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/certificate/generate-and-reload", test_generate_and_reload);
  g_test_add_func ("/certificate/provided-wrong-key", test_provided_wrong_key);
  return g_test_run ();
}
