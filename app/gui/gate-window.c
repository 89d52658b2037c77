/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-gui"

#include "config.h"

#include "gate-window.h"

#include <glib/gi18n-lib.h>

#include "gate-profile-page.h"
#include "gate-provider-preset.h"
#include "gate-secret-store.h"
#include "gate-send-page.h"

struct _GateWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  AdwLeaflet *leaflet;
  GtkWidget *sidebar;
  GtkWidget *content;
  GtkListBox *profile_list;
  AdwViewSwitcherTitle *switcher_title;
  GtkStack *content_stack;
  AdwViewStack *view_stack;
  GateProfilePage *profile_page;
  GateSendPage *send_page;
  GtkMenuButton *profile_menu_button;

  GSettings *settings;
  GateProfileStore *store;
  GateProfile *current;
  guint save_source;
  /* A deleted profile, kept until its undo toast goes away. */
  GateProfile *deleted;
  AdwToast *undo_toast;
  guint selecting : 1;
};

G_DEFINE_FINAL_TYPE (GateWindow, gate_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_STORE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
toast (GateWindow *self, const char *text)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

static gboolean
save_now (GateWindow *self)
{
  g_autoptr(GError) error = NULL;

  g_clear_handle_id (&self->save_source, g_source_remove);
  if (!gate_profile_store_save (self->store, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Settings could not be saved: %s"), error->message);

      toast (self, text);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
save_timeout (gpointer user_data)
{
  GateWindow *self = user_data;

  self->save_source = 0;
  save_now (self);
  return G_SOURCE_REMOVE;
}

/* Typing changes a profile on every key: write a moment after the last one. */
static void
schedule_save (GateWindow *self)
{
  g_clear_handle_id (&self->save_source, g_source_remove);
  self->save_source = g_timeout_add (400, save_timeout, self);
}

static void
on_current_notify (GateWindow *self, GParamSpec *pspec, GateProfile *profile)
{
  if (g_strcmp0 (pspec->name, "name") == 0)
    adw_view_switcher_title_set_title (self->switcher_title, gate_profile_get_name (profile));
  schedule_save (self);
}

static guint
profile_position (GateWindow *self, GateProfile *profile)
{
  GListModel *model = G_LIST_MODEL (self->store);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(GateProfile) item = g_list_model_get_item (model, i);

      if (item == profile)
        return i;
    }
  return GTK_INVALID_LIST_POSITION;
}

static void
set_current (GateWindow *self, GateProfile *profile, gboolean force)
{
  gboolean has = profile != NULL;

  if (self->current == profile && !force)
    return;

  if (self->save_source != 0)
    save_now (self);
  if (self->current != NULL)
    g_signal_handlers_disconnect_by_data (self->current, self);
  g_set_object (&self->current, profile);

  gate_profile_page_set_profile (self->profile_page, profile);
  gate_send_page_set_profile (self->send_page, profile);
  gtk_stack_set_visible_child_name (self->content_stack, has ? "profile" : "empty");
  adw_view_switcher_title_set_title (self->switcher_title, has ? gate_profile_get_name (profile) : "Postgate");
  gtk_widget_set_visible (GTK_WIDGET (self->profile_menu_button), has);
  adw_view_switcher_title_set_view_switcher_enabled (self->switcher_title, has);
  for (const char *const *name = (const char *const[]){ "win.duplicate-profile", "win.rename-profile",
                                                       "win.delete-profile", "win.show-settings", "win.show-send",
                                                       "win.send", NULL };
       *name != NULL; name++)
    gtk_widget_action_set_enabled (GTK_WIDGET (self), *name, has);

  if (has)
    {
      g_signal_connect_swapped (profile, "notify", G_CALLBACK (on_current_notify), self);
      g_settings_set_string (self->settings, "last-profile", gate_profile_get_id (profile));
    }
}

void
gate_window_select_profile (GateWindow *self, GateProfile *profile)
{
  guint position;
  GtkListBoxRow *row;

  g_return_if_fail (GATE_IS_WINDOW (self));

  position = profile != NULL ? profile_position (self, profile) : 0;
  row = gtk_list_box_get_row_at_index (self->profile_list, position == GTK_INVALID_LIST_POSITION ? 0 : position);
  if (row != NULL)
    gtk_list_box_select_row (self->profile_list, row);
  else
    set_current (self, NULL, FALSE);
}

static void
on_profile_row_selected (GateWindow *self, GtkListBoxRow *row)
{
  GateProfile *profile = NULL;

  if (row != NULL)
    {
      guint index = gtk_list_box_row_get_index (row);

      profile = g_list_model_get_item (G_LIST_MODEL (self->store), index);
    }
  set_current (self, profile, FALSE);
  g_clear_object (&profile);
}

static void
on_profile_row_activated (GateWindow *self, GtkListBoxRow *row)
{
  adw_leaflet_set_visible_child (self->leaflet, self->content);
}

static void
on_back_clicked (GateWindow *self)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static void
update_row (GtkWidget *row, GParamSpec *pspec, GateProfile *profile)
{
  GtkWidget *box = gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row));
  GtkWidget *title = gtk_widget_get_first_child (box);
  GtkWidget *subtitle = gtk_widget_get_next_sibling (title);
  const char *host = gate_profile_get_host (profile);

  gtk_label_set_label (GTK_LABEL (title), gate_profile_get_name (profile));
  gtk_label_set_label (GTK_LABEL (subtitle), host[0] != '\0' ? host : _("No server yet"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, gate_profile_get_name (profile),
                                  -1);
}

static GtkWidget *
create_row (gpointer item, gpointer user_data)
{
  GateProfile *profile = item;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *subtitle = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_ellipsize (GTK_LABEL (subtitle), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), subtitle);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

  update_row (row, NULL, profile);
  g_signal_connect_object (profile, "notify::name", G_CALLBACK (update_row), row, G_CONNECT_SWAPPED);
  g_signal_connect_object (profile, "notify::host", G_CALLBACK (update_row), row, G_CONNECT_SWAPPED);
  return row;
}

static void
on_store_items_changed (GateWindow *self, guint position, guint removed, guint added, GListModel *model)
{
  if (self->current != NULL && profile_position (self, self->current) == GTK_INVALID_LIST_POSITION)
    set_current (self, NULL, FALSE);
  if (self->current == NULL)
    gate_window_select_profile (self, NULL);
  else if (gtk_list_box_get_selected_row (self->profile_list) == NULL)
    gate_window_select_profile (self, self->current);
}

static void
show_error (GateWindow *self, const char *heading, const char *body)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
add_and_show (GateWindow *self, GateProfile *profile)
{
  g_autoptr(GError) error = NULL;

  if (!gate_profile_store_add (self->store, profile, &error))
    {
      show_error (self, _("The profile could not be added"), error->message);
      return;
    }
  gate_window_select_profile (self, profile);
  adw_view_stack_set_visible_child_name (self->view_stack, "settings");
  adw_leaflet_set_visible_child (self->leaflet, self->content);
}

static void
add_profile (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GateWindow *self = GATE_WINDOW (widget);
  g_autofree char *name = gate_profile_store_make_unique_name (self->store, _("New profile"));
  g_autoptr(GateProfile) profile = gate_profile_new (name);

  gate_profile_apply_preset (profile, GATE_PRESET_SMTP2GO, NULL);
  add_and_show (self, profile);
}

typedef struct
{
  GWeakRef window;
  GateProfile *copy;
} SecretsCopy;

static void
secrets_copy_free (SecretsCopy *request)
{
  g_weak_ref_clear (&request->window);
  g_object_unref (request->copy);
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SecretsCopy, secrets_copy_free)

static void
on_secrets_copied (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(SecretsCopy) request = user_data;
  g_autoptr(GateWindow) self = g_weak_ref_get (&request->window);
  g_autoptr(GError) error = NULL;
  g_autofree char *heading = NULL;
  guint copied = 0;

  if (!gate_secret_store_copy_all_finish (res, &copied, &error))
    {
      if (self == NULL)
        return;
      /* Translators: %s is the name of the new copy of a profile. */
      heading = g_strdup_printf (_("The passwords of “%s” could not be copied"),
                                 gate_profile_get_name (request->copy));
      show_error (self, heading, error->message);
      return;
    }
  gate_profile_set_secret_kinds (request->copy, copied);
}

static void
duplicate_profile (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GateWindow *self = GATE_WINDOW (widget);
  g_autofree char *base = NULL;
  g_autofree char *name = NULL;
  g_autoptr(GateProfile) copy = NULL;
  guint kinds;

  if (self->current == NULL)
    return;
  /* Translators: the name of a copy of a profile; %s is the original's name. */
  base = g_strdup_printf (_("%s (copy)"), gate_profile_get_name (self->current));
  name = gate_profile_store_make_unique_name (self->store, base);
  copy = gate_profile_duplicate (self->current, name);
  /* The copy has keyring entries of its own: it starts without secrets and
   * gets the original's once they are copied. */
  kinds = gate_profile_get_secret_kinds (self->current);
  if (kinds != 0)
    {
      SecretsCopy *request = g_new0 (SecretsCopy, 1);

      g_weak_ref_init (&request->window, self);
      request->copy = g_object_ref (copy);
      gate_secret_store_copy_all_async (gate_profile_get_id (self->current), gate_profile_get_id (copy), kinds,
                                        gate_profile_get_name (copy), NULL, on_secrets_copied, request);
    }
  add_and_show (self, copy);
}

static void
on_rename_entry_changed (GtkEditable *entry, AdwMessageDialog *dialog)
{
  GateWindow *self = g_object_get_data (G_OBJECT (dialog), "window");
  GtkLabel *problem_label = g_object_get_data (G_OBJECT (dialog), "problem");
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  const char *problem = gate_profile_store_check_name (self->store, name, self->current);

  gtk_label_set_label (problem_label, problem != NULL ? problem : "");
  gtk_widget_set_visible (GTK_WIDGET (problem_label), problem != NULL);
  adw_message_dialog_set_response_enabled (dialog, "rename", problem == NULL);
}

static void
on_rename_response (GateWindow *self, const char *response, AdwMessageDialog *dialog)
{
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "entry");
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));

  if (g_strcmp0 (response, "rename") != 0 || self->current == NULL)
    return;
  if (gate_profile_store_check_name (self->store, name, self->current) != NULL)
    return;
  gate_profile_set_name (self->current, name);
  save_now (self);
}

