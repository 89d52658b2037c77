/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-profile.h"

G_BEGIN_DECLS

#define GATE_TYPE_PROFILE_STORE (gate_profile_store_get_type ())
G_DECLARE_FINAL_TYPE (GateProfileStore, gate_profile_store, GATE, PROFILE_STORE, GObject)

/* The profiles of this user, kept in a human-readable key file
 * (g_get_user_config_dir()/postgate/profiles.ini: ~/.config on Linux,
 * %APPDATA% on Windows), private to the user.  A GListModel of GateProfile
 * for the GUI's sidebar.
 *
 * Writes are atomic and made under a lock shared by every Postgate process:
 * each save re-reads the file and applies only this process's changes, by
 * profile id, so the GUI and the CLI never lose each other's profiles.
 * Secrets are not kept here (see gate-secret-store.h).
 *
 * A damaged file, or one from a newer Postgate, is moved aside to
 * profiles.ini.damaged-YYYYMMDD-HHMMSS (never overwritten) and the "problem"
 * property says so in words; so does a file that others could read, which is
 * made private again.
 *
 * Properties: path (construct-only), problem (string, nullable, read-only).
 * Signals: changed (): profiles were added, removed or edited, here or by
 * another process (seen at load or save).
 *
 * Edits to a profile's properties mark it changed; gate_profile_store_save()
 * writes them. add and remove save at once. */

#define GATE_PROFILE_STORE_FORMAT_VERSION 1

GateProfileStore *gate_profile_store_new (const char *path);
/* A store at the default path, loaded; a load failure is kept in "problem". */
GateProfileStore *gate_profile_store_new_default (void);
char *gate_profile_store_get_default_path (void);

const char *gate_profile_store_get_path (GateProfileStore *self);
/* A sentence or two for the user about what went wrong while reading the
 * file, or NULL. */
const char *gate_profile_store_get_problem (GateProfileStore *self);
void gate_profile_store_clear_problem (GateProfileStore *self);

/* Reads the file (again).  FALSE only when it cannot be read or moved aside
 * at all; a damaged file is not an error (see "problem"). */
gboolean gate_profile_store_load (GateProfileStore *self, GError **error);
/* Writes this process's pending edits, merged with the file's current content. */
gboolean gate_profile_store_save (GateProfileStore *self, GError **error);

/* transfer none; NULL when there is none. */
GateProfile *gate_profile_store_lookup_by_id (GateProfileStore *self, const char *id);
GateProfile *gate_profile_store_lookup_by_name (GateProfileStore *self, const char *name);
/* By name, else by id. */
GateProfile *gate_profile_store_lookup (GateProfileStore *self, const char *name_or_id);

/* NULL when @name can be used for a profile (@except: the profile being
 * renamed, or NULL), else a translated sentence. */
const char *gate_profile_store_check_name (GateProfileStore *self, const char *name, GateProfile *except);
/* @base, or "@base (2)", "@base (3)", … when taken. */
char *gate_profile_store_make_unique_name (GateProfileStore *self, const char *base);

/* Adds and saves; fails when the name is taken or a field is not valid. */
gboolean gate_profile_store_add (GateProfileStore *self, GateProfile *profile, GError **error);
/* Removes and saves.  The profile's secrets are the caller's to delete
 * (gate_secret_store_delete_all_sync()). */
gboolean gate_profile_store_remove (GateProfileStore *self, GateProfile *profile, GError **error);

/* Writes @profiles (NULL: all) to @path without any secret or secret flag. */
gboolean gate_profile_store_export (GateProfileStore *self, const char *path, GPtrArray *profiles,
                                    GError **error);
/* Adds the profiles of an export file with new ids, renaming on a name clash
 * ("Office (2)"), and saves.  Returns the added profiles. */
GPtrArray *gate_profile_store_import (GateProfileStore *self, const char *path, GError **error);

G_END_DECLS
