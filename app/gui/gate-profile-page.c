/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-gui"

#include "config.h"

#include "gate-profile-page.h"

#include <adwaita.h>
#include <glib/gi18n-lib.h>

#include "gate-probe-dialog.h"
#include "gate-provider-preset.h"

struct _GateProfilePage
{
  GtkWidget parent_instance;

  AdwPreferencesPage *page;
  AdwComboRow *preset_row;
  AdwComboRow *region_row;
  AdwEntryRow *host_row;
  GtkWidget *host_error_row;
  GtkLabel *host_error;
  AdwEntryRow *port_row;
  GtkWidget *port_error_row;
  GtkLabel *port_error;
  AdwComboRow *security_row;
  GtkButton *check_button;
  AdwEntryRow *username_row;
  AdwEntryRow *password_row;
  GtkLabel *password_status;
  AdwEntryRow *sender_name_row;
  AdwEntryRow *sender_address_row;
  GtkWidget *sender_address_error_row;
  GtkLabel *sender_address_error;
  AdwExpanderRow *advanced_row;
  AdwComboRow *auth_row;
  AdwEntryRow *pin_row;
  GtkWidget *pin_error_row;
  GtkLabel *pin_error;
  AdwEntryRow *ca_file_row;
  GtkWidget *ca_file_error_row;
  GtkLabel *ca_file_error;
  GtkSwitch *plain_auth_switch;
  GtkWidget *plain_auth_warning_row;

  GateProfile *profile;
  /* Set while the page fills its fields from the profile, or writes to the
   * profile, so that neither echoes back to the other. */
  gboolean loading;
  gboolean writing;
  char *password_problem;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (GateProfilePage, gate_profile_page, GTK_TYPE_WIDGET)

enum {
  SIGNAL_SAVE_PASSWORD,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The sign-in methods offered, in the order of the combo row. */
static const GateSmtpAuthMechanism auth_choices[] = {
  GATE_SMTP_AUTH_AUTOMATIC,
  GATE_SMTP_AUTH_PLAIN,
  GATE_SMTP_AUTH_LOGIN,
  GATE_SMTP_AUTH_CRAM_MD5,
};

static void
show_problem (GtkWidget *row, GtkWidget *error_row, GtkLabel *error_label, const char *problem)
{
  gtk_widget_set_visible (error_row, problem != NULL);
  gtk_label_set_label (error_label, problem != NULL ? problem : "");
  if (problem != NULL)
    {
      gtk_widget_add_css_class (row, "error");
      gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, problem, -1);
      gtk_accessible_update_state (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_TRUE, -1);
    }
  else
    {
      gtk_widget_remove_css_class (row, "error");
      gtk_accessible_reset_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
      gtk_accessible_reset_state (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_STATE_INVALID);
    }
}

static GateProviderPreset *
current_preset (GateProfilePage *self)
{
  GateProviderPreset *preset = gate_provider_preset_lookup (gate_profile_get_preset_id (self->profile));

  return preset != NULL ? preset : gate_provider_preset_lookup (GATE_PRESET_OTHER);
}

static void
update_password_status (GateProfilePage *self)
{
  const char *text;

  if (self->password_problem != NULL)
    text = self->password_problem;
  else if (self->profile != NULL && gate_profile_get_has_password (self->profile))
    text = _("A password is saved in the keyring. Type a new one and press Enter to replace it.");
  else
    text = _("No password saved yet. Type it and press Enter to keep it in the keyring.");

  gtk_label_set_label (self->password_status, text);
  if (self->password_problem != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->password_status), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->password_status), "error");
}

static void
update_preset_dependent (GateProfilePage *self)
{
  GateProviderPreset *preset = current_preset (self);
  GListModel *regions = preset != NULL ? gate_provider_preset_get_regions (preset) : NULL;
  gboolean fixed_host = preset != NULL && gate_provider_preset_get_has_fixed_host (preset);
  guint selected = GTK_INVALID_LIST_POSITION;

  adw_combo_row_set_model (self->region_row, regions);
  for (guint i = 0; regions != NULL && i < g_list_model_get_n_items (regions); i++)
    {
      g_autoptr(GateProviderRegion) region = g_list_model_get_item (regions, i);

      if (g_strcmp0 (gate_provider_region_get_id (region), gate_profile_get_region (self->profile)) == 0)
        selected = i;
    }
  if (selected == GTK_INVALID_LIST_POSITION && regions != NULL && g_list_model_get_n_items (regions) > 0)
    selected = 0;
  adw_combo_row_set_selected (self->region_row, selected);
  gtk_widget_set_visible (GTK_WIDGET (self->region_row), regions != NULL && g_list_model_get_n_items (regions) > 0);
  /* A provider's own server names come from the chosen location. */
  gtk_editable_set_editable (GTK_EDITABLE (self->host_row), !fixed_host);
}