static void
on_rename_activate (GtkEntry *entry, AdwMessageDialog *dialog)
{
  if (adw_message_dialog_get_response_enabled (dialog, "rename"))
    {
      adw_message_dialog_response (dialog, "rename");
      gtk_window_close (GTK_WINDOW (dialog));
    }
}

static void
rename_profile (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GateWindow *self = GATE_WINDOW (widget);
  GtkWidget *dialog;
  GtkWidget *box;
  GtkWidget *entry;
  GtkWidget *problem;

  if (self->current == NULL)
    return;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Rename Profile"), NULL);
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  entry = gtk_entry_new ();
  gtk_editable_set_text (GTK_EDITABLE (entry), gate_profile_get_name (self->current));
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Profile name"), -1);
  problem = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (problem), TRUE);
  gtk_widget_add_css_class (problem, "error");
  gtk_widget_set_visible (problem, FALSE);
  gtk_box_append (GTK_BOX (box), entry);
  gtk_box_append (GTK_BOX (box), problem);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"), "rename", _("_Rename"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "rename", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "rename");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  g_object_set_data (G_OBJECT (dialog), "window", self);
  g_object_set_data (G_OBJECT (dialog), "entry", entry);
  g_object_set_data (G_OBJECT (dialog), "problem", problem);
  g_signal_connect (entry, "changed", G_CALLBACK (on_rename_entry_changed), dialog);
  g_signal_connect (entry, "activate", G_CALLBACK (on_rename_activate), dialog);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_rename_response), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static void
