/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The profile store on a real file system: round trips, damaged and newer
 * files, permissions, merging writers (two stores, and processes writing at
 * once), export and import.  Each test has its own config folder
 * (G_TEST_OPTION_ISOLATE_DIRS). */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gate-profile-store.h"

static char *
store_path (void)
{
  return gate_profile_store_get_default_path ();
}

static GateProfileStore *
open_store (void)
{
  g_autoptr (GateProfileStore) store = gate_profile_store_new (NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (gate_profile_store_load (store, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&store);
}

static GateProfile *
make_profile (const char *name, const char *host)
{
  GateProfile *profile = gate_profile_new (name);

  gate_profile_set_host (profile, host);
  return profile;
}

static void
add_profile (GateProfileStore *store, const char *name, const char *host)
{
  g_autoptr (GateProfile) profile = make_profile (name, host);
  g_autoptr (GError) error = NULL;

  g_assert_true (gate_profile_store_add (store, profile, &error));
  g_assert_no_error (error);
}

static guint
n_profiles (GateProfileStore *store)
{
  return g_list_model_get_n_items (G_LIST_MODEL (store));
}

static void
write_file (const char *contents, int mode)
{
  g_autofree char *path = store_path ();
  g_autofree char *folder = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_true (g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_NONE, mode, &error));
  g_assert_no_error (error);
}

/* The names of the files set aside next to the store's file. */
static GPtrArray *
list_aside (void)
{
  g_autofree char *path = store_path ();
  g_autofree char *folder = g_path_get_dirname (path);
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "profiles.ini.damaged-"))
      g_ptr_array_add (names, g_build_filename (folder, name, NULL));
  return names;
}