static void
load (GateProfilePage *self)
{
  g_autofree char *port = NULL;
  GListModel *presets = gate_provider_preset_list ();
  GateSmtpAuthMechanism auth;

  if (self->profile == NULL)
    return;

  self->loading = TRUE;

  for (guint i = 0; i < g_list_model_get_n_items (presets); i++)
    {
      g_autoptr(GateProviderPreset) preset = g_list_model_get_item (presets, i);

      if (preset == current_preset (self))
        adw_combo_row_set_selected (self->preset_row, i);
    }
  update_preset_dependent (self);

  gtk_editable_set_text (GTK_EDITABLE (self->host_row), gate_profile_get_host (self->profile));
  port = g_strdup_printf ("%u", gate_profile_get_port (self->profile));
  gtk_editable_set_text (GTK_EDITABLE (self->port_row), port);
  adw_combo_row_set_selected (self->security_row, gate_profile_get_security (self->profile));
  gtk_editable_set_text (GTK_EDITABLE (self->username_row), gate_profile_get_username (self->profile));
  gtk_editable_set_text (GTK_EDITABLE (self->sender_name_row), gate_profile_get_sender_name (self->profile));
  gtk_editable_set_text (GTK_EDITABLE (self->sender_address_row), gate_profile_get_sender_address (self->profile));
  gtk_editable_set_text (GTK_EDITABLE (self->pin_row), gate_profile_get_pinned_fingerprint (self->profile));
  gtk_editable_set_text (GTK_EDITABLE (self->ca_file_row), gate_profile_get_ca_file (self->profile));
  gtk_switch_set_active (self->plain_auth_switch, gate_profile_get_allow_plain_auth (self->profile));
  gtk_widget_set_visible (self->plain_auth_warning_row, gate_profile_get_allow_plain_auth (self->profile));

  auth = gate_profile_get_auth_mechanism (self->profile);
  adw_combo_row_set_selected (self->auth_row, 0);
  for (guint i = 0; i < G_N_ELEMENTS (auth_choices); i++)
    if (auth_choices[i] == auth)
      adw_combo_row_set_selected (self->auth_row, i);

  /* Stored values were valid when saved: start without messages. */
  show_problem (GTK_WIDGET (self->host_row), self->host_error_row, self->host_error, NULL);
  show_problem (GTK_WIDGET (self->port_row), self->port_error_row, self->port_error, NULL);
  show_problem (GTK_WIDGET (self->sender_address_row), self->sender_address_error_row, self->sender_address_error, NULL);
  show_problem (GTK_WIDGET (self->pin_row), self->pin_error_row, self->pin_error, NULL);
  show_problem (GTK_WIDGET (self->ca_file_row), self->ca_file_error_row, self->ca_file_error, NULL);
  update_password_status (self);

  self->loading = FALSE;
}

static void
on_profile_notify (GateProfilePage *self, GParamSpec *pspec, GateProfile *profile)
{
  /* Changes made elsewhere (the connection check, a fix button, another
   * window) show up here; the page's own writes do not reload it. */
  if (self->writing || self->loading)
    return;
  if (g_strcmp0 (pspec->name, "has-password") == 0)
    {
      update_password_status (self);
      return;
    }
  if (g_strcmp0 (pspec->name, "last-success") == 0 || g_strcmp0 (pspec->name, "name") == 0)
    return;
  load (self);
}

#define WRITE(self, call) \
  G_STMT_START { (self)->writing = TRUE; call; (self)->writing = FALSE; } G_STMT_END

static void
on_preset_selected (GateProfilePage *self)
{
  GateProviderPreset *preset = adw_combo_row_get_selected_item (self->preset_row);

  if (self->loading || self->profile == NULL || preset == NULL)
    return;
  if (g_strcmp0 (gate_provider_preset_get_id (preset), gate_profile_get_preset_id (self->profile)) == 0)
    return;

  /* Choosing a provider fills in its server, port and encryption. */
  WRITE (self, gate_profile_apply_preset (self->profile, gate_provider_preset_get_id (preset), NULL));
  load (self);
}