forget_deleted (GateWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->deleted == NULL)
    return;
  /* The undo time is over: now the password goes too. */
  if (!gate_secret_store_delete_all_sync (gate_profile_get_id (self->deleted), NULL, &error))
    g_warning (_("The keyring entries of a deleted profile could not be removed: %s"), error->message);
  g_clear_object (&self->deleted);
}

typedef struct
{
  GateWindow *self;
  AdwToast *toast;
} DismissData;

static gboolean
forget_after_dismiss (gpointer user_data)
{
  DismissData *data = user_data;

  /* Still the pending deletion: the toast went away without Undo. */
  if (data->self->undo_toast == data->toast)
    {
      data->self->undo_toast = NULL;
      forget_deleted (data->self);
    }
  g_object_unref (data->self);
  g_object_unref (data->toast);
  g_free (data);
  return G_SOURCE_REMOVE;
}

static void
on_undo_toast_dismissed (GateWindow *self, AdwToast *toast)
{
  DismissData *data = g_new0 (DismissData, 1);

  /* The Undo button dismisses the toast too; its action runs after, so look
   * again once it had the chance. */
  data->self = g_object_ref (self);
  data->toast = g_object_ref (toast);
  g_idle_add (forget_after_dismiss, data);
}

static void
undo_delete (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GateWindow *self = GATE_WINDOW (widget);
  g_autoptr(GateProfile) profile = g_steal_pointer (&self->deleted);
  g_autoptr(GError) error = NULL;

  if (profile == NULL)
    return;
  self->undo_toast = NULL;
  if (!gate_profile_store_add (self->store, profile, &error))
    {
      show_error (self, _("The profile could not be restored"), error->message);
      return;
    }
  gate_window_select_profile (self, profile);
}

