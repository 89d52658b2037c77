/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-platform"

#include "config.h"

#include "gate-secret-store.h"

#include <glib/gi18n-lib.h>
#include <string.h>
#include <windows.h>
#include <wincred.h>

/* The Windows Credential Manager.  Each secret is a generic credential named
 * "Postgate/<profile-id>/<kind>", kept for this user on this machine; the
 * blob holds the UTF-8 bytes of the secret.  The calls block briefly, so the
 * asynchronous variants run them in a GTask thread. */

static gunichar2 *
make_target (const char *profile_id, GateSecretKind kind, GError **error)
{
  g_autofree char *target = g_strdup_printf ("Postgate/%s/%s", profile_id, gate_secret_kind_to_string (kind));

  return g_utf8_to_utf16 (target, -1, NULL, NULL, error);
}

static char *
make_label (GateSecretKind kind, const char *label_name)
{
  if (label_name == NULL || *label_name == '\0')
    label_name = _("unnamed profile");

  switch (kind)
    {
      case GATE_SECRET_API_KEY:
        return g_strdup_printf (_("Postgate API key for “%s”"), label_name);
      case GATE_SECRET_RELAY_PASSWORD:
        return g_strdup_printf (_("Postgate relay password for “%s”"), label_name);
      case GATE_SECRET_PASSWORD:
      default:
        return g_strdup_printf (_("Postgate password for “%s”"), label_name);
    }
}

static void
set_credential_error (GError **error, DWORD code)
{
  g_autofree char *reason = g_win32_error_message ((gint)code);

  if (code == ERROR_NO_SUCH_LOGON_SESSION)
    g_set_error (error, GATE_SECRET_STORE_ERROR, GATE_SECRET_STORE_ERROR_UNAVAILABLE,
                 _("Postgate could not reach the Windows Credential Manager (%s). Passwords "
                    "are kept only there, never in a plain file. Sign in to Windows "
                    "interactively."),
                 reason);
  else
    g_set_error (error, GATE_SECRET_STORE_ERROR, GATE_SECRET_STORE_ERROR_FAILED,
                 _("The Windows Credential Manager refused the request (%s)."), reason);
}

void
gate_secret_free (char *secret)
{
  if (secret == NULL)
    return;
  SecureZeroMemory (secret, strlen (secret));
  g_free (secret);
}

