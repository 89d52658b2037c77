/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Secrets (passwords, API keys) of a profile, in the system keyring: the
 * Secret Service (libsecret) on Linux, the Credential Manager on Windows.
 * One implementation per platform, chosen by the build.  There is never a
 * plain-file fallback: when no keyring can be reached, every call fails with
 * GATE_SECRET_STORE_ERROR_UNAVAILABLE and a message that says what to do. */

typedef enum
{
  GATE_SECRET_PASSWORD,       /* "password": the SMTP password */
  GATE_SECRET_API_KEY,        /* "api-key": the provider's API key */
  GATE_SECRET_RELAY_PASSWORD, /* "relay-password": local devices' password for the relay */
} GateSecretKind;

/* A kind as a bit, for sets of kinds. */
#define GATE_SECRET_KIND_FLAG(kind) (1u << (kind))

#define GATE_SECRET_STORE_ERROR (gate_secret_store_error_quark ())
GQuark gate_secret_store_error_quark (void);

typedef enum
{
  GATE_SECRET_STORE_ERROR_UNAVAILABLE, /* no keyring, no session bus, locked and not unlocked */
  GATE_SECRET_STORE_ERROR_FAILED,      /* the keyring refused for another reason */
} GateSecretStoreError;

/* "password", "api-key", "relay-password"; NULL for an unknown kind. */
const char *gate_secret_kind_to_string (GateSecretKind kind);
gboolean gate_secret_kind_from_string (const char *name, GateSecretKind *kind);

/* Zeroes and frees a secret returned by a lookup.  NULL is fine. */
void gate_secret_free (char *secret);

/* @label_name: the profile's name, for the keyring's label ("Postgate
 * password for “Office”"); may be NULL.  Storing again replaces the secret. */
gboolean gate_secret_store_store_sync (const char *profile_id, GateSecretKind kind, const char *label_name,
                                       const char *secret, GCancellable *cancellable, GError **error);
/* The secret (free with gate_secret_free()), or NULL: with @error set when
 * the keyring failed, without when there is no such secret. */
char *gate_secret_store_lookup_sync (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                                     GError **error);
/* TRUE also when there was nothing to delete. */
gboolean gate_secret_store_delete_sync (const char *profile_id, GateSecretKind kind,
                                        GCancellable *cancellable, GError **error);

void gate_secret_store_store_async (const char *profile_id, GateSecretKind kind, const char *label_name,
                                    const char *secret, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
gboolean gate_secret_store_store_finish (GAsyncResult *result, GError **error);

void gate_secret_store_lookup_async (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
/* As gate_secret_store_lookup_sync(). */
char *gate_secret_store_lookup_finish (GAsyncResult *result, GError **error);

void gate_secret_store_delete_async (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean gate_secret_store_delete_finish (GAsyncResult *result, GError **error);

/* Removes every secret of a profile (after the profile was removed). */
gboolean gate_secret_store_delete_all_sync (const char *profile_id, GCancellable *cancellable,
                                            GError **error);

/* Copies the secrets of the kinds in @kinds (GATE_SECRET_KIND_FLAG bits) from
 * one profile to another, a duplicate of it; @label_name is the new
 * profile's name.  *@copied_kinds holds the kinds copied: all that were
 * there to copy on success, those copied before the failure otherwise (they
 * stay in the keyring).  The async version's finish sets it on success only. */
gboolean gate_secret_store_copy_all_sync (const char *from_id, const char *to_id, guint kinds,
                                          const char *label_name, guint *copied_kinds,
                                          GCancellable *cancellable, GError **error);
void gate_secret_store_copy_all_async (const char *from_id, const char *to_id, guint kinds,
                                       const char *label_name, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
gboolean gate_secret_store_copy_all_finish (GAsyncResult *result, guint *copied_kinds, GError **error);

G_END_DECLS