static void
delete_profile (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GateWindow *self = GATE_WINDOW (widget);
  g_autoptr(GateProfile) profile = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;
  guint position;
  AdwToast *undo;

  if (self->current == NULL)
    return;

  /* Only one deletion can be undone: an earlier one becomes final. */
  if (self->undo_toast != NULL)
    {
      AdwToast *old = self->undo_toast;

      self->undo_toast = NULL;
      adw_toast_dismiss (old);
      forget_deleted (self);
    }

  profile = g_object_ref (self->current);
  position = profile_position (self, profile);
  if (!gate_profile_store_remove (self->store, profile, &error))
    {
      show_error (self, _("The profile could not be deleted"), error->message);
      return;
    }
  self->deleted = g_steal_pointer (&profile);

  /* Translators: %s is a profile's name. */
  title = g_strdup_printf (_("“%s” deleted"), gate_profile_get_name (self->deleted));
  undo = adw_toast_new (title);
  adw_toast_set_button_label (undo, _("_Undo"));
  adw_toast_set_action_name (undo, "win.undo-delete");
  adw_toast_set_priority (undo, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_set_timeout (undo, 10);
  g_signal_connect_object (undo, "dismissed", G_CALLBACK (on_undo_toast_dismissed), self, G_CONNECT_SWAPPED);
  self->undo_toast = undo;
  adw_toast_overlay_add_toast (self->toast_overlay, undo);

  if (g_list_model_get_n_items (G_LIST_MODEL (self->store)) > 0)
    {
      g_autoptr(GateProfile) next = g_list_model_get_item (G_LIST_MODEL (self->store),
                                                           MIN (position, g_list_model_get_n_items (G_LIST_MODEL (self->store)) - 1));

      gate_window_select_profile (self, next);
    }
}

static void
show_settings (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GateWindow *self = GATE_WINDOW (widget);

  adw_view_stack_set_visible_child_name (self->view_stack, "settings");
  adw_leaflet_set_visible_child (self->leaflet, self->content);
}

static void
show_send (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GateWindow *self = GATE_WINDOW (widget);

  adw_view_stack_set_visible_child_name (self->view_stack, "send");
  adw_leaflet_set_visible_child (self->leaflet, self->content);
}

static void
send_test (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GateWindow *self = GATE_WINDOW (widget);

  show_send (widget, NULL, NULL);
  gate_send_page_send (self->send_page);
}

typedef struct
{
  GateWindow *self;
  GateProfile *profile;
} PasswordData;

static void
on_password_stored (GObject *source, GAsyncResult *res, gpointer user_data)
{
  PasswordData *data = user_data;
  g_autoptr(GError) error = NULL;

  if (gate_secret_store_store_finish (res, &error))
    {
      gate_profile_set_has_password (data->profile, TRUE);
      if (data->profile == data->self->current)
        gate_profile_page_set_password_problem (data->self->profile_page, NULL);
      toast (data->self, _("Password saved in the keyring"));
    }
  else if (data->profile == data->self->current)
    gate_profile_page_set_password_problem (data->self->profile_page, error->message);

  g_object_unref (data->self);
  g_object_unref (data->profile);
  g_free (data);
}

static void
on_save_password (GateWindow *self, const char *password, GateProfilePage *page)
{
  PasswordData *data;

  if (self->current == NULL)
    return;
  data = g_new0 (PasswordData, 1);
  data->self = g_object_ref (self);
  data->profile = g_object_ref (self->current);
  gate_secret_store_store_async (gate_profile_get_id (self->current), GATE_SECRET_PASSWORD,
                                 gate_profile_get_name (self->current), password, NULL, on_password_stored, data);
}

static void
on_edit_password (GateWindow *self)
{
  adw_view_stack_set_visible_child_name (self->view_stack, "settings");
  gate_profile_page_focus_password (self->profile_page);
}

static void
on_open_settings (GateWindow *self)
{
  adw_view_stack_set_visible_child_name (self->view_stack, "settings");
}

/* A page that goes away must not keep the keyboard focus: the text field
 * would never hear that it lost it (its cursor would blink on, hidden). */
static void
on_visible_page_changed (GateWindow *self)
{
  GtkWidget *page = adw_view_stack_get_visible_child (self->view_stack);
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));

  if (page == NULL || focus == NULL || gtk_widget_is_ancestor (focus, page)
      || !gtk_widget_is_ancestor (focus, GTK_WIDGET (self->view_stack)))
    return;
  if (!gtk_widget_child_focus (page, GTK_DIR_TAB_FORWARD))
    gtk_root_set_focus (GTK_ROOT (self), NULL);
}