gboolean
gate_secret_store_store_sync (const char *profile_id, GateSecretKind kind, const char *label_name,
                              const char *secret, GCancellable *cancellable, GError **error)
{
  g_autofree gunichar2 *target = NULL;
  g_autofree gunichar2 *comment = NULL;
  g_autofree char *label = NULL;
  CREDENTIALW credential;
  size_t length;

  g_return_val_if_fail (profile_id != NULL, FALSE);
  g_return_val_if_fail (gate_secret_kind_to_string (kind) != NULL, FALSE);
  g_return_val_if_fail (secret != NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  target = make_target (profile_id, kind, error);
  if (target == NULL)
    return FALSE;
  label = make_label (kind, label_name);
  comment = g_utf8_to_utf16 (label, -1, NULL, NULL, NULL);

  length = strlen (secret);
  if (length > CRED_MAX_CREDENTIAL_BLOB_SIZE)
    {
      g_set_error_literal (error, GATE_SECRET_STORE_ERROR, GATE_SECRET_STORE_ERROR_FAILED,
                           _("The secret is too long for the Windows Credential Manager."));
      return FALSE;
    }

  memset (&credential, 0, sizeof credential);
  credential.Type = CRED_TYPE_GENERIC;
  credential.TargetName = (LPWSTR)target;
  credential.Comment = (LPWSTR)comment;
  credential.CredentialBlobSize = (DWORD)length;
  credential.CredentialBlob = (LPBYTE)secret;
  credential.Persist = CRED_PERSIST_LOCAL_MACHINE;
  credential.UserName = (LPWSTR)L"Postgate";

  if (!CredWriteW (&credential, 0))
    {
      set_credential_error (error, GetLastError ());
      return FALSE;
    }

  return TRUE;
}

char *
gate_secret_store_lookup_sync (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                               GError **error)
{
  g_autofree gunichar2 *target = NULL;
  PCREDENTIALW credential = NULL;
  char *secret;

  g_return_val_if_fail (profile_id != NULL, NULL);
  g_return_val_if_fail (gate_secret_kind_to_string (kind) != NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  target = make_target (profile_id, kind, error);
  if (target == NULL)
    return NULL;

  if (!CredReadW ((LPCWSTR)target, CRED_TYPE_GENERIC, 0, &credential))
    {
      DWORD code = GetLastError ();

      if (code != ERROR_NOT_FOUND)
        set_credential_error (error, code);
      return NULL;
    }

  secret = g_strndup ((const char *)credential->CredentialBlob, credential->CredentialBlobSize);
  SecureZeroMemory (credential->CredentialBlob, credential->CredentialBlobSize);
  CredFree (credential);
  return secret;
}

gboolean
gate_secret_store_delete_sync (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                               GError **error)
{
  g_autofree gunichar2 *target = NULL;

  g_return_val_if_fail (profile_id != NULL, FALSE);
  g_return_val_if_fail (gate_secret_kind_to_string (kind) != NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  target = make_target (profile_id, kind, error);
  if (target == NULL)
    return FALSE;

  if (!CredDeleteW ((LPCWSTR)target, CRED_TYPE_GENERIC, 0))
    {
      DWORD code = GetLastError ();

      if (code == ERROR_NOT_FOUND)
        return TRUE;
      set_credential_error (error, code);
      return FALSE;
    }

  return TRUE;
}

/* Asynchronous variants: the same calls in a worker thread. */

typedef struct
{
  char *profile_id;
  GateSecretKind kind;
  char *label_name;
  char *secret;
} SecretRequest;

static void
secret_request_free (gpointer data)
{
  SecretRequest *request = data;

  g_free (request->profile_id);
  g_free (request->label_name);
  gate_secret_free (request->secret);
  g_free (request);
}

static GTask *
make_task (const char *profile_id, GateSecretKind kind, const char *label_name, const char *secret,
           GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data, gpointer source_tag)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  SecretRequest *request = g_new0 (SecretRequest, 1);

  request->profile_id = g_strdup (profile_id);
  request->kind = kind;
  request->label_name = g_strdup (label_name);
  request->secret = g_strdup (secret);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, request, secret_request_free);
  return task;
}

static void
store_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SecretRequest *request = task_data;
  GError *error = NULL;

  if (gate_secret_store_store_sync (request->profile_id, request->kind, request->label_name, request->secret,
                                    cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
gate_secret_store_store_async (const char *profile_id, GateSecretKind kind, const char *label_name,
                               const char *secret, GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  GTask *task;

  g_return_if_fail (profile_id != NULL);
  g_return_if_fail (secret != NULL);

  task = make_task (profile_id, kind, label_name, secret, cancellable, callback, user_data,
                    (gpointer)gate_secret_store_store_async);
  g_task_run_in_thread (task, store_thread);
  g_object_unref (task);
}

gboolean
gate_secret_store_store_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
lookup_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SecretRequest *request = task_data;
  GError *error = NULL;
  char *secret;

  secret = gate_secret_store_lookup_sync (request->profile_id, request->kind, cancellable, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, secret, (GDestroyNotify)gate_secret_free);
}

void
gate_secret_store_lookup_async (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (profile_id != NULL);

  task = make_task (profile_id, kind, NULL, NULL, cancellable, callback, user_data,
                    (gpointer)gate_secret_store_lookup_async);
  g_task_run_in_thread (task, lookup_thread);
  g_object_unref (task);
}

char *
gate_secret_store_lookup_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
delete_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SecretRequest *request = task_data;
  GError *error = NULL;

  if (gate_secret_store_delete_sync (request->profile_id, request->kind, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
gate_secret_store_delete_async (const char *profile_id, GateSecretKind kind, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (profile_id != NULL);

  task = make_task (profile_id, kind, NULL, NULL, cancellable, callback, user_data,
                    (gpointer)gate_secret_store_delete_async);
  g_task_run_in_thread (task, delete_thread);
  g_object_unref (task);
}

gboolean
gate_secret_store_delete_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
