/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-tls"

#include "config.h"

#include "gate-local-certificate.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

#include "gate-tls-info.h"

#define CERT_NAME "relay-cert.pem"
#define KEY_NAME "relay-key.pem"
/* Browsers and most devices accept at most 825 days for a server certificate. */
#define VALID_DAYS 825

struct _GateLocalCertificate
{
  GObject parent_instance;

  char *directory;
  char *cert_path;
  char *key_path;
  GPtrArray *names;
  GTlsCertificate *certificate;
  char *fingerprint;
  gboolean created;
};

G_DEFINE_FINAL_TYPE (GateLocalCertificate, gate_local_certificate, G_TYPE_OBJECT)

static void
gate_local_certificate_finalize (GObject *object)
{
  GateLocalCertificate *self = GATE_LOCAL_CERTIFICATE (object);

  g_free (self->directory);
  g_free (self->cert_path);
  g_free (self->key_path);
  g_ptr_array_unref (self->names);
  g_clear_object (&self->certificate);
  g_free (self->fingerprint);
  G_OBJECT_CLASS (gate_local_certificate_parent_class)->finalize (object);
}

static void
gate_local_certificate_class_init (GateLocalCertificateClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gate_local_certificate_finalize;
}

static void
gate_local_certificate_init (GateLocalCertificate *self)
{
  self->names = g_ptr_array_new_with_free_func (g_free);
}

static gboolean
is_dns_name (const char *name)
{
  if (name == NULL || *name == '\0' || strlen (name) > 253)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return FALSE;
  return TRUE;
}

GateLocalCertificate *
gate_local_certificate_new (const char *directory)
{
  GateLocalCertificate *self;
  const char *host = g_get_host_name ();

  g_return_val_if_fail (directory != NULL, NULL);

  self = g_object_new (GATE_TYPE_LOCAL_CERTIFICATE, NULL);
  self->directory = g_strdup (directory);
  self->cert_path = g_build_filename (directory, CERT_NAME, NULL);
  self->key_path = g_build_filename (directory, KEY_NAME, NULL);
  if (is_dns_name (host) && g_strcmp0 (host, "localhost") != 0)
    g_ptr_array_add (self->names, g_strdup (host));
  g_ptr_array_add (self->names, g_strdup ("localhost"));
  g_ptr_array_add (self->names, g_strdup ("127.0.0.1"));
  g_ptr_array_add (self->names, g_strdup ("::1"));
  return self;
}

void
gate_local_certificate_add_name (GateLocalCertificate *self, const char *name)
{
  g_return_if_fail (GATE_IS_LOCAL_CERTIFICATE (self));
  g_return_if_fail (name != NULL);

  if (!g_hostname_is_ip_address (name) && !is_dns_name (name))
    {
      g_warning (_ ("Not a host name or address for the certificate: %s"), name);
      return;
    }
  for (guint i = 0; i < self->names->len; i++)
    if (g_ascii_strcasecmp (self->names->pdata[i], name) == 0)
      return;
  g_ptr_array_add (self->names, g_strdup (name));
}

/* ---- the worker thread ---- */

typedef struct
{
  char *directory;
  char *cert_path;
  char *key_path;
  GStrv names;
  /* results */
  GTlsCertificate *certificate;
  gboolean created;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->directory);
  g_free (data->cert_path);
  g_free (data->key_path);
  g_strfreev (data->names);
  g_clear_object (&data->certificate);
  g_free (data);
}

static void
set_openssl_error (GError **error, const char *what)
{
  char buffer[256] = "";
  unsigned long code = ERR_get_error ();

  if (code)
    ERR_error_string_n (code, buffer, sizeof buffer);
  ERR_clear_error ();
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("Could not make the relay’s certificate (%s): %s"),
               what, buffer[0] ? buffer : _ ("unknown error"));
}

static gboolean
add_extension (X509 *x509, X509V3_CTX *ctx, int nid, const char *value)
{
  X509_EXTENSION *ext = X509V3_EXT_conf_nid (NULL, ctx, nid, value);
  gboolean ok;

  if (ext == NULL)
    return FALSE;
  ok = X509_add_ext (x509, ext, -1) == 1;
  X509_EXTENSION_free (ext);
  return ok;
}

static char *
bio_to_string (BIO *bio, gsize *len)
{
  char *data = NULL;
  long n = BIO_get_mem_data (bio, &data);

  *len = n > 0 ? (gsize)n : 0;
  return g_strndup (data, *len);
}