static void
on_region_selected (GateProfilePage *self)
{
  GateProviderRegion *region = adw_combo_row_get_selected_item (self->region_row);

  if (self->loading || self->profile == NULL || region == NULL)
    return;

  WRITE (self, {
    gate_profile_set_region (self->profile, gate_provider_region_get_id (region));
    gate_profile_set_host (self->profile, gate_provider_region_get_host (region));
  });
  self->loading = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (self->host_row), gate_profile_get_host (self->profile));
  self->loading = FALSE;
}

static void
on_host_changed (GateProfilePage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->host_row));
  g_autofree char *host = g_strstrip (g_strdup (text));
  const char *problem;

  if (self->loading || self->profile == NULL)
    return;
  problem = gate_profile_check_host (host);
  show_problem (GTK_WIDGET (self->host_row), self->host_error_row, self->host_error, problem);
  if (problem == NULL)
    WRITE (self, gate_profile_set_host (self->profile, host));
}

static void
on_port_changed (GateProfilePage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->port_row));
  const char *problem;
  guint64 port;

  if (self->loading || self->profile == NULL)
    return;
  problem = gate_profile_check_port_text (text);
  show_problem (GTK_WIDGET (self->port_row), self->port_error_row, self->port_error, problem);
  if (problem != NULL || !g_ascii_string_to_unsigned (text, 10, 1, 65535, &port, NULL))
    return;

  WRITE (self, gate_profile_set_port (self->profile, (guint16) port));
  /* A port the provider lists tells which encryption it speaks. */
  if (gate_provider_preset_get_port (current_preset (self), (guint16) port) != NULL)
    {
      GateSmtpSecurity security = gate_provider_preset_get_port_security (current_preset (self), (guint16) port);

      WRITE (self, gate_profile_set_security (self->profile, security));
      self->loading = TRUE;
      adw_combo_row_set_selected (self->security_row, security);
      self->loading = FALSE;
    }
}

static void
on_security_selected (GateProfilePage *self)
{
  guint selected = adw_combo_row_get_selected (self->security_row);

  if (self->loading || self->profile == NULL || selected > GATE_SMTP_SECURITY_TLS)
    return;
  WRITE (self, gate_profile_set_security (self->profile, (GateSmtpSecurity) selected));
}

static void
on_username_changed (GateProfilePage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->username_row))));

  if (self->loading || self->profile == NULL)
    return;
  WRITE (self, gate_profile_set_username (self->profile, text));
}

static void
on_password_changed (GateProfilePage *self)
{
  if (self->password_problem != NULL && gtk_editable_get_text (GTK_EDITABLE (self->password_row))[0] != '\0')
    {
      g_clear_pointer (&self->password_problem, g_free);
      update_password_status (self);
    }
}

static void
on_password_apply (GateProfilePage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->password_row));
  g_autofree char *password = NULL;

  if (self->profile == NULL || text[0] == '\0')
    return;

  /* The field is cleared at once: a saved password is never shown back.
   * Clearing is a change too; without the apply button for that moment the
   * row does not offer to apply the empty text. */
  password = g_strdup (text);
  adw_entry_row_set_show_apply_button (self->password_row, FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
  adw_entry_row_set_show_apply_button (self->password_row, TRUE);
  g_signal_emit (self, signals[SIGNAL_SAVE_PASSWORD], 0, password);
  memset (password, 0, strlen (password));
}

static void
on_sender_name_changed (GateProfilePage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->sender_name_row))));

  if (self->loading || self->profile == NULL)
    return;
  WRITE (self, gate_profile_set_sender_name (self->profile, text));
}

static void
on_sender_address_changed (GateProfilePage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->sender_address_row))));
  const char *problem;

  if (self->loading || self->profile == NULL)
    return;
  problem = gate_profile_check_address (text, TRUE);
  show_problem (GTK_WIDGET (self->sender_address_row), self->sender_address_error_row, self->sender_address_error,
                problem);
  if (problem == NULL)
    WRITE (self, gate_profile_set_sender_address (self->profile, text));
}

static void
on_auth_selected (GateProfilePage *self)
{
  guint selected = adw_combo_row_get_selected (self->auth_row);

  if (self->loading || self->profile == NULL || selected >= G_N_ELEMENTS (auth_choices))
    return;
  WRITE (self, gate_profile_set_auth_mechanism (self->profile, auth_choices[selected]));
}

static void
on_pin_changed (GateProfilePage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->pin_row))));
  const char *problem;

  if (self->loading || self->profile == NULL)
    return;
  problem = gate_profile_check_fingerprint (text);
  show_problem (GTK_WIDGET (self->pin_row), self->pin_error_row, self->pin_error, problem);
  if (problem == NULL)
    WRITE (self, gate_profile_set_pinned_fingerprint (self->profile, text));
}

