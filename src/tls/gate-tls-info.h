/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What a TLS session and its server certificate look like, for the transcript
 * and for the "Trust this certificate" prompt.  Immutable, reference counted. */
typedef struct _GateTlsInfo GateTlsInfo;

#define GATE_TYPE_TLS_INFO (gate_tls_info_get_type ())
GType gate_tls_info_get_type (void) G_GNUC_CONST;

/* From an established connection (protocol, cipher suite, peer certificate). */
GateTlsInfo *gate_tls_info_new_from_connection (GTlsConnection *connection);
/* From a certificate alone (protocol and cipher suite unknown). */
GateTlsInfo *gate_tls_info_new_from_certificate (GTlsCertificate *certificate);
GateTlsInfo *gate_tls_info_ref (GateTlsInfo *info);
void gate_tls_info_unref (GateTlsInfo *info);

/* "TLS 1.3", "TLS 1.2", …; NULL when unknown. */
const char *gate_tls_info_get_protocol (const GateTlsInfo *info);
const char *gate_tls_info_get_cipher_suite (const GateTlsInfo *info);
const char *gate_tls_info_get_subject (const GateTlsInfo *info);
const char *gate_tls_info_get_issuer (const GateTlsInfo *info);
GDateTime *gate_tls_info_get_not_before (const GateTlsInfo *info);
GDateTime *gate_tls_info_get_not_after (const GateTlsInfo *info);
/* DNS names and IP addresses the certificate is for, NULL-terminated. */
const char *const *gate_tls_info_get_names (const GateTlsInfo *info);
/* SHA-256 of the DER certificate, upper-case hex pairs joined by ':'. */
const char *gate_tls_info_get_fingerprint (const GateTlsInfo *info);
gboolean gate_tls_info_is_self_signed (const GateTlsInfo *info);
/* The peer certificate itself. */
GTlsCertificate *gate_tls_info_get_certificate (const GateTlsInfo *info);

/* SHA-256 of a certificate's DER, "AB:CD:…". */
char *gate_tls_certificate_fingerprint (GTlsCertificate *certificate);
/* Accepts "AB:CD…", "abcd…", with or without ':' or spaces; writes the
 * canonical form to @canonical.  FALSE when it is not 32 bytes of hex. */
gboolean gate_tls_fingerprint_normalize (const char *text, char **canonical);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateTlsInfo, gate_tls_info_unref)

G_END_DECLS