static gboolean
generate (LoadData *data, GError **error)
{
  EVP_PKEY *pkey = NULL;
  X509 *x509 = NULL;
  BIGNUM *serial = NULL;
  BIO *key_bio = NULL;
  BIO *cert_bio = NULL;
  X509V3_CTX ctx;
  X509_NAME *subject;
  g_autoptr (GString) san = g_string_new (NULL);
  g_autofree char *key_pem = NULL;
  g_autofree char *cert_pem = NULL;
  gsize key_len = 0, cert_len = 0;
  gboolean ok = FALSE;
  const char *cn = data->names[0] ? data->names[0] : "localhost";

  for (guint i = 0; data->names[i]; i++)
    g_string_append_printf (san, "%s%s:%s", i ? "," : "",
                            g_hostname_is_ip_address (data->names[i]) ? "IP" : "DNS", data->names[i]);

  /* RSA, not an elliptic curve: the old printers and scanners the relay is
   * for often know only RSA cipher suites (TLS 1.0, AES128-SHA), and with an
   * elliptic-curve key they cannot secure their connection at all. */
  pkey = EVP_RSA_gen (2048);
  if (pkey == NULL)
    {
      set_openssl_error (error, "key");
      goto out;
    }
  x509 = X509_new ();
  serial = BN_new ();
  if (x509 == NULL || serial == NULL || !X509_set_version (x509, X509_VERSION_3)
      || !BN_rand (serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)
      || !BN_to_ASN1_INTEGER (serial, X509_get_serialNumber (x509))
      || !X509_gmtime_adj (X509_getm_notBefore (x509), -3600)
      || !X509_gmtime_adj (X509_getm_notAfter (x509), (long)VALID_DAYS * 86400)
      || !X509_set_pubkey (x509, pkey))
    {
      set_openssl_error (error, "certificate");
      goto out;
    }
  subject = X509_get_subject_name (x509);
  if (!X509_NAME_add_entry_by_txt (subject, "O", MBSTRING_UTF8, (const unsigned char *)"Postgate relay", -1,
                                   -1, 0)
      || !X509_NAME_add_entry_by_txt (subject, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)
      || !X509_set_issuer_name (x509, subject))
    {
      set_openssl_error (error, "name");
      goto out;
    }
  X509V3_set_ctx_nodb (&ctx);
  X509V3_set_ctx (&ctx, x509, x509, NULL, NULL, 0);
  if (!add_extension (x509, &ctx, NID_basic_constraints, "critical,CA:FALSE")
      /* keyEncipherment: the plain RSA key exchange of those old devices. */
      || !add_extension (x509, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment")
      || !add_extension (x509, &ctx, NID_ext_key_usage, "serverAuth")
      || !add_extension (x509, &ctx, NID_subject_key_identifier, "hash")
      || !add_extension (x509, &ctx, NID_subject_alt_name, san->str))
    {
      set_openssl_error (error, "extensions");
      goto out;
    }
  if (X509_sign (x509, pkey, EVP_sha256 ()) <= 0)
    {
      set_openssl_error (error, "signature");
      goto out;
    }

  key_bio = BIO_new (BIO_s_mem ());
  cert_bio = BIO_new (BIO_s_mem ());
  if (!PEM_write_bio_PrivateKey (key_bio, pkey, NULL, NULL, 0, NULL, NULL)
      || !PEM_write_bio_X509 (cert_bio, x509))
    {
      set_openssl_error (error, "PEM");
      goto out;
    }
  key_pem = bio_to_string (key_bio, &key_len);
  cert_pem = bio_to_string (cert_bio, &cert_len);

  if (g_mkdir_with_parents (data->directory, 0700) < 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), _ ("Could not create “%s”: %s"),
                   data->directory, g_strerror (saved_errno));
      goto out;
    }
  /* The key first: a certificate file without its key is never left alone. */
  if (!g_file_set_contents_full (data->key_path, key_pem, (gssize)key_len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error)
      || !g_file_set_contents_full (data->cert_path, cert_pem, (gssize)cert_len,
                                    G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                    error))
    goto out;
  memset (key_pem, 0, key_len);
  ok = TRUE;

out:
  BIO_free (key_bio);
  BIO_free (cert_bio);
  BN_free (serial);
  X509_free (x509);
  EVP_PKEY_free (pkey);
  return ok;
}

/* GIO takes a private key that is not the certificate's, or a certificate
 * that has expired, without a word; every device would then fail to secure
 * its connection.  Files OpenSSL cannot read here are left to GIO, the
 * judge of their format. */
static gboolean
check_certificate_files (const char *cert_file, const char *key_file, GError **error)
{
  BIO *bio = BIO_new_file (cert_file, "r");
  X509 *x509 = bio != NULL ? PEM_read_bio_X509 (bio, NULL, NULL, NULL) : NULL;
  EVP_PKEY *pkey = NULL;
  gboolean ok = TRUE;

  BIO_free (bio);
  bio = BIO_new_file (key_file, "r");
  pkey = bio != NULL ? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL) : NULL;
  BIO_free (bio);
  if (x509 != NULL && pkey != NULL && X509_check_private_key (x509, pkey) != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _ ("The private key “%s” does not belong to the certificate “%s”."), key_file, cert_file);
      ok = FALSE;
    }
  else if (x509 != NULL && X509_cmp_current_time (X509_get0_notAfter (x509)) < 0)
    {
      struct tm tm = { 0 };
      g_autofree char *day = NULL;

      if (ASN1_TIME_to_tm (X509_get0_notAfter (x509), &tm) == 1)
        day = g_strdup_printf ("%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _ ("The certificate “%s” expired on %s: devices would refuse it."), cert_file,
                   day != NULL ? day : "?");
      ok = FALSE;
    }
  ERR_clear_error ();
  X509_free (x509);
  EVP_PKEY_free (pkey);
  return ok;
}