static void
on_ca_file_changed (GateProfilePage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->ca_file_row))));
  const char *problem;

  if (self->loading || self->profile == NULL)
    return;
  problem = gate_profile_check_ca_file (text);
  show_problem (GTK_WIDGET (self->ca_file_row), self->ca_file_error_row, self->ca_file_error, problem);
  if (problem == NULL)
    WRITE (self, gate_profile_set_ca_file (self->profile, text));
}

static void
on_ca_chooser_response (GateProfilePage *self, int response, GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        gtk_editable_set_text (GTK_EDITABLE (self->ca_file_row), path);
    }
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (chooser));
  g_clear_object (&self->chooser);
}

static void
on_ca_file_choose (GateProfilePage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Choose a Certificate Authority File"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (on_ca_chooser_response), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
on_plain_auth_toggled (GateProfilePage *self)
{
  gboolean active = gtk_switch_get_active (self->plain_auth_switch);

  gtk_widget_set_visible (self->plain_auth_warning_row, active);
  if (self->loading || self->profile == NULL)
    return;
  WRITE (self, gate_profile_set_allow_plain_auth (self->profile, active));
}

static void
on_probe_use_port (GateProfilePage *self, guint port, guint security, GateProbeDialog *dialog)
{
  if (self->profile == NULL)
    return;
  WRITE (self, {
    gate_profile_set_port (self->profile, (guint16) port);
    gate_profile_set_security (self->profile, (GateSmtpSecurity) security);
  });
  load (self);
}

static void
on_check_clicked (GateProfilePage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GateProviderPreset *preset;
  const GatePortCandidate *ports;
  guint n_ports = 0;
  GateProbeDialog *dialog;
  const char *problem;

  if (self->profile == NULL)
    return;

  problem = gate_profile_check_host (gate_profile_get_host (self->profile));
  if (problem != NULL)
    {
      show_problem (GTK_WIDGET (self->host_row), self->host_error_row, self->host_error, problem);
      gtk_widget_grab_focus (GTK_WIDGET (self->host_row));
      return;
    }

  dialog = gate_probe_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                  gate_profile_get_host (self->profile));
  gate_probe_dialog_set_trust (dialog, gate_profile_get_ca_file (self->profile),
                               gate_profile_get_pinned_fingerprint (self->profile));
  /* The port set now first, then the ones the provider lists. */
  gate_probe_dialog_add_candidate (dialog, gate_profile_get_port (self->profile),
                                   gate_profile_get_security (self->profile));
  preset = current_preset (self);
  ports = preset != NULL ? gate_provider_preset_get_candidate_ports (preset, &n_ports) : NULL;
  for (guint i = 0; i < n_ports; i++)
    gate_probe_dialog_add_candidate (dialog, ports[i].port, ports[i].security);

  g_signal_connect_object (dialog, "use-port", G_CALLBACK (on_probe_use_port), self, G_CONNECT_SWAPPED);
  gate_probe_dialog_start (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
gate_profile_page_set_profile (GateProfilePage *self, GateProfile *profile)
{
  g_return_if_fail (GATE_IS_PROFILE_PAGE (self));
  g_return_if_fail (profile == NULL || GATE_IS_PROFILE (profile));

  if (self->profile == profile)
    return;
  if (self->profile != NULL)
    g_signal_handlers_disconnect_by_data (self->profile, self);
  g_set_object (&self->profile, profile);
  g_clear_pointer (&self->password_problem, g_free);
  adw_entry_row_set_show_apply_button (self->password_row, FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
  adw_entry_row_set_show_apply_button (self->password_row, TRUE);
  if (profile != NULL)
    {
      g_signal_connect_swapped (profile, "notify", G_CALLBACK (on_profile_notify), self);
      load (self);
    }
}

GateProfile *
gate_profile_page_get_profile (GateProfilePage *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE_PAGE (self), NULL);

  return self->profile;
}

void
gate_profile_page_focus_password (GateProfilePage *self)
{
  g_return_if_fail (GATE_IS_PROFILE_PAGE (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
}

void
gate_profile_page_set_password_problem (GateProfilePage *self, const char *message)
{
  g_return_if_fail (GATE_IS_PROFILE_PAGE (self));

  g_free (self->password_problem);
  self->password_problem = g_strdup (message);
  update_password_status (self);
}

static void
gate_profile_page_dispose (GObject *object)
{
  GateProfilePage *self = GATE_PROFILE_PAGE (object);

  if (self->profile != NULL)
    g_signal_handlers_disconnect_by_data (self->profile, self);
  g_clear_object (&self->profile);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), GATE_TYPE_PROFILE_PAGE);
  /* The template's top box has no name: unparent what is left. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (gate_profile_page_parent_class)->dispose (object);
}

static void
gate_profile_page_finalize (GObject *object)
{
  GateProfilePage *self = GATE_PROFILE_PAGE (object);

  g_free (self->password_problem);

  G_OBJECT_CLASS (gate_profile_page_parent_class)->finalize (object);
}

static void
gate_profile_page_class_init (GateProfilePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gate_profile_page_dispose;
  object_class->finalize = gate_profile_page_finalize;

  signals[SIGNAL_SAVE_PASSWORD] = g_signal_new ("save-password", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                                NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/postgate/Postgate/gate-profile-page.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, GateProfilePage, name)
  CHILD (page);
  CHILD (preset_row);
  CHILD (region_row);
  CHILD (host_row);
  CHILD (host_error_row);
  CHILD (host_error);
  CHILD (port_row);
  CHILD (port_error_row);
  CHILD (port_error);
  CHILD (security_row);
  CHILD (check_button);
  CHILD (username_row);
  CHILD (password_row);
  CHILD (password_status);
  CHILD (sender_name_row);
  CHILD (sender_address_row);
  CHILD (sender_address_error_row);
  CHILD (sender_address_error);
  CHILD (advanced_row);
  CHILD (auth_row);
  CHILD (pin_row);
  CHILD (pin_error_row);
  CHILD (pin_error);
  CHILD (ca_file_row);
  CHILD (ca_file_error_row);
  CHILD (ca_file_error);
  CHILD (plain_auth_switch);
  CHILD (plain_auth_warning_row);
#undef CHILD
  gtk_widget_class_bind_template_callback (widget_class, on_preset_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_region_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_host_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_port_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_security_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_check_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_username_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_password_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_password_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_sender_name_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_sender_address_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_auth_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_pin_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_ca_file_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_ca_file_choose);
  gtk_widget_class_bind_template_callback (widget_class, on_plain_auth_toggled);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

/* libadwaita 1.2 leaves the password row's buttons (show/hide, and the
 * check mark that saves) without names for screen readers. */
static void
name_row_buttons (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_BUTTON (child))
        {
          const char *icon = gtk_button_get_icon_name (GTK_BUTTON (child));
          gboolean peek = GTK_IS_TOGGLE_BUTTON (child) || (icon != NULL && strstr (icon, "reveal") != NULL)
                          || (icon != NULL && strstr (icon, "conceal") != NULL);

          gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                          peek ? _("Show the password") : _("Save the password"), -1);
        }
      name_row_buttons (child);
    }
}