static gboolean
gate_window_close_request (GtkWindow *window)
{
  GateWindow *self = GATE_WINDOW (window);
  int width, height;

  if (self->save_source != 0)
    save_now (self);
  if (self->undo_toast != NULL)
    {
      self->undo_toast = NULL;
      forget_deleted (self);
    }

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));

  return GTK_WINDOW_CLASS (gate_window_parent_class)->close_request (window);
}

static void
gate_window_constructed (GObject *object)
{
  GateWindow *self = GATE_WINDOW (object);
  const char *problem;
  g_autofree char *last = NULL;

  G_OBJECT_CLASS (gate_window_parent_class)->constructed (object);

  gtk_list_box_bind_model (self->profile_list, G_LIST_MODEL (self->store), create_row, self, NULL);
  g_signal_connect_object (self->store, "items-changed", G_CALLBACK (on_store_items_changed), self,
                           G_CONNECT_SWAPPED);

  last = g_settings_get_string (self->settings, "last-profile");
  gate_window_select_profile (self, last[0] != '\0' ? gate_profile_store_lookup_by_id (self->store, last) : NULL);
  if (self->current == NULL)
    set_current (self, NULL, TRUE);

  problem = gate_profile_store_get_problem (self->store);
  if (problem != NULL)
    {
      show_error (self, _("A problem with your saved profiles"), problem);
      gate_profile_store_clear_problem (self->store);
    }
}

