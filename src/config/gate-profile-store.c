/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-config"

#include "config.h"

#include "gate-profile-store.h"

#include <glib/gi18n-lib.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gate-private-file.h"

#define META_GROUP "Postgate"
#define PROFILE_GROUP_PREFIX "Profile "
#define EXPORT_CONTENT "profile-export"

struct _GateProfileStore
{
  GObject parent_instance;

  char *path;
  char *problem;
  GPtrArray *profiles; /* GateProfile, in file order */
  GHashTable *dirty;   /* ids edited here and not yet saved */
  GHashTable *removed; /* ids removed here and not yet saved */
  gboolean applying;   /* copying the file's values: not an edit */
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GateProfileStore, gate_profile_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum
{
  PROP_0,
  PROP_PATH,
  PROP_PROBLEM,
  N_PROPS
};

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* GListModel */

static GType
list_model_get_item_type (GListModel *model)
{
  return GATE_TYPE_PROFILE;
}

static guint
list_model_get_n_items (GListModel *model)
{
  return GATE_PROFILE_STORE (model)->profiles->len;
}

static gpointer
list_model_get_item (GListModel *model, guint position)
{
  GateProfileStore *self = GATE_PROFILE_STORE (model);

  if (position >= self->profiles->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->profiles, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = list_model_get_item_type;
  iface->get_n_items = list_model_get_n_items;
  iface->get_item = list_model_get_item;
}

/* Tracking edits */

static void
profile_notify_cb (GateProfile *profile, GParamSpec *pspec, GateProfileStore *self)
{
  if (self->applying)
    return;
  g_hash_table_add (self->dirty, g_strdup (gate_profile_get_id (profile)));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
take_profile (GateProfileStore *self, GateProfile *profile)
{
  g_signal_connect_object (profile, "notify", G_CALLBACK (profile_notify_cb), self, 0);
  g_ptr_array_add (self->profiles, profile);
  g_list_model_items_changed (G_LIST_MODEL (self), self->profiles->len - 1, 0, 1);
}

static void
drop_profile_at (GateProfileStore *self, guint position)
{
  GateProfile *profile = g_ptr_array_index (self->profiles, position);

  g_signal_handlers_disconnect_by_func (profile, profile_notify_cb, self);
  g_ptr_array_remove_index (self->profiles, position);
  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
}

/* GObject */

static void
gate_profile_store_dispose (GObject *object)
{
  GateProfileStore *self = GATE_PROFILE_STORE (object);

  for (guint i = 0; i < self->profiles->len; i++)
    g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->profiles, i), profile_notify_cb, self);
  g_ptr_array_set_size (self->profiles, 0);

  G_OBJECT_CLASS (gate_profile_store_parent_class)->dispose (object);
}

static void
gate_profile_store_finalize (GObject *object)
{
  GateProfileStore *self = GATE_PROFILE_STORE (object);

  g_free (self->path);
  g_free (self->problem);
  g_clear_pointer (&self->profiles, g_ptr_array_unref);
  g_clear_pointer (&self->dirty, g_hash_table_unref);
  g_clear_pointer (&self->removed, g_hash_table_unref);

  G_OBJECT_CLASS (gate_profile_store_parent_class)->finalize (object);
}

static void
gate_profile_store_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateProfileStore *self = GATE_PROFILE_STORE (object);