static void
test_empty (void)
{
  g_autoptr (GateProfileStore) store = open_store ();
  g_autofree char *path = store_path ();

  g_assert_cmpuint (n_profiles (store), ==, 0);
  g_assert_null (gate_profile_store_get_problem (store));
  g_assert_true (g_str_has_prefix (path, g_get_user_config_dir ()));
  g_assert_true (g_str_has_suffix (path, "postgate/profiles.ini"));
  g_assert_cmpstr (gate_profile_store_get_path (store), ==, path);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_round_trip (void)
{
  g_autoptr (GateProfileStore) store = open_store ();
  g_autoptr (GateProfileStore) again = NULL;
  g_autofree char *path = store_path ();
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *contents = NULL;
  g_autoptr (GateProfile) profile = make_profile ("Office", "mail.example.com");
  g_autoptr (GError) error = NULL;
  GateProfile *loaded;
  GStatBuf st;

  gate_profile_apply_preset (profile, "smtp2go", "eu");
  gate_profile_set_username (profile, "office");
  gate_profile_set_sender_address (profile, "office@example.com");
  g_assert_true (gate_profile_store_add (store, profile, &error));
  g_assert_no_error (error);
  add_profile (store, "Home", "smtp.example.net");

  /* Names are unique. */
  {
    g_autoptr (GateProfile) clash = make_profile ("Home", "x.example.com");

    g_assert_false (gate_profile_store_add (store, clash, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_clear_error (&error);
  }
  /* So are invalid ones refused. */
  {
    g_autoptr (GateProfile) invalid = make_profile ("Bad", "not a host");

    g_assert_false (gate_profile_store_add (store, invalid, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (folder, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_test_message ("%s", contents);
  /* Human-readable, the version first. */
  g_assert_nonnull (strstr (contents, "[Postgate]\nformat-version=1\n"));
  g_assert_true (strstr (contents, "[Postgate]") < strstr (contents, "[Profile "));
  g_assert_nonnull (strstr (contents, "name=Office\n"));
  g_assert_nonnull (strstr (contents, "host=mail-eu.smtp2go.com\n"));

  again = open_store ();
  g_assert_cmpuint (n_profiles (again), ==, 2);
  loaded = gate_profile_store_lookup_by_name (again, "Office");
  g_assert_nonnull (loaded);
  g_assert_cmpstr (gate_profile_get_id (loaded), ==, gate_profile_get_id (profile));
  g_assert_cmpstr (gate_profile_get_host (loaded), ==, "mail-eu.smtp2go.com");
  g_assert_cmpstr (gate_profile_get_username (loaded), ==, "office");
  g_assert_cmpstr (gate_profile_get_sender_address (loaded), ==, "office@example.com");
  g_assert_true (gate_profile_store_lookup_by_id (again, gate_profile_get_id (profile)) == loaded);
  g_assert_true (gate_profile_store_lookup (again, gate_profile_get_id (profile)) == loaded);
  g_assert_true (gate_profile_store_lookup (again, "Office") == loaded);
  g_assert_null (gate_profile_store_lookup (again, "Nobody"));

  /* An edit is saved with save(). */
  gate_profile_set_port (loaded, 2525);
  g_assert_true (gate_profile_store_save (again, &error));
  g_assert_no_error (error);
  g_clear_object (&store);
  store = open_store ();
  g_assert_cmpuint (gate_profile_get_port (gate_profile_store_lookup (store, "Office")), ==, 2525);

  /* Removal. */
  g_assert_true (gate_profile_store_remove (store, gate_profile_store_lookup (store, "Home"), &error));
  g_assert_no_error (error);
  g_clear_object (&again);
  again = open_store ();
  g_assert_cmpuint (n_profiles (again), ==, 1);
  g_assert_null (gate_profile_store_lookup (again, "Home"));
}

static void
test_damaged (void)
{
  static const char *garbage = "[Postgate\nformat-version=1\n\x01\x02 this is not a key file\n";
  g_autoptr (GateProfileStore) store = NULL;
  g_autoptr (GPtrArray) aside = NULL;
  g_autofree char *kept = NULL;
  g_autofree char *path = store_path ();
  g_autoptr (GError) error = NULL;

  write_file (garbage, 0600);
  store = open_store ();
  g_assert_cmpuint (n_profiles (store), ==, 0);
  g_assert_nonnull (gate_profile_store_get_problem (store));
  g_test_message ("problem: %s", gate_profile_store_get_problem (store));
  g_assert_nonnull (strstr (gate_profile_store_get_problem (store), "damaged"));
  g_assert_nonnull (strstr (gate_profile_store_get_problem (store), "profiles.ini.damaged-"));

  /* Moved aside intact, not deleted. */
  aside = list_aside ();
  g_assert_cmpuint (aside->len, ==, 1);
  g_assert_true (g_file_get_contents (g_ptr_array_index (aside, 0), &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, garbage);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* Work goes on with a new file. */
  add_profile (store, "New", "mail.example.com");
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  gate_profile_store_clear_problem (store);
  g_assert_null (gate_profile_store_get_problem (store));

  /* A second damaged file in the same second never overwrites the first. */
  write_file ("[[[", 0600);
  g_assert_true (gate_profile_store_load (store, &error));
  g_assert_no_error (error);
  write_file ("]]]", 0600);
  g_assert_true (gate_profile_store_load (store, &error));
  g_assert_no_error (error);
  g_clear_pointer (&aside, g_ptr_array_unref);
  aside = list_aside ();
  g_assert_cmpuint (aside->len, ==, 3);
}

static void
test_damaged_on_save (void)
{
  g_autoptr (GateProfileStore) store = open_store ();
  g_autoptr (GateProfileStore) again = NULL;
  g_autoptr (GPtrArray) aside = NULL;
  g_autoptr (GError) error = NULL;

  add_profile (store, "One", "one.example.com");
  add_profile (store, "Two", "two.example.com");

  /* Damaged behind the store's back: the next save keeps what it knows. */
  write_file ("\xff\xfe garbage", 0600);
  gate_profile_set_port (gate_profile_store_lookup (store, "One"), 465);
  g_assert_true (gate_profile_store_save (store, &error));
  g_assert_no_error (error);
  g_assert_nonnull (gate_profile_store_get_problem (store));

  aside = list_aside ();
  g_assert_cmpuint (aside->len, ==, 1);
  again = open_store ();
  g_assert_cmpuint (n_profiles (again), ==, 2);
  g_assert_cmpuint (gate_profile_get_port (gate_profile_store_lookup (again, "One")), ==, 465);
}

/* The file's text with @line put in after the line that starts with @after. */
static char *
insert_after (const char *contents, const char *after, const char *line)
{
  const char *at = strstr (contents, after);
  const char *end;

  g_assert_nonnull (at);
  end = strchr (at, '\n');
  g_assert_nonnull (end);
  return g_strdup_printf ("%.*s\n%s%s", (int)(end - contents), contents, line, end);
}

static char *
read_store_file (void)
{
  g_autofree char *path = store_path ();
  char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  return contents;
}

static void
test_salvage (void)
{
  g_autoptr (GateProfileStore) store = open_store ();
  g_autoptr (GateProfileStore) again = NULL;
  g_autoptr (GPtrArray) aside = NULL;
  g_autofree char *good = NULL;
  g_autofree char *damaged = NULL;
  g_autofree char *kept = NULL;
  g_autofree char *now = NULL;
  const char *problem;

  add_profile (store, "Office", "office.example.com");
  add_profile (store, "Home", "home.example.com");
  add_profile (store, "Shop", "shop.example.com");
  g_clear_object (&store);
  good = read_store_file ();

  /* A hand edit gone wrong in one profile: only that one is left out. */
  damaged = insert_after (good, "host=home.example.com", "port 2525");
  write_file (damaged, 0600);
  store = open_store ();
  problem = gate_profile_store_get_problem (store);
  g_assert_nonnull (problem);
  g_test_message ("problem: %s", problem);
  g_assert_nonnull (strstr (problem, "1 profile could not be read"));
  g_assert_nonnull (strstr (problem, "profiles.ini.damaged-"));
  g_assert_cmpuint (n_profiles (store), ==, 2);
  g_assert_nonnull (gate_profile_store_lookup (store, "Office"));
  g_assert_nonnull (gate_profile_store_lookup (store, "Shop"));
  g_assert_null (gate_profile_store_lookup (store, "Home"));
  /* The file as it was is kept, the one in its place reads cleanly. */
  aside = list_aside ();
  g_assert_cmpuint (aside->len, ==, 1);
  g_assert_true (g_file_get_contents (g_ptr_array_index (aside, 0), &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, damaged);
  now = read_store_file ();
  g_assert_null (strstr (now, "port 2525"));
  g_assert_null (strstr (now, "home.example.com"));
  g_assert_nonnull (strstr (now, "office.example.com"));
  again = open_store ();
  g_assert_null (gate_profile_store_get_problem (again));
  g_assert_cmpuint (n_profiles (again), ==, 2);
  g_clear_object (&again);
  g_clear_object (&store);
  g_clear_pointer (&damaged, g_free);
  g_clear_pointer (&kept, g_free);
  g_clear_pointer (&now, g_free);

  /* A bad line outside every profile costs nothing, and a file cut short
   * in the middle of a group line loses only that group. */
  {
    g_autofree char *stray = insert_after (good, "format-version=", "\x01\x02 not a setting");

    damaged = g_strconcat (stray, "[Profile cut-sh", NULL);
  }
  write_file (damaged, 0600);
  store = open_store ();
  problem = gate_profile_store_get_problem (store);
  g_test_message ("problem: %s", problem);
  g_assert_nonnull (strstr (problem, "1 profile could not be read"));
  g_assert_cmpuint (n_profiles (store), ==, 3);
  g_clear_object (&store);
  g_clear_pointer (&damaged, g_free);

  damaged = insert_after (good, "format-version=", "garbage");
  write_file (damaged, 0600);
  store = open_store ();
  problem = gate_profile_store_get_problem (store);
  g_test_message ("problem: %s", problem);
  g_assert_nonnull (strstr (problem, "all your profiles could be read"));
  g_assert_cmpuint (n_profiles (store), ==, 3);
  g_clear_object (&store);
  g_clear_pointer (&damaged, g_free);

  /* Without its version line nothing can be trusted: all of it is set
   * aside, as before. */
  {
    g_autofree char *no_version = g_strdup (good);
    char *line = strstr (no_version, "format-version=");

    line[0] = '=';
    write_file (no_version, 0600);
  }
  store = open_store ();
  g_assert_cmpuint (n_profiles (store), ==, 0);
  g_assert_nonnull (strstr (gate_profile_store_get_problem (store), "are not shown"));
}

static void
test_salvage_on_save (void)
{
  g_autoptr (GateProfileStore) store = open_store ();
  g_autoptr (GateProfileStore) other = NULL;
  g_autoptr (GateProfileStore) again = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *damaged = NULL;
  g_autoptr (GError) error = NULL;

  add_profile (store, "Office", "office.example.com");
  add_profile (store, "Home", "home.example.com");
  /* Another program adds one; then the file is damaged in Home. */
  other = open_store ();
  add_profile (other, "Shop", "shop.example.com");
  g_clear_object (&other);
  contents = read_store_file ();
  damaged = insert_after (contents, "host=home.example.com", "not a setting");
  write_file (damaged, 0600);

  /* This store still knows Home: the save keeps it, and keeps Shop, which
   * only the damaged file had. */
  gate_profile_set_port (gate_profile_store_lookup (store, "Office"), 465);
  g_assert_true (gate_profile_store_save (store, &error));
  g_assert_no_error (error);
  g_assert_nonnull (gate_profile_store_get_problem (store));
  again = open_store ();
  g_assert_null (gate_profile_store_get_problem (again));
  g_assert_cmpuint (n_profiles (again), ==, 3);
  g_assert_cmpuint (gate_profile_get_port (gate_profile_store_lookup (again, "Office")), ==, 465);
  g_assert_nonnull (gate_profile_store_lookup (again, "Home"));
  g_assert_nonnull (gate_profile_store_lookup (again, "Shop"));
  g_assert_cmpuint (n_profiles (store), ==, 3);
}

static void
test_newer_version (void)
{
  static const char *newer
      = "[Postgate]\nformat-version=2\n\n[Profile abc]\nname=Future\nhost=x.example.com\n";
  g_autoptr (GateProfileStore) store = NULL;
  g_autoptr (GPtrArray) aside = NULL;
  g_autofree char *kept = NULL;

  write_file (newer, 0600);
  store = open_store ();
  g_assert_cmpuint (n_profiles (store), ==, 0);
  g_assert_nonnull (gate_profile_store_get_problem (store));
  g_test_message ("problem: %s", gate_profile_store_get_problem (store));
  g_assert_nonnull (strstr (gate_profile_store_get_problem (store), "newer version"));

  aside = list_aside ();
  g_assert_cmpuint (aside->len, ==, 1);
  g_assert_true (g_file_get_contents (g_ptr_array_index (aside, 0), &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, newer);
}

static void
test_no_version (void)
{
  g_autoptr (GateProfileStore) store = NULL;
  g_autoptr (GPtrArray) aside = NULL;

  write_file ("[Profile abc]\nname=Old\nhost=x.example.com\n", 0600);
  store = open_store ();
  g_assert_cmpuint (n_profiles (store), ==, 0);
  g_assert_nonnull (gate_profile_store_get_problem (store));
  aside = list_aside ();
  g_assert_cmpuint (aside->len, ==, 1);
}

static void
test_unreadable_profile_kept (void)
{
  g_autoptr (GateProfileStore) store = NULL;
  g_autofree char *path = store_path ();
  g_autofree char *contents = NULL;

  write_file ("[Postgate]\nformat-version=1\n\n"
              "[Profile good]\nname=Good\nhost=good.example.com\nport=2525\n\n"
              "[Profile nameless]\nhost=x.example.com\n",
              0600);
  store = open_store ();
  g_assert_cmpuint (n_profiles (store), ==, 1);
  g_assert_cmpuint (gate_profile_get_port (gate_profile_store_lookup (store, "Good")), ==, 2525);
  g_assert_cmpstr (gate_profile_get_id (gate_profile_store_lookup (store, "Good")), ==, "good");
  g_assert_nonnull (gate_profile_store_get_problem (store));

  /* A save leaves the group it could not read alone. */
  add_profile (store, "Other", "other.example.com");
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "[Profile nameless]"));
}

static void
test_permissions (void)
{
  g_autoptr (GateProfileStore) store = NULL;
  g_autofree char *path = store_path ();
  g_autofree char *folder = g_path_get_dirname (path);
  GStatBuf st;

  write_file ("[Postgate]\nformat-version=1\n\n[Profile p]\nname=Shared\nhost=x.example.com\n", 0644);
  g_assert_cmpint (g_chmod (folder, 0755), ==, 0);

  store = open_store ();
  g_assert_cmpuint (n_profiles (store), ==, 1);
  g_assert_nonnull (gate_profile_store_get_problem (store));
  g_test_message ("problem: %s", gate_profile_store_get_problem (store));
  g_assert_nonnull (strstr (gate_profile_store_get_problem (store), "other users"));

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (folder, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* Nothing to report the next time. */
  g_clear_object (&store);
  store = open_store ();
  g_assert_null (gate_profile_store_get_problem (store));
}

static void
test_merge_two_stores (void)
{
  g_autoptr (GateProfileStore) a = open_store ();
  g_autoptr (GateProfileStore) b = open_store ();
  g_autoptr (GateProfileStore) c = NULL;
  g_autoptr (GError) error = NULL;

  /* Each adds without having seen the other's profile. */
  add_profile (a, "From A", "a.example.com");
  add_profile (b, "From B", "b.example.com");
  g_assert_cmpuint (n_profiles (b), ==, 2); /* b's save merged a's */
  g_assert_true (gate_profile_store_load (a, &error));
  g_assert_cmpuint (n_profiles (a), ==, 2);

  /* Each edits a different profile; neither edit is lost. */
  gate_profile_set_port (gate_profile_store_lookup (a, "From A"), 2525);
  gate_profile_set_port (gate_profile_store_lookup (b, "From B"), 8025);
  g_assert_true (gate_profile_store_save (a, &error));
  g_assert_true (gate_profile_store_save (b, &error));
  g_assert_no_error (error);
  c = open_store ();
  g_assert_cmpuint (gate_profile_get_port (gate_profile_store_lookup (c, "From A")), ==, 2525);
  g_assert_cmpuint (gate_profile_get_port (gate_profile_store_lookup (c, "From B")), ==, 8025);
  /* b's save brought a's edit into b's copy. */
  g_assert_cmpuint (gate_profile_get_port (gate_profile_store_lookup (b, "From A")), ==, 2525);

  /* A removal in one is not undone by a save of the other. */
  g_assert_true (gate_profile_store_remove (a, gate_profile_store_lookup (a, "From A"), &error));
  gate_profile_set_host (gate_profile_store_lookup (b, "From B"), "b2.example.com");
  g_assert_true (gate_profile_store_save (b, &error));
  g_assert_no_error (error);
  g_assert_null (gate_profile_store_lookup (b, "From A"));
  g_clear_object (&c);
  c = open_store ();
  g_assert_cmpuint (n_profiles (c), ==, 1);
  g_assert_cmpstr (gate_profile_get_host (gate_profile_store_lookup (c, "From B")), ==, "b2.example.com");
}

#define N_WRITERS 4
#define N_PER_WRITER 12

static void
test_concurrent_processes (void)
{
  g_autoptr (GateProfileStore) store = NULL;
  pid_t children[N_WRITERS];

  /* Create the folder first so every child races on the file only. */
  store = open_store ();
  g_clear_object (&store);

  for (guint w = 0; w < N_WRITERS; w++)
    {
      pid_t pid = fork ();

      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          GateProfileStore *mine;
          int status = 0;

          /* A forked child inherits GLib's random state, and so would make
           * the same profile ids as its siblings; separate processes do not. */
          g_random_set_seed ((guint32)getpid ());
          mine = gate_profile_store_new (NULL);

          if (!gate_profile_store_load (mine, NULL))
            _exit (3);
          for (guint i = 0; i < N_PER_WRITER; i++)
            {
              g_autofree char *name = g_strdup_printf ("writer %u profile %u", w, i);
              GateProfile *profile = make_profile (name, "mail.example.com");

              if (!gate_profile_store_add (mine, profile, NULL))
                status = 4;
              g_object_unref (profile);
            }
          g_object_unref (mine);
          _exit (status);
        }
      children[w] = pid;
    }

  for (guint w = 0; w < N_WRITERS; w++)
    {
      int status = 0;

      g_assert_cmpint (waitpid (children[w], &status, 0), ==, children[w]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }

  store = open_store ();
  g_assert_null (gate_profile_store_get_problem (store));
  g_assert_cmpuint (n_profiles (store), ==, N_WRITERS * N_PER_WRITER);
  for (guint w = 0; w < N_WRITERS; w++)
    for (guint i = 0; i < N_PER_WRITER; i++)
      {
        g_autofree char *name = g_strdup_printf ("writer %u profile %u", w, i);

        g_assert_nonnull (gate_profile_store_lookup (store, name));
      }
}

static void
test_export_import (void)
{
  g_autoptr (GateProfileStore) store = open_store ();
  g_autoptr (GPtrArray) chosen = g_ptr_array_new ();
  g_autoptr (GPtrArray) added = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *export_path = g_build_filename (g_get_user_data_dir (), "export.ini", NULL);
  g_autofree char *contents = NULL;
  GateProfile *office;
  GateProfile *copy;

  g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0700), ==, 0);
  add_profile (store, "Office", "mail.example.com");
  add_profile (store, "Home", "home.example.com");
  office = gate_profile_store_lookup (store, "Office");
  gate_profile_set_has_password (office, TRUE);
  gate_profile_set_has_api_key (office, TRUE);
  gate_profile_set_username (office, "office");
  g_assert_true (gate_profile_store_save (store, &error));

  g_ptr_array_add (chosen, office);
  g_assert_true (gate_profile_store_export (store, export_path, chosen, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (export_path, &contents, NULL, NULL));
  g_test_message ("%s", contents);
  g_assert_nonnull (strstr (contents, "format-version=1"));
  g_assert_nonnull (strstr (contents, "name=Office"));
  g_assert_null (strstr (contents, "name=Home"));
  g_assert_null (strstr (contents, "has-password"));
  g_assert_null (strstr (contents, "has-api-key"));

  added = gate_profile_store_import (store, export_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (added->len, ==, 1);
  copy = g_ptr_array_index (added, 0);
  g_assert_cmpstr (gate_profile_get_name (copy), ==, "Office (2)");
  g_assert_cmpstr (gate_profile_get_id (copy), !=, gate_profile_get_id (office));
  g_assert_cmpstr (gate_profile_get_username (copy), ==, "office");
  g_assert_false (gate_profile_get_has_password (copy));
  g_clear_pointer (&added, g_ptr_array_unref);

  added = gate_profile_store_import (store, export_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gate_profile_get_name (g_ptr_array_index (added, 0)), ==, "Office (3)");
  g_clear_pointer (&added, g_ptr_array_unref);

  /* All exported, and the imports were saved. */
  g_clear_object (&store);
  store = open_store ();
  g_assert_cmpuint (n_profiles (store), ==, 4);
  g_assert_true (gate_profile_store_export (store, export_path, NULL, &error));
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (export_path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "name=Home"));

  /* All or nothing: one unusable profile and none is imported. */
  g_assert_true (g_file_set_contents (export_path,
                                      "[Postgate]\nformat-version=1\n\n"
                                      "[Profile a]\nname=Fine\nhost=fine.example.com\n\n"
                                      "[Profile b]\nname=Broken\nhost=not a host\n",
                                      -1, NULL));
  g_assert_null (gate_profile_store_import (store, export_path, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_cmpuint (n_profiles (store), ==, 4);
  g_assert_null (gate_profile_store_lookup (store, "Fine"));

  /* Files that are not exports. */
  g_assert_true (g_file_set_contents (export_path, "[Postgate]\nformat-version=9\n", -1, NULL));
  g_assert_null (gate_profile_store_import (store, export_path, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (export_path, "hello", -1, NULL));
  g_assert_null (gate_profile_store_import (store, export_path, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_null (gate_profile_store_import (store, "/nonexistent/export.ini", &error));
  g_assert_nonnull (error);
}

typedef struct
{
  guint changed;
  guint added;
  guint removed;
} Counts;

static void
items_changed_cb (GListModel *model, guint position, guint removed, guint added, Counts *counts)
{
  counts->added += added;
  counts->removed += removed;
}

static void
changed_cb (GateProfileStore *store, Counts *counts)
{
  counts->changed++;
}

static void
test_list_model (void)
{
  g_autoptr (GateProfileStore) store = open_store ();
  g_autoptr (GateProfileStore) other = open_store ();
  g_autoptr (GateProfile) first = NULL;
  g_autoptr (GError) error = NULL;
  Counts counts = { 0 };

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (store)) == GATE_TYPE_PROFILE);
  g_signal_connect (store, "items-changed", G_CALLBACK (items_changed_cb), &counts);
  g_signal_connect (store, "changed", G_CALLBACK (changed_cb), &counts);

  add_profile (store, "One", "one.example.com");
  add_profile (store, "Two", "two.example.com");
  g_assert_cmpuint (counts.added, ==, 2);
  g_assert_cmpuint (counts.changed, >=, 2);
  first = g_list_model_get_item (G_LIST_MODEL (store), 0);
  g_assert_cmpstr (gate_profile_get_name (first), ==, "One");
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (store), 2));

  counts.changed = 0;
  gate_profile_set_username (first, "someone");
  g_assert_cmpuint (counts.changed, ==, 1);

  g_assert_true (gate_profile_store_remove (store, first, &error));
  g_assert_cmpuint (counts.removed, ==, 1);
  g_assert_cmpuint (n_profiles (store), ==, 1);

  /* Another writer's profile appears at the next load. */
  add_profile (other, "Three", "three.example.com");
  counts.changed = 0;
  g_assert_true (gate_profile_store_load (store, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (counts.added, ==, 3);
  g_assert_cmpuint (counts.changed, ==, 1);
  g_assert_nonnull (gate_profile_store_lookup (store, "Three"));

  /* And a reload without changes says nothing. */
  counts.changed = 0;
  g_assert_true (gate_profile_store_load (store, &error));
  g_assert_cmpuint (counts.changed, ==, 0);

  g_assert_cmpstr (gate_profile_store_check_name (store, "Two", NULL), ==,
                   "Another profile already has this name");
  g_assert_null (gate_profile_store_check_name (store, "Two", gate_profile_store_lookup (store, "Two")));
  {
    g_autofree char *unique = gate_profile_store_make_unique_name (store, "Two");
    g_autofree char *free_name = gate_profile_store_make_unique_name (store, "Four");

    g_assert_cmpstr (unique, ==, "Two (2)");
    g_assert_cmpstr (free_name, ==, "Four");
  }

  g_signal_handlers_disconnect_by_data (store, &counts);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/store/empty", test_empty);
  g_test_add_func ("/store/round-trip", test_round_trip);
  g_test_add_func ("/store/damaged", test_damaged);
  g_test_add_func ("/store/damaged-on-save", test_damaged_on_save);
  g_test_add_func ("/store/salvage", test_salvage);
  g_test_add_func ("/store/salvage-on-save", test_salvage_on_save);
  g_test_add_func ("/store/newer-version", test_newer_version);
  g_test_add_func ("/store/no-version", test_no_version);
  g_test_add_func ("/store/unreadable-profile-kept", test_unreadable_profile_kept);
  g_test_add_func ("/store/permissions", test_permissions);
  g_test_add_func ("/store/merge-two-stores", test_merge_two_stores);
  g_test_add_func ("/store/concurrent-processes", test_concurrent_processes);
  g_test_add_func ("/store/export-import", test_export_import);
  g_test_add_func ("/store/list-model", test_list_model);

  return g_test_run ();
}
