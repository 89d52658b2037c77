/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The secret store against a real keyring (run through with-keyring.sh: a
 * private D-Bus session with an unlocked GNOME Keyring), and, with
 * POSTGATE_TEST_KEYRING=none and no reachable session bus, the error a user
 * gets when there is no keyring. */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "gate-secret-store.h"

static char *
new_id (void)
{
  return g_uuid_string_random ();
}

static void
assert_secret (const char *id, GateSecretKind kind, const char *expected)
{
  g_autoptr (GError) error = NULL;
  char *secret = gate_secret_store_lookup_sync (id, kind, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, expected);
  gate_secret_free (secret);
}

static void
test_kinds (void)
{
  GateSecretKind kind;

  g_assert_cmpstr (gate_secret_kind_to_string (GATE_SECRET_PASSWORD), ==, "password");
  g_assert_cmpstr (gate_secret_kind_to_string (GATE_SECRET_API_KEY), ==, "api-key");
  g_assert_cmpstr (gate_secret_kind_to_string (GATE_SECRET_RELAY_PASSWORD), ==, "relay-password");
  g_assert_null (gate_secret_kind_to_string ((GateSecretKind)42));
  g_assert_true (gate_secret_kind_from_string ("api-key", &kind));
  g_assert_cmpint (kind, ==, GATE_SECRET_API_KEY);
  g_assert_false (gate_secret_kind_from_string ("token", &kind));
}

static void
test_round_trip (void)
{
  g_autofree char *id = new_id ();
  g_autofree char *other_id = new_id ();
  g_autoptr (GError) error = NULL;

  /* Nothing yet: NULL without an error. */
  assert_secret (id, GATE_SECRET_PASSWORD, NULL);

  g_assert_true (
      gate_secret_store_store_sync (id, GATE_SECRET_PASSWORD, "Office", "first pässword", NULL, &error));
  g_assert_no_error (error);
  assert_secret (id, GATE_SECRET_PASSWORD, "first pässword");

  /* Kinds and profiles are kept apart. */
  assert_secret (id, GATE_SECRET_API_KEY, NULL);
  assert_secret (other_id, GATE_SECRET_PASSWORD, NULL);
  g_assert_true (
      gate_secret_store_store_sync (id, GATE_SECRET_API_KEY, "Office", "api-0123456789abcdef", NULL, &error));
  g_assert_true (
      gate_secret_store_store_sync (other_id, GATE_SECRET_PASSWORD, "Home", "other", NULL, &error));
  g_assert_no_error (error);
  assert_secret (id, GATE_SECRET_API_KEY, "api-0123456789abcdef");
  assert_secret (other_id, GATE_SECRET_PASSWORD, "other");

  /* Update replaces. */
  g_assert_true (gate_secret_store_store_sync (id, GATE_SECRET_PASSWORD, "Office", "second", NULL, &error));
  g_assert_no_error (error);
  assert_secret (id, GATE_SECRET_PASSWORD, "second");

  /* Delete, and delete again. */
  g_assert_true (gate_secret_store_delete_sync (id, GATE_SECRET_PASSWORD, NULL, &error));
  g_assert_no_error (error);
  assert_secret (id, GATE_SECRET_PASSWORD, NULL);
  assert_secret (id, GATE_SECRET_API_KEY, "api-0123456789abcdef");
  g_assert_true (gate_secret_store_delete_sync (id, GATE_SECRET_PASSWORD, NULL, &error));
  g_assert_no_error (error);

  /* Everything of one profile. */
  g_assert_true (gate_secret_store_store_sync (id, GATE_SECRET_RELAY_PASSWORD, NULL, "relay", NULL, &error));
  g_assert_true (gate_secret_store_delete_all_sync (id, NULL, &error));
  g_assert_no_error (error);
  assert_secret (id, GATE_SECRET_API_KEY, NULL);
  assert_secret (id, GATE_SECRET_RELAY_PASSWORD, NULL);
  assert_secret (other_id, GATE_SECRET_PASSWORD, "other");
  g_assert_true (gate_secret_store_delete_all_sync (other_id, NULL, &error));
}

typedef struct
{
  GMainLoop *loop;
  GAsyncResult *result;
} AsyncData;

static void
async_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncData *data = user_data;

  data->result = g_object_ref (result);
  g_main_loop_quit (data->loop);
}

static GAsyncResult *
wait_for (AsyncData *data)
{
  g_main_loop_run (data->loop);
  return data->result;
}