  switch (prop_id)
    {
      case PROP_PATH:
        g_value_set_string (value, self->path);
        break;
      case PROP_PROBLEM:
        g_value_set_string (value, self->problem);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_profile_store_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GateProfileStore *self = GATE_PROFILE_STORE (object);

  switch (prop_id)
    {
      case PROP_PATH:
        self->path = g_value_dup_string (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_profile_store_constructed (GObject *object)
{
  GateProfileStore *self = GATE_PROFILE_STORE (object);

  G_OBJECT_CLASS (gate_profile_store_parent_class)->constructed (object);

  if (self->path == NULL)
    self->path = gate_profile_store_get_default_path ();
}

static void
gate_profile_store_class_init (GateProfileStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gate_profile_store_dispose;
  object_class->finalize = gate_profile_store_finalize;
  object_class->get_property = gate_profile_store_get_property;
  object_class->set_property = gate_profile_store_set_property;
  object_class->constructed = gate_profile_store_constructed;

  properties[PROP_PATH] = g_param_spec_string (
      "path", NULL, NULL, NULL, G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROBLEM] = g_param_spec_string (
      "problem", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                          NULL, NULL, G_TYPE_NONE, 0);
}

static void
gate_profile_store_init (GateProfileStore *self)
{
  self->profiles = g_ptr_array_new_with_free_func (g_object_unref);
  self->dirty = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->removed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

GateProfileStore *
gate_profile_store_new (const char *path)
{
  return g_object_new (GATE_TYPE_PROFILE_STORE, "path", path, NULL);
}

GateProfileStore *
gate_profile_store_new_default (void)
{
  GateProfileStore *self = gate_profile_store_new (NULL);
  g_autoptr (GError) error = NULL;

  if (!gate_profile_store_load (self, &error))
    {
      g_free (self->problem);
      self->problem = g_strdup (error->message);
    }
  return self;
}

char *
gate_profile_store_get_default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "postgate", "profiles.ini", NULL);
}

const char *
gate_profile_store_get_path (GateProfileStore *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), NULL);
  return self->path;
}

const char *
gate_profile_store_get_problem (GateProfileStore *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), NULL);
  return self->problem;
}

void
gate_profile_store_clear_problem (GateProfileStore *self)
{
  g_return_if_fail (GATE_IS_PROFILE_STORE (self));

  if (self->problem == NULL)
    return;
  g_clear_pointer (&self->problem, g_free);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROBLEM]);
}

static void
add_problem (GateProfileStore *self, const char *sentence)
{
  char *joined;

  if (self->problem != NULL && strstr (self->problem, sentence) != NULL)
    return;
  joined = self->problem ? g_strconcat (self->problem, " ", sentence, NULL) : g_strdup (sentence);
  g_free (self->problem);
  self->problem = joined;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROBLEM]);
}

/* Reading the file */

static gboolean
is_profile_group (const char *group)
{
  return g_str_has_prefix (group, PROFILE_GROUP_PREFIX) && group[strlen (PROFILE_GROUP_PREFIX)] != '\0';
}

static char *
make_aside_path (const char *path)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  char *aside = g_strdup_printf ("%s.damaged-%s", path, stamp);

  /* Never overwrite an earlier copy, even one from the same second. */
  for (guint i = 2; g_file_test (aside, G_FILE_TEST_EXISTS); i++)
    {
      g_free (aside);
      aside = g_strdup_printf ("%s.damaged-%s-%u", path, stamp, i);
    }
  return aside;
}

static gboolean
move_aside (GateProfileStore *self, GKeyFile *key_file, const char *reason, GError **error)
{
  g_autofree char *aside = make_aside_path (self->path);
  g_autofree char *display = g_filename_display_name (aside);
  g_autofree char *sentence = NULL;
  g_auto (GStrv) groups = g_key_file_get_groups (key_file, NULL);

  /* Whatever was read from it is not to be trusted. */
  for (guint i = 0; groups[i] != NULL; i++)
    g_key_file_remove_group (key_file, groups[i], NULL);

  if (g_rename (self->path, aside) != 0)
    {
      int saved_errno = errno;
      g_autofree char *file = g_filename_display_name (self->path);

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("The profile file “%s” could not be read, and could not be moved aside "
                      "either (%s). Postgate will not change it."),
                   file, g_strerror (saved_errno));
      return FALSE;
    }

  /* Translators: the first %s says what was wrong, the second is a file name. */
  sentence
      = g_strdup_printf (_("%s It was kept as “%s”; the profiles in it are not shown."), reason, display);
  add_problem (self, sentence);
  return TRUE;
}

/* What a damaged file still holds.  One bad line (a stray word, a line cut
 * short by a crash, a typo in a hand edit) makes the whole file unreadable
 * as a key file; only the profile it is in need be lost.  Each line is
 * judged by GKeyFile itself: a bad line in a profile's group leaves that
 * whole profile out (rather than load it with a setting silently gone),
 * a bad line elsewhere is left out alone.  Whether what is left can be
 * used (it still has its version line) is the caller's to check. */