static void
gate_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateWindow *self = GATE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_window_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GateWindow *self = GATE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_window_dispose (GObject *object)
{
  GateWindow *self = GATE_WINDOW (object);

  g_clear_handle_id (&self->save_source, g_source_remove);
  if (self->current != NULL)
    g_signal_handlers_disconnect_by_data (self->current, self);
  g_clear_object (&self->current);
  g_clear_object (&self->deleted);
  gtk_widget_dispose_template (GTK_WIDGET (self), GATE_TYPE_WINDOW);

  G_OBJECT_CLASS (gate_window_parent_class)->dispose (object);
}

static void
gate_window_finalize (GObject *object)
{
  GateWindow *self = GATE_WINDOW (object);

  g_clear_object (&self->store);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (gate_window_parent_class)->finalize (object);
}

static void
gate_window_class_init (GateWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = gate_window_constructed;
  object_class->get_property = gate_window_get_property;
  object_class->set_property = gate_window_set_property;
  object_class->dispose = gate_window_dispose;
  object_class->finalize = gate_window_finalize;
  window_class->close_request = gate_window_close_request;

  properties[PROP_STORE] = g_param_spec_object ("store", NULL, NULL, GATE_TYPE_PROFILE_STORE,
                                                G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS
                                                  | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (GATE_TYPE_PROFILE_PAGE);
  g_type_ensure (GATE_TYPE_SEND_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/postgate/Postgate/gate-window.ui");
  gtk_widget_class_bind_template_child (widget_class, GateWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, GateWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, GateWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, GateWindow, content);
  gtk_widget_class_bind_template_child (widget_class, GateWindow, profile_list);
  gtk_widget_class_bind_template_child (widget_class, GateWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, GateWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, GateWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, GateWindow, profile_page);
  gtk_widget_class_bind_template_child (widget_class, GateWindow, send_page);
  gtk_widget_class_bind_template_child (widget_class, GateWindow, profile_menu_button);
  gtk_widget_class_bind_template_callback (widget_class, on_profile_row_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_profile_row_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_back_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_save_password);
  gtk_widget_class_bind_template_callback (widget_class, on_edit_password);
  gtk_widget_class_bind_template_callback (widget_class, on_open_settings);

  gtk_widget_class_install_action (widget_class, "win.add-profile", NULL, add_profile);
  gtk_widget_class_install_action (widget_class, "win.duplicate-profile", NULL, duplicate_profile);
  gtk_widget_class_install_action (widget_class, "win.rename-profile", NULL, rename_profile);
  gtk_widget_class_install_action (widget_class, "win.delete-profile", NULL, delete_profile);
  gtk_widget_class_install_action (widget_class, "win.undo-delete", NULL, undo_delete);
  gtk_widget_class_install_action (widget_class, "win.show-settings", NULL, show_settings);
  gtk_widget_class_install_action (widget_class, "win.show-send", NULL, show_send);
  gtk_widget_class_install_action (widget_class, "win.send", NULL, send_test);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.add-profile", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F2, 0, "win.rename-profile", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK, "win.show-settings", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK, "win.show-send", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "win.send", NULL);
}

static void
gate_window_init (GateWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (self->view_stack, "notify::visible-child", G_CALLBACK (on_visible_page_changed), self,
                           G_CONNECT_SWAPPED);
  self->settings = g_settings_new (APP_ID);
  gtk_window_set_default_size (GTK_WINDOW (self), g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
}

GateWindow *
gate_window_new (AdwApplication *application, GateProfileStore *store)
{
  g_return_val_if_fail (GATE_IS_PROFILE_STORE (store), NULL);

  return g_object_new (GATE_TYPE_WINDOW, "application", application, "store", store, NULL);
}

GateProfileStore *
gate_window_get_store (GateWindow *self)
{
  g_return_val_if_fail (GATE_IS_WINDOW (self), NULL);

  return self->store;
}