static void
test_async (void)
{
  g_autofree char *id = new_id ();
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  AsyncData data = { loop, NULL };
  char *secret;

  gate_secret_store_store_async (id, GATE_SECRET_PASSWORD, "Async", "async secret", NULL, async_done, &data);
  g_assert_true (gate_secret_store_store_finish (wait_for (&data), &error));
  g_assert_no_error (error);
  g_clear_object (&data.result);

  gate_secret_store_lookup_async (id, GATE_SECRET_PASSWORD, NULL, async_done, &data);
  secret = gate_secret_store_lookup_finish (wait_for (&data), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, "async secret");
  gate_secret_free (secret);
  g_clear_object (&data.result);

  gate_secret_store_delete_async (id, GATE_SECRET_PASSWORD, NULL, async_done, &data);
  g_assert_true (gate_secret_store_delete_finish (wait_for (&data), &error));
  g_assert_no_error (error);
  g_clear_object (&data.result);

  gate_secret_store_lookup_async (id, GATE_SECRET_PASSWORD, NULL, async_done, &data);
  secret = gate_secret_store_lookup_finish (wait_for (&data), &error);
  g_assert_no_error (error);
  g_assert_null (secret);
  g_clear_object (&data.result);

  /* Cancelled before it starts: cancelled, nothing else. */
  {
    g_autoptr (GCancellable) cancellable = g_cancellable_new ();

    g_cancellable_cancel (cancellable);
    gate_secret_store_lookup_async (id, GATE_SECRET_PASSWORD, cancellable, async_done, &data);
    secret = gate_secret_store_lookup_finish (wait_for (&data), &error);
    g_assert_null (secret);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    g_clear_object (&data.result);
  }
}

/* A duplicated profile gets the original's secrets, of the kinds asked for
 * and there to copy; the original keeps its own. */
static void
test_copy_all (void)
{
  g_autofree char *id = new_id ();
  g_autofree char *copy_id = new_id ();
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  AsyncData data = { loop, NULL };
  guint copied = 0;

  g_assert_true (
      gate_secret_store_store_sync (id, GATE_SECRET_PASSWORD, "Office", "smtp pässword", NULL, &error));
  g_assert_true (gate_secret_store_store_sync (id, GATE_SECRET_RELAY_PASSWORD, "Office", "devices' password",
                                               NULL, &error));
  g_assert_true (
      gate_secret_store_store_sync (id, GATE_SECRET_API_KEY, "Office", "api-key-not-asked", NULL, &error));
  g_assert_no_error (error);

  /* Password and relay password asked for, and the API key only as a kind
   * the copy has none of yet: it stays the original's. */
  gate_secret_store_copy_all_async (id, copy_id,
                                    GATE_SECRET_KIND_FLAG (GATE_SECRET_PASSWORD)
                                        | GATE_SECRET_KIND_FLAG (GATE_SECRET_RELAY_PASSWORD),
                                    "Office (copy)", NULL, async_done, &data);
  g_assert_true (gate_secret_store_copy_all_finish (wait_for (&data), &copied, &error));
  g_assert_no_error (error);
  g_clear_object (&data.result);
  g_assert_cmpuint (copied, ==,
                    GATE_SECRET_KIND_FLAG (GATE_SECRET_PASSWORD)
                        | GATE_SECRET_KIND_FLAG (GATE_SECRET_RELAY_PASSWORD));
  assert_secret (copy_id, GATE_SECRET_PASSWORD, "smtp pässword");
  assert_secret (copy_id, GATE_SECRET_RELAY_PASSWORD, "devices' password");
  assert_secret (copy_id, GATE_SECRET_API_KEY, NULL);
  assert_secret (id, GATE_SECRET_PASSWORD, "smtp pässword");

  /* A kind asked for that the original does not have: not copied, no error. */
  g_assert_true (gate_secret_store_delete_sync (id, GATE_SECRET_RELAY_PASSWORD, NULL, &error));
  g_assert_true (gate_secret_store_delete_all_sync (copy_id, NULL, &error));
  gate_secret_store_copy_all_async (id, copy_id,
                                    GATE_SECRET_KIND_FLAG (GATE_SECRET_RELAY_PASSWORD)
                                        | GATE_SECRET_KIND_FLAG (GATE_SECRET_API_KEY),
                                    "Office (copy)", NULL, async_done, &data);
  g_assert_true (gate_secret_store_copy_all_finish (wait_for (&data), &copied, &error));
  g_assert_no_error (error);
  g_clear_object (&data.result);
  g_assert_cmpuint (copied, ==, GATE_SECRET_KIND_FLAG (GATE_SECRET_API_KEY));
  assert_secret (copy_id, GATE_SECRET_RELAY_PASSWORD, NULL);
  assert_secret (copy_id, GATE_SECRET_API_KEY, "api-key-not-asked");
  assert_secret (copy_id, GATE_SECRET_PASSWORD, NULL);

  g_assert_true (gate_secret_store_delete_all_sync (id, NULL, &error));
  g_assert_true (gate_secret_store_delete_all_sync (copy_id, NULL, &error));
  g_assert_no_error (error);
}

