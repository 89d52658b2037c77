/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-tls"

#include "config.h"

#include "gate-tls-info.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct _GateTlsInfo
{
  gatomicrefcount ref_count;
  char *protocol;
  char *cipher_suite;
  char *subject;
  char *issuer;
  GDateTime *not_before;
  GDateTime *not_after;
  GStrv names;
  char *fingerprint;
  gboolean self_signed;
  GTlsCertificate *certificate;
};

G_DEFINE_BOXED_TYPE (GateTlsInfo, gate_tls_info, gate_tls_info_ref, gate_tls_info_unref)

static GByteArray *
certificate_der (GTlsCertificate *certificate)
{
  GByteArray *der = NULL;

  g_object_get (certificate, "certificate", &der, NULL);
  return der;
}

char *
gate_tls_certificate_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr (GByteArray) der = NULL;
  g_autoptr (GChecksum) checksum = NULL;
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  GString *out;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  der = certificate_der (certificate);
  if (der == NULL)
    return NULL;

  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, der->data, der->len);
  g_checksum_get_digest (checksum, digest, &digest_len);

  out = g_string_sized_new (digest_len * 3);
  for (gsize i = 0; i < digest_len; i++)
    g_string_append_printf (out, "%s%02X", i > 0 ? ":" : "", digest[i]);
  return g_string_free (out, FALSE);
}

gboolean
gate_tls_fingerprint_normalize (const char *text, char **canonical)
{
  g_autoptr (GString) out = NULL;
  guint digits = 0;
  char pair[2];

  g_return_val_if_fail (text != NULL, FALSE);

  /* Accept the forms people copy from browsers and openssl:
   * "SHA256 Fingerprint=AB:CD:…" is not supported, but "AB:CD…", "abcd…" and
   * space-separated pairs are. */
  out = g_string_sized_new (96);
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == ':' || *p == ' ' || *p == '\t' || *p == '-')
        continue;
      if (!g_ascii_isxdigit (*p))
        return FALSE;
      pair[digits % 2] = g_ascii_toupper (*p);
      digits++;
      if (digits > 64)
        return FALSE;
      if (digits % 2 == 0)
        {
          if (out->len > 0)
            g_string_append_c (out, ':');
          g_string_append_len (out, pair, 2);
        }
    }

  if (digits != 64)
    return FALSE;

  if (canonical != NULL)
    *canonical = g_string_free (g_steal_pointer (&out), FALSE);
  return TRUE;
}

/* Self-signed means issued by itself: names match and the signature verifies
 * with its own key.  GIO has no such test, OpenSSL does. */
static gboolean
der_is_self_signed (GByteArray *der)
{
  const unsigned char *p;
  X509 *x509;
  gboolean self_signed = FALSE;

  if (der == NULL || der->len == 0)
    return FALSE;

  p = der->data;
  x509 = d2i_X509 (NULL, &p, der->len);
  if (x509 == NULL)
    return FALSE;

  if (X509_check_issued (x509, x509) == X509_V_OK)
    {
      EVP_PKEY *key = X509_get0_pubkey (x509);
      self_signed = key != NULL && X509_verify (x509, key) == 1;
    }

  X509_free (x509);
  return self_signed;
}

static GStrv
certificate_names (GTlsCertificate *certificate)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr (GPtrArray) dns = g_tls_certificate_get_dns_names (certificate);
  g_autoptr (GPtrArray) ips = g_tls_certificate_get_ip_addresses (certificate);

  for (guint i = 0; dns != NULL && i < dns->len; i++)
    {
      GBytes *bytes = g_ptr_array_index (dns, i);
      gsize len = 0;
      const char *data = g_bytes_get_data (bytes, &len);
      g_autofree char *name = g_strndup (data, len);

      if (g_utf8_validate (name, -1, NULL))
        g_strv_builder_add (builder, name);
    }

  for (guint i = 0; ips != NULL && i < ips->len; i++)
    {
      g_autofree char *text = g_inet_address_to_string (g_ptr_array_index (ips, i));
      g_strv_builder_add (builder, text);
    }

  return g_strv_builder_end (builder);
}