static void
gate_profile_page_init (GateProfilePage *self)
{
  g_autoptr(GtkStringList) security = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) auth = gtk_string_list_new (NULL);
  g_autoptr(GtkExpression) preset_name = NULL;
  g_autoptr(GtkExpression) region_name = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  preset_name = gtk_property_expression_new (GATE_TYPE_PROVIDER_PRESET, NULL, "name");
  adw_combo_row_set_expression (self->preset_row, preset_name);
  adw_combo_row_set_model (self->preset_row, gate_provider_preset_list ());
  region_name = gtk_property_expression_new (GATE_TYPE_PROVIDER_REGION, NULL, "name");
  adw_combo_row_set_expression (self->region_row, region_name);

  for (GateSmtpSecurity s = GATE_SMTP_SECURITY_NONE; s <= GATE_SMTP_SECURITY_TLS; s++)
    gtk_string_list_append (security, gate_smtp_security_get_label (s));
  adw_combo_row_set_model (self->security_row, G_LIST_MODEL (security));

  gtk_string_list_append (auth, _("Automatic"));
  gtk_string_list_append (auth, "PLAIN");
  gtk_string_list_append (auth, "LOGIN");
  gtk_string_list_append (auth, "CRAM-MD5");
  adw_combo_row_set_model (self->auth_row, G_LIST_MODEL (auth));

  gtk_accessible_update_property (GTK_ACCESSIBLE (self->plain_auth_warning_row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Warning"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->advanced_row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Advanced settings"), -1);
  name_row_buttons (GTK_WIDGET (self->password_row));
}

GtkWidget *
gate_profile_page_new (void)
{
  return g_object_new (GATE_TYPE_PROFILE_PAGE, NULL);
}