static void
set_locked (gboolean locked)
{
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  const char *paths[] = { "/org/freedesktop/secrets/collection/login", NULL };

  g_assert_nonnull (bus);
  /* Unlock needs a password prompt; only Lock is asked of the service. */
  g_assert_true (locked);
  reply = g_dbus_connection_call_sync (
      bus, "org.freedesktop.secrets", "/org/freedesktop/secrets", "org.freedesktop.Secret.Service", "Lock",
      g_variant_new ("(^ao)", paths), NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
}

static void
assert_locked (GError *error)
{
  g_assert_error (error, GATE_SECRET_STORE_ERROR, GATE_SECRET_STORE_ERROR_UNAVAILABLE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "keyring is locked"));
  g_assert_nonnull (strstr (error->message, "Unlock it"));
  /* The window shows it too: no command-line option in it. */
  g_assert_null (strstr (error->message, "--"));
}

/* Runs last: it leaves the keyring locked.  Unlocking needs a prompt, which
 * cannot be shown here (DISPLAY is empty), exactly as on a headless server. */
static void
test_locked (void)
{
  g_autofree char *id = new_id ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  AsyncData data = { loop, NULL };
  char *secret;

  g_assert_true (
      gate_secret_store_store_sync (id, GATE_SECRET_PASSWORD, "Locked", "locked secret", NULL, &error));
  g_assert_no_error (error);
  set_locked (TRUE);

  secret = gate_secret_store_lookup_sync (id, GATE_SECRET_PASSWORD, NULL, &error);
  g_assert_null (secret);
  assert_locked (error);
  g_clear_error (&error);

  gate_secret_store_lookup_async (id, GATE_SECRET_PASSWORD, NULL, async_done, &data);
  g_assert_null (gate_secret_store_lookup_finish (wait_for (&data), &error));
  assert_locked (error);
  g_clear_error (&error);
  g_clear_object (&data.result);

  g_assert_false (gate_secret_store_store_sync (id, GATE_SECRET_PASSWORD, "Locked", "new", NULL, &error));
  assert_locked (error);
  g_clear_error (&error);

  /* A copy says why it could not be made. */
  {
    g_autofree char *copy_id = new_id ();

    gate_secret_store_copy_all_async (id, copy_id, GATE_SECRET_KIND_FLAG (GATE_SECRET_PASSWORD),
                                      "Locked (copy)", NULL, async_done, &data);
    g_assert_false (gate_secret_store_copy_all_finish (wait_for (&data), NULL, &error));
    assert_locked (error);
    g_clear_error (&error);
    g_clear_object (&data.result);
  }

  /* A secret that is not there at all is still just not there. */
  {
    g_autofree char *other = new_id ();

    secret = gate_secret_store_lookup_sync (other, GATE_SECRET_PASSWORD, NULL, &error);
    g_assert_no_error (error);
    g_assert_null (secret);
  }
}

static void
assert_unavailable (GError *error)
{
  g_assert_error (error, GATE_SECRET_STORE_ERROR, GATE_SECRET_STORE_ERROR_UNAVAILABLE);
  g_test_message ("%s", error->message);
  /* It says what happened and what to do. */
  g_assert_nonnull (strstr (error->message, "could not reach the system keyring"));
  g_assert_null (strstr (error->message, "--"));
  g_assert_nonnull (strstr (error->message, "never in a plain file"));
}

static void
test_unavailable (void)
{
  g_autofree char *id = new_id ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  AsyncData data = { loop, NULL };
  char *secret;

  g_assert_false (gate_secret_store_store_sync (id, GATE_SECRET_PASSWORD, "X", "secret", NULL, &error));
  assert_unavailable (error);
  g_clear_error (&error);

  secret = gate_secret_store_lookup_sync (id, GATE_SECRET_PASSWORD, NULL, &error);
  g_assert_null (secret);
  assert_unavailable (error);
  g_clear_error (&error);

  g_assert_false (gate_secret_store_delete_sync (id, GATE_SECRET_PASSWORD, NULL, &error));
  assert_unavailable (error);
  g_clear_error (&error);

  gate_secret_store_store_async (id, GATE_SECRET_PASSWORD, "X", "secret", NULL, async_done, &data);
  g_assert_false (gate_secret_store_store_finish (wait_for (&data), &error));
  assert_unavailable (error);
  g_clear_error (&error);
  g_clear_object (&data.result);

  gate_secret_store_lookup_async (id, GATE_SECRET_PASSWORD, NULL, async_done, &data);
  g_assert_null (gate_secret_store_lookup_finish (wait_for (&data), &error));
  assert_unavailable (error);
  g_clear_object (&data.result);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/secrets/kinds", test_kinds);
  if (g_strcmp0 (g_getenv ("POSTGATE_TEST_KEYRING"), "none") == 0)
    {
      g_test_add_func ("/secrets/unavailable", test_unavailable);
    }
  else
    {
      g_test_add_func ("/secrets/round-trip", test_round_trip);
      g_test_add_func ("/secrets/async", test_async);
      g_test_add_func ("/secrets/copy-all", test_copy_all);
      g_test_add_func ("/secrets/zz-locked", test_locked);
    }

  return g_test_run ();
}