static char *
salvage_contents (const char *contents, gsize length, guint *n_profiles_lost)
{
  g_autoptr (GHashTable) tainted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) group_names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) kept = g_string_new (NULL);
  g_autofree char *copy = g_strndup (contents, length);
  g_auto (GStrv) lines = NULL;
  g_autofree const char **line_group = NULL; /* NULL before the first group */
  g_autofree gboolean *good = NULL;
  const char *group = NULL;
  guint n_lines;
  guint n_lost = 0;

  /* A NUL cuts the text short: everything after one is judged line by line too. */
  for (gsize i = 0; i < length; i++)
    if (copy[i] == '\0')
      copy[i] = '\n';
  lines = g_strsplit (copy, "\n", -1);
  n_lines = g_strv_length (lines);
  line_group = g_new0 (const char *, n_lines);
  good = g_new0 (gboolean, n_lines);

  /* Each line judged once, the groups with a bad line noted... */
  for (guint i = 0; i < n_lines; i++)
    {
      const char *line = lines[i];
      const char *start = line;
      g_autoptr (GKeyFile) probe = g_key_file_new ();

      while (g_ascii_isspace (*start))
        start++;
      if (*start == '[')
        {
          g_auto (GStrv) names = NULL;

          if (g_utf8_validate (line, -1, NULL)
              && g_key_file_load_from_data (probe, line, (gsize)-1, G_KEY_FILE_NONE, NULL))
            names = g_key_file_get_groups (probe, NULL);
          good[i] = names != NULL && names[0] != NULL;
          /* What follows a broken group line belongs to no known group:
           * left out with it. */
          group = good[i] ? g_strdup (names[0]) : g_strdup_printf ("\x01%u", i);
          g_ptr_array_add (group_names, (char *)group);
          if (!good[i])
            {
              g_hash_table_add (tainted, (char *)group);
              if (g_str_has_prefix (start, "[" PROFILE_GROUP_PREFIX))
                n_lost++;
            }
        }
      else if (*start == '\0' || *start == '#')
        good[i] = TRUE;
      else
        {
          g_autofree char *text = g_strconcat ("[x]\n", line, "\n", NULL);

          good[i] = group != NULL && g_utf8_validate (line, -1, NULL)
                    && g_key_file_load_from_data (probe, text, (gsize)-1, G_KEY_FILE_NONE, NULL);
          if (!good[i] && group != NULL && is_profile_group (group)
              && !g_hash_table_contains (tainted, group))
            {
              g_hash_table_add (tainted, (char *)group);
              n_lost++;
            }
        }
      line_group[i] = group;
    }

  /* ...then the good lines outside them kept. */
  for (guint i = 0; i < n_lines; i++)
    if (good[i] && (line_group[i] == NULL || !g_hash_table_contains (tainted, line_group[i])))
      g_string_append_printf (kept, "%s\n", lines[i]);

  *n_profiles_lost = n_lost;
  return g_string_free (g_steal_pointer (&kept), FALSE);
}

/* Keeps the damaged file as it was beside the new one, and puts what could
 * be read from it in its place. */
