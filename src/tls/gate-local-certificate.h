/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The relay's own certificate for STARTTLS: made with OpenSSL on first use (a
 * 2048-bit RSA key and a self-signed certificate naming this computer, localhost and
 * the loopback addresses), kept in a folder of the app's data (the key readable
 * only by the user), and loaded from there afterwards; made again once it has
 * expired.  Devices that check certificates can be told its SHA-256
 * fingerprint. */

#define GATE_TYPE_LOCAL_CERTIFICATE (gate_local_certificate_get_type ())
G_DECLARE_FINAL_TYPE (GateLocalCertificate, gate_local_certificate, GATE, LOCAL_CERTIFICATE, GObject)

/* @directory: where relay-cert.pem and relay-key.pem live (created 0700 if
 * needed), e.g. g_get_user_data_dir()/postgate. */
GateLocalCertificate *gate_local_certificate_new (const char *directory);
/* Extra names for the certificate when it is made (default: the host name,
 * "localhost", 127.0.0.1 and ::1).  Each is a DNS name or an IP address. */
void gate_local_certificate_add_name (GateLocalCertificate *self, const char *name);

/* Loads the stored certificate, or makes and stores a new one (in a worker
 * thread: key generation takes a moment). */
void gate_local_certificate_load_async (GateLocalCertificate *self, GCancellable *cancellable,
                                        GAsyncReadyCallback callback, gpointer user_data);
GTlsCertificate *gate_local_certificate_load_finish (GateLocalCertificate *self, GAsyncResult *result,
                                                     GError **error);
/* The same, blocking (for the command line). */
GTlsCertificate *gate_local_certificate_load (GateLocalCertificate *self, GCancellable *cancellable,
                                              GError **error);

/* After a load: the certificate, "AB:CD:…" SHA-256 of it, and whether it was
 * made just now. */
GTlsCertificate *gate_local_certificate_get_certificate (GateLocalCertificate *self);
const char *gate_local_certificate_get_fingerprint (GateLocalCertificate *self);
gboolean gate_local_certificate_get_created (GateLocalCertificate *self);
const char *gate_local_certificate_get_certificate_path (GateLocalCertificate *self);
const char *gate_local_certificate_get_key_path (GateLocalCertificate *self);

/* A certificate the user provides (PEM files; @key_file may be NULL when the key
 * is in @cert_file), with its fingerprint. */
GTlsCertificate *gate_local_certificate_load_files (const char *cert_file, const char *key_file,
                                                    char **fingerprint, GError **error);

G_END_DECLS