static void
load_or_make (GTask *task, LoadData *data)
{
  g_autoptr (GError) error = NULL;

  /* Made again when it has expired (no device would take it any more) or
   * when the key is not its own (a new key written, then the process
   * stopped before the new certificate): the start says so, with the new
   * fingerprint. */
  if (!g_file_test (data->cert_path, G_FILE_TEST_EXISTS) || !g_file_test (data->key_path, G_FILE_TEST_EXISTS)
      || !check_certificate_files (data->cert_path, data->key_path, NULL))
    {
      if (!generate (data, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      data->created = TRUE;
    }
  data->certificate = g_tls_certificate_new_from_files (data->cert_path, data->key_path, &error);
  if (data->certificate == NULL)
    {
      g_prefix_error (&error, _ ("The relay’s certificate in “%s” is unusable: "), data->directory);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
load_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  load_or_make (task, task_data);
  /* OpenSSL keeps per-thread state (the random generators a new key draws
   * from, the error queue) until the thread ends, and a GLib pool thread may
   * outlive the process's last use of it: freed now, it is made again if
   * this thread needs it later. */
  OPENSSL_thread_stop ();
}

static GTask *
make_task (GateLocalCertificate *self, GCancellable *cancellable, GAsyncReadyCallback callback,
           gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  LoadData *data = g_new0 (LoadData, 1);

  g_task_set_source_tag (task, gate_local_certificate_load_async);
  data->directory = g_strdup (self->directory);
  data->cert_path = g_strdup (self->cert_path);
  data->key_path = g_strdup (self->key_path);
  data->names = g_new0 (char *, self->names->len + 1);
  for (guint i = 0; i < self->names->len; i++)
    data->names[i] = g_strdup (self->names->pdata[i]);
  g_task_set_task_data (task, data, (GDestroyNotify)load_data_free);
  return task;
}

void
gate_local_certificate_load_async (GateLocalCertificate *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (GATE_IS_LOCAL_CERTIFICATE (self));
  task = make_task (self, cancellable, callback, user_data);
  g_task_run_in_thread (task, load_thread);
}

static GTlsCertificate *
take_result (GateLocalCertificate *self, GTask *task, GError **error)
{
  LoadData *data = g_task_get_task_data (task);

  if (!g_task_propagate_boolean (task, error))
    return NULL;
  g_set_object (&self->certificate, data->certificate);
  g_free (self->fingerprint);
  self->fingerprint = gate_tls_certificate_fingerprint (self->certificate);
  self->created = data->created;
  return g_object_ref (self->certificate);
}

GTlsCertificate *
gate_local_certificate_load_finish (GateLocalCertificate *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GATE_IS_LOCAL_CERTIFICATE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gate_local_certificate_load_async, NULL);
  return take_result (self, G_TASK (result), error);
}

GTlsCertificate *
gate_local_certificate_load (GateLocalCertificate *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GTask) task = NULL;

  g_return_val_if_fail (GATE_IS_LOCAL_CERTIFICATE (self), NULL);
  task = make_task (self, cancellable, NULL, NULL);
  g_task_run_in_thread_sync (task, load_thread);
  return take_result (self, task, error);
}

GTlsCertificate *
gate_local_certificate_get_certificate (GateLocalCertificate *self)
{
  g_return_val_if_fail (GATE_IS_LOCAL_CERTIFICATE (self), NULL);
  return self->certificate;
}

const char *
gate_local_certificate_get_fingerprint (GateLocalCertificate *self)
{
  g_return_val_if_fail (GATE_IS_LOCAL_CERTIFICATE (self), NULL);
  return self->fingerprint;
}

gboolean
gate_local_certificate_get_created (GateLocalCertificate *self)
{
  g_return_val_if_fail (GATE_IS_LOCAL_CERTIFICATE (self), FALSE);
  return self->created;
}

const char *
gate_local_certificate_get_certificate_path (GateLocalCertificate *self)
{
  g_return_val_if_fail (GATE_IS_LOCAL_CERTIFICATE (self), NULL);
  return self->cert_path;
}

const char *
gate_local_certificate_get_key_path (GateLocalCertificate *self)
{
  g_return_val_if_fail (GATE_IS_LOCAL_CERTIFICATE (self), NULL);
  return self->key_path;
}

GTlsCertificate *
gate_local_certificate_load_files (const char *cert_file, const char *key_file, char **fingerprint,
                                   GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GTlsCertificate *certificate;

  g_return_val_if_fail (cert_file != NULL, NULL);

  certificate = g_tls_certificate_new_from_files (cert_file, key_file ? key_file : cert_file, &local_error);
  if (certificate == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _ ("The certificate “%s” cannot be used: %s"),
                   cert_file, local_error->message);
      return NULL;
    }
  if (!check_certificate_files (cert_file, key_file ? key_file : cert_file, error))
    {
      g_object_unref (certificate);
      return NULL;
    }
  if (fingerprint)
    *fingerprint = gate_tls_certificate_fingerprint (certificate);
  return certificate;
}