static gboolean
replace_with_salvage (GateProfileStore *self, GKeyFile *key_file, const char *contents, gsize length)
{
  g_autofree char *aside = make_aside_path (self->path);
  g_autofree char *display = NULL;
  g_autofree char *salvaged = NULL;
  g_autofree char *sentence = NULL;
  guint n_lost = 0;
  gint version;

  salvaged = salvage_contents (contents, length, &n_lost);
  /* On failure the caller sets the whole file aside and empties @key_file. */
  if (!g_key_file_load_from_data (key_file, salvaged, (gsize)-1, G_KEY_FILE_NONE, NULL))
    return FALSE;
  version = g_key_file_get_integer (key_file, META_GROUP, "format-version", NULL);
  if (version < 1 || version > GATE_PROFILE_STORE_FORMAT_VERSION)
    return FALSE;

  if (!g_file_set_contents_full (aside, contents, (gssize)length, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL))
    return FALSE;
  if (!g_file_set_contents_full (self->path, salvaged, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL))
    {
      g_unlink (aside);
      return FALSE;
    }

  display = g_filename_display_name (aside);
  if (n_lost == 0)
    /* Translators: %s is a file name. */
    sentence = g_strdup_printf (_("Your profile file had a damaged line, which was left out; all your "
                                   "profiles could be read. The file as it was is kept as “%s”."),
                                display);
  else
    /* Translators: %u is a number of profiles, %s a file name. */
    sentence = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "Your profile file was damaged: %u profile could not be read "
                                             "and is not shown; the others could. The file as it was is "
                                             "kept as “%s”.",
                                             "Your profile file was damaged: %u profiles could not be read "
                                             "and are not shown; the others could. The file as it was is "
                                             "kept as “%s”.",
                                             n_lost),
                                n_lost, display);
  add_problem (self, sentence);
  return TRUE;
}

/* Reads the file into @key_file (empty when missing), moving a damaged or
 * newer file aside.  Called with the lock held. */