GateTlsInfo *
gate_tls_info_new_from_certificate (GTlsCertificate *certificate)
{
  GateTlsInfo *info;
  g_autoptr (GByteArray) der = NULL;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  info = g_new0 (GateTlsInfo, 1);
  g_atomic_ref_count_init (&info->ref_count);
  info->certificate = g_object_ref (certificate);
  info->subject = g_tls_certificate_get_subject_name (certificate);
  info->issuer = g_tls_certificate_get_issuer_name (certificate);
  info->not_before = g_tls_certificate_get_not_valid_before (certificate);
  info->not_after = g_tls_certificate_get_not_valid_after (certificate);
  info->names = certificate_names (certificate);
  info->fingerprint = gate_tls_certificate_fingerprint (certificate);
  der = certificate_der (certificate);
  info->self_signed = der_is_self_signed (der);

  return info;
}

static char *
protocol_name (GTlsProtocolVersion version)
{
  switch (version)
    {
      case G_TLS_PROTOCOL_VERSION_SSL_3_0:
        return g_strdup ("SSL 3.0");
      case G_TLS_PROTOCOL_VERSION_TLS_1_0:
        return g_strdup ("TLS 1.0");
      case G_TLS_PROTOCOL_VERSION_TLS_1_1:
        return g_strdup ("TLS 1.1");
      case G_TLS_PROTOCOL_VERSION_TLS_1_2:
        return g_strdup ("TLS 1.2");
      case G_TLS_PROTOCOL_VERSION_TLS_1_3:
        return g_strdup ("TLS 1.3");
      case G_TLS_PROTOCOL_VERSION_DTLS_1_0:
        return g_strdup ("DTLS 1.0");
      case G_TLS_PROTOCOL_VERSION_DTLS_1_2:
        return g_strdup ("DTLS 1.2");
      case G_TLS_PROTOCOL_VERSION_UNKNOWN:
      default:
        return NULL;
    }
}

GateTlsInfo *
gate_tls_info_new_from_connection (GTlsConnection *connection)
{
  GTlsCertificate *peer;
  GateTlsInfo *info;

  g_return_val_if_fail (G_IS_TLS_CONNECTION (connection), NULL);

  peer = g_tls_connection_get_peer_certificate (connection);
  if (peer != NULL)
    {
      info = gate_tls_info_new_from_certificate (peer);
    }
  else
    {
      info = g_new0 (GateTlsInfo, 1);
      g_atomic_ref_count_init (&info->ref_count);
      info->names = g_new0 (char *, 1);
    }

  info->protocol = protocol_name (g_tls_connection_get_protocol_version (connection));
  info->cipher_suite = g_tls_connection_get_ciphersuite_name (connection);
  return info;
}

GateTlsInfo *
gate_tls_info_ref (GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_ref_count_inc (&info->ref_count);
  return info;
}

void
gate_tls_info_unref (GateTlsInfo *info)
{
  g_return_if_fail (info != NULL);
  if (!g_atomic_ref_count_dec (&info->ref_count))
    return;

  g_free (info->protocol);
  g_free (info->cipher_suite);
  g_free (info->subject);
  g_free (info->issuer);
  g_clear_pointer (&info->not_before, g_date_time_unref);
  g_clear_pointer (&info->not_after, g_date_time_unref);
  g_strfreev (info->names);
  g_free (info->fingerprint);
  g_clear_object (&info->certificate);
  g_free (info);
}

const char *
gate_tls_info_get_protocol (const GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->protocol;
}

const char *
gate_tls_info_get_cipher_suite (const GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->cipher_suite;
}

const char *
gate_tls_info_get_subject (const GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->subject;
}

const char *
gate_tls_info_get_issuer (const GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->issuer;
}

GDateTime *
gate_tls_info_get_not_before (const GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->not_before;
}

GDateTime *
gate_tls_info_get_not_after (const GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->not_after;
}

const char *const *
gate_tls_info_get_names (const GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return (const char *const *)info->names;
}

const char *
gate_tls_info_get_fingerprint (const GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->fingerprint;
}

gboolean
gate_tls_info_is_self_signed (const GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, FALSE);
  return info->self_signed;
}

GTlsCertificate *
gate_tls_info_get_certificate (const GateTlsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->certificate;
}