static gboolean
read_file (GateProfileStore *self, GKeyFile *key_file, gboolean *moved_aside, GError **error)
{
  g_autofree char *folder = g_path_get_dirname (self->path);
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  gboolean fixed = FALSE;
  gsize length = 0;
  gint version;

  *moved_aside = FALSE;

  if (!gate_private_folder_ensure (folder, &fixed, error))
    return FALSE;
  if (fixed)
    add_problem (self, _("The folder of your profiles could be opened by other users of this "
                          "computer; Postgate made it private again."));

  if (!gate_private_file_fix_permissions (self->path, &fixed, error))
    return FALSE;
  if (fixed)
    add_problem (self, _("Your profile file could be read by other users of this computer; "
                          "Postgate made it private again. It holds no passwords."));

  if (!g_file_get_contents (self->path, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (!g_key_file_load_from_data (key_file, contents, length, G_KEY_FILE_NONE, &local_error)
      || !g_utf8_validate (contents, (gssize)length, NULL))
    {
      *moved_aside = TRUE;
      if (replace_with_salvage (self, key_file, contents, length))
        return TRUE;
      return move_aside (self, key_file, _("Your profile file was damaged."), error);
    }

  version = g_key_file_get_integer (key_file, META_GROUP, "format-version", &local_error);
  if (local_error != NULL || version < 1)
    {
      *moved_aside = TRUE;
      return move_aside (self, key_file, _("Your profile file was damaged (it has no format version)."),
                         error);
    }
  if (version > GATE_PROFILE_STORE_FORMAT_VERSION)
    {
      *moved_aside = TRUE;
      return move_aside (self, key_file,
                         _("Your profile file was written by a newer version of Postgate "
                            "that this version cannot read safely."),
                         error);
    }

  return TRUE;
}

static char *
group_for_id (const char *id)
{
  return g_strconcat (PROFILE_GROUP_PREFIX, id, NULL);
}

/* The profiles in @key_file, in file order. */
static GPtrArray *
parse_profiles (GateProfileStore *self, GKeyFile *key_file)
{
  g_autoptr (GPtrArray) parsed = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto (GStrv) groups = g_key_file_get_groups (key_file, NULL);
  guint skipped = 0;

  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      const char *id = groups[i] + strlen (PROFILE_GROUP_PREFIX);
      GateProfile *profile;

      if (!is_profile_group (groups[i]))
        continue;

      /* The group name is what a save addresses, so it wins over the key. */
      profile = gate_profile_new_from_key_file (key_file, groups[i], id, &error);
      if (profile == NULL)
        {
          skipped++;
          continue;
        }
      g_ptr_array_add (parsed, profile);
    }

  if (skipped > 0)
    add_problem (self, _("A profile in your profile file could not be read and is not shown; "
                          "it was left in the file unchanged."));

  return g_steal_pointer (&parsed);
}

static GateProfile *
find_in (GPtrArray *profiles, const char *id, guint *position)
{
  for (guint i = 0; i < profiles->len; i++)
    {
      GateProfile *profile = g_ptr_array_index (profiles, i);

      if (g_strcmp0 (gate_profile_get_id (profile), id) == 0)
        {
          if (position != NULL)
            *position = i;
          return profile;
        }
    }
  return NULL;
}

/* Copies the file's values into @profile; TRUE when that changed anything
 * (another process edited it).  The serialised forms are compared because
 * that covers every field, including ones added later. */
static gboolean
copy_changed (GateProfile *profile, GateProfile *on_disk)
{
  g_autoptr (GKeyFile) before = g_key_file_new ();
  g_autoptr (GKeyFile) after = g_key_file_new ();
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  gate_profile_save_to_key_file (profile, before, "p", TRUE);
  gate_profile_copy_settings (profile, on_disk);
  gate_profile_save_to_key_file (profile, after, "p", TRUE);
  a = g_key_file_to_data (before, NULL, NULL);
  b = g_key_file_to_data (after, NULL, NULL);
  return g_strcmp0 (a, b) != 0;
}

/* Makes the list match the file, except for profiles with pending edits
 * here.  Returns whether anything changed. */
static gboolean
apply_parsed (GateProfileStore *self, GPtrArray *parsed)
{
  gboolean changed = FALSE;

  self->applying = TRUE;

  for (guint i = self->profiles->len; i > 0; i--)
    {
      GateProfile *profile = g_ptr_array_index (self->profiles, i - 1);
      const char *id = gate_profile_get_id (profile);
      GateProfile *on_disk;

      if (g_hash_table_contains (self->dirty, id))
        continue;
      on_disk = find_in (parsed, id, NULL);
      if (on_disk == NULL)
        {
          drop_profile_at (self, i - 1);
          changed = TRUE;
        }
      else if (copy_changed (profile, on_disk))
        {
          changed = TRUE;
        }
    }

  for (guint i = 0; i < parsed->len; i++)
    {
      GateProfile *on_disk = g_ptr_array_index (parsed, i);
      const char *id = gate_profile_get_id (on_disk);

      if (find_in (self->profiles, id, NULL) != NULL || g_hash_table_contains (self->removed, id))
        continue;
      take_profile (self, g_object_ref (on_disk));
      changed = TRUE;
    }

  self->applying = FALSE;
  return changed;
}

gboolean
gate_profile_store_load (GateProfileStore *self, GError **error)
{
  g_autofree char *lock_path = NULL;
  g_autoptr (GatePrivateFileLock) lock = NULL;
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GPtrArray) parsed = NULL;
  gboolean moved_aside;
  g_autofree char *folder = NULL;

  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), FALSE);

  folder = g_path_get_dirname (self->path);
  if (!gate_private_folder_ensure (folder, NULL, error))
    return FALSE;

  lock_path = g_strconcat (self->path, ".lock", NULL);
  lock = gate_private_file_lock (lock_path, error);
  if (lock == NULL)
    return FALSE;

  if (!read_file (self, key_file, &moved_aside, error))
    return FALSE;

  parsed = parse_profiles (self, key_file);
  if (apply_parsed (self, parsed))
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);

  return TRUE;
}

static gboolean
write_key_file (GKeyFile *key_file, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;

  data = g_key_file_to_data (key_file, &length, error);
  if (data == NULL)
    return FALSE;

  return g_file_set_contents_full (path, data, (gssize)length, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static void
set_header (GKeyFile *key_file, const char *comment)
{
  g_key_file_set_integer (key_file, META_GROUP, "format-version", GATE_PROFILE_STORE_FORMAT_VERSION);
  g_key_file_set_comment (key_file, META_GROUP, NULL, comment, NULL);
}

gboolean
gate_profile_store_save (GateProfileStore *self, GError **error)
{
  g_autofree char *lock_path = NULL;
  g_autoptr (GatePrivateFileLock) lock = NULL;
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GPtrArray) parsed = NULL;
  GHashTableIter iter;
  gpointer key;
  gboolean moved_aside;
  g_autofree char *folder = NULL;

  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), FALSE);

  folder = g_path_get_dirname (self->path);
  if (!gate_private_folder_ensure (folder, NULL, error))
    return FALSE;

  lock_path = g_strconcat (self->path, ".lock", NULL);
  lock = gate_private_file_lock (lock_path, error);
  if (lock == NULL)
    return FALSE;

  if (!read_file (self, key_file, &moved_aside, error))
    return FALSE;

  /* The old file was set aside: write everything this process knows (over
   * what could be read from it, if anything), so what is on screen is what
   * is kept. */
  if (moved_aside)
    {
      for (guint i = 0; i < self->profiles->len; i++)
        g_hash_table_add (self->dirty,
                          g_strdup (gate_profile_get_id (g_ptr_array_index (self->profiles, i))));
    }

  /* The header first, so a reader sees the version before anything else. */
  set_header (key_file, _(" Postgate profiles. Passwords and API keys are kept in the system "
                           "keyring, never in this file."));

  g_hash_table_iter_init (&iter, self->removed);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autofree char *group = group_for_id (key);

      g_key_file_remove_group (key_file, group, NULL);
    }

  for (guint i = 0; i < self->profiles->len; i++)
    {
      GateProfile *profile = g_ptr_array_index (self->profiles, i);
      g_autofree char *group = NULL;

      if (!g_hash_table_contains (self->dirty, gate_profile_get_id (profile)))
        continue;
      group = group_for_id (gate_profile_get_id (profile));
      gate_profile_save_to_key_file (profile, key_file, group, TRUE);
    }

  if (!write_key_file (key_file, self->path, error))
    return FALSE;

  g_hash_table_remove_all (self->dirty);
  g_hash_table_remove_all (self->removed);

  /* Pick up what other processes saved meanwhile. */
  parsed = parse_profiles (self, key_file);
  if (apply_parsed (self, parsed))
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);

  return TRUE;
}

GateProfile *
gate_profile_store_lookup_by_id (GateProfileStore *self, const char *id)
{
  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), NULL);

  if (id == NULL)
    return NULL;
  return find_in (self->profiles, id, NULL);
}

GateProfile *
gate_profile_store_lookup_by_name (GateProfileStore *self, const char *name)
{
  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), NULL);

  if (name == NULL)
    return NULL;
  for (guint i = 0; i < self->profiles->len; i++)
    {
      GateProfile *profile = g_ptr_array_index (self->profiles, i);

      if (g_strcmp0 (gate_profile_get_name (profile), name) == 0)
        return profile;
    }
  return NULL;
}

GateProfile *
gate_profile_store_lookup (GateProfileStore *self, const char *name_or_id)
{
  GateProfile *profile = gate_profile_store_lookup_by_name (self, name_or_id);

  return profile ? profile : gate_profile_store_lookup_by_id (self, name_or_id);
}

const char *
gate_profile_store_check_name (GateProfileStore *self, const char *name, GateProfile *except)
{
  const char *problem;
  GateProfile *existing;

  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), NULL);

  if ((problem = gate_profile_check_name (name)) != NULL)
    return problem;
  existing = gate_profile_store_lookup_by_name (self, name);
  if (existing != NULL && existing != except)
    return _("Another profile already has this name");
  return NULL;
}

char *
gate_profile_store_make_unique_name (GateProfileStore *self, const char *base)
{
  char *name;

  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), NULL);
  g_return_val_if_fail (base != NULL, NULL);

  name = g_strdup (base);
  for (guint i = 2; gate_profile_store_lookup_by_name (self, name) != NULL; i++)
    {
      g_free (name);
      name = g_strdup_printf ("%s (%u)", base, i);
    }
  return name;
}

gboolean
gate_profile_store_add (GateProfileStore *self, GateProfile *profile, GError **error)
{
  const char *problem;

  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (GATE_IS_PROFILE (profile), FALSE);
  g_return_val_if_fail (gate_profile_store_lookup_by_id (self, gate_profile_get_id (profile)) == NULL, FALSE);

  if ((problem = gate_profile_store_check_name (self, gate_profile_get_name (profile), NULL)) != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS, problem);
      return FALSE;
    }
  if (!gate_profile_validate (profile, error))
    return FALSE;

  g_hash_table_add (self->dirty, g_strdup (gate_profile_get_id (profile)));
  g_hash_table_remove (self->removed, gate_profile_get_id (profile));
  take_profile (self, g_object_ref (profile));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);

  return gate_profile_store_save (self, error);
}

gboolean
gate_profile_store_remove (GateProfileStore *self, GateProfile *profile, GError **error)
{
  guint position;
  const char *id;

  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (GATE_IS_PROFILE (profile), FALSE);

  id = gate_profile_get_id (profile);
  if (find_in (self->profiles, id, &position) == NULL)
    return TRUE;

  g_hash_table_add (self->removed, g_strdup (id));
  g_hash_table_remove (self->dirty, id);
  drop_profile_at (self, position);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);

  return gate_profile_store_save (self, error);
}

gboolean
gate_profile_store_export (GateProfileStore *self, const char *path, GPtrArray *profiles, GError **error)
{
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  GPtrArray *list;

  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  list = profiles ? profiles : self->profiles;
  set_header (key_file, _(" Postgate profiles, exported. No passwords or API keys are in this file."));
  g_key_file_set_string (key_file, META_GROUP, "content", EXPORT_CONTENT);
  for (guint i = 0; i < list->len; i++)
    {
      GateProfile *profile = g_ptr_array_index (list, i);
      g_autofree char *group = group_for_id (gate_profile_get_id (profile));

      gate_profile_save_to_key_file (profile, key_file, group, FALSE);
      /* Import makes new ids; the last test's time says nothing elsewhere. */
      g_key_file_remove_key (key_file, group, "last-success", NULL);
    }

  return write_key_file (key_file, path, error);
}

GPtrArray *
gate_profile_store_import (GateProfileStore *self, const char *path, GError **error)
{
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) groups = NULL;
  g_autofree char *display = g_filename_display_name (path);
  gint version;

  g_return_val_if_fail (GATE_IS_PROFILE_STORE (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &local_error))
    {
      if (local_error->domain == G_FILE_ERROR)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not read “%s”: %s"), display,
                     local_error->message);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("“%s” is not a Postgate profile file"),
                     display);
      return NULL;
    }

  version = g_key_file_get_integer (key_file, META_GROUP, "format-version", &local_error);
  if (local_error != NULL || version < 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("“%s” is not a Postgate profile file"),
                   display);
      return NULL;
    }
  if (version > GATE_PROFILE_STORE_FORMAT_VERSION)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("“%s” was made by a newer version of Postgate; update Postgate to import it"), display);
      return NULL;
    }

  groups = g_key_file_get_groups (key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autoptr (GateProfile) profile = NULL;
      g_autofree char *new_id = NULL;

      if (!is_profile_group (groups[i]))
        continue;

      new_id = g_uuid_string_random ();
      profile = gate_profile_new_from_key_file (key_file, groups[i], new_id, &local_error);
      if (profile == NULL || !gate_profile_validate (profile, &local_error))
        {
          /* All or nothing: a half-imported file is harder to fix. */
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), _("Could not import “%s”: "),
                                      display);
          return NULL;
        }
      /* Secrets never travel in an export. */
      gate_profile_set_has_password (profile, FALSE);
      gate_profile_set_has_api_key (profile, FALSE);
      gate_profile_set_last_success (profile, NULL);
      g_ptr_array_add (added, g_steal_pointer (&profile));
    }

  for (guint i = 0; i < added->len; i++)
    {
      GateProfile *profile = g_ptr_array_index (added, i);
      g_autofree char *name = gate_profile_store_make_unique_name (self, gate_profile_get_name (profile));

      gate_profile_set_name (profile, name);
      g_hash_table_add (self->dirty, g_strdup (gate_profile_get_id (profile)));
      take_profile (self, g_object_ref (profile));
    }

  if (added->len > 0)
    {
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
      if (!gate_profile_store_save (self, error))
        return NULL;
    }

  return g_steal_pointer (&added);
}
