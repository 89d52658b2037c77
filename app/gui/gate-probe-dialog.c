/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-gui"

#include "config.h"

#include "gate-probe-dialog.h"

#include <glib/gi18n-lib.h>

#include "gate-port-probe.h"

struct _GateProbeDialog
{
  AdwWindow parent_instance;

  AdwWindowTitle *window_title;
  GtkSpinner *spinner;
  GtkLabel *status_label;
  GtkListBox *results_list;
  GtkLabel *explanation_label;
  GtkButton *retry_button;
  GtkButton *use_button;

  char *host;
  char *ca_file;
  char *pinned_fingerprint;
  GArray *candidates; /* GatePortCandidate */
  GPtrArray *rows;    /* AdwActionRow, one per candidate, same order */
  GPtrArray *icons;   /* GtkImage, one per candidate */
  GatePortProbe *probe;
  GCancellable *cancellable;
  guint16 best_port;
  GateSmtpSecurity best_security;
};

G_DEFINE_FINAL_TYPE (GateProbeDialog, gate_probe_dialog, ADW_TYPE_WINDOW)

enum {
  SIGNAL_USE_PORT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static char *
candidate_title (guint16 port, GateSmtpSecurity security)
{
  /* Translators: "Port 587 · STARTTLS"; the second part is the encryption. */
  return g_strdup_printf (_("Port %u · %s"), port, gate_smtp_security_get_label (security));
}

static void
clear_rows (GateProbeDialog *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->results_list))) != NULL)
    gtk_list_box_remove (self->results_list, child);
  g_ptr_array_set_size (self->rows, 0);
  g_ptr_array_set_size (self->icons, 0);
}

static void
add_rows (GateProbeDialog *self)
{
  for (guint i = 0; i < self->candidates->len; i++)
    {
      const GatePortCandidate *c = &g_array_index (self->candidates, GatePortCandidate, i);
      g_autofree char *title = candidate_title (c->port, c->security);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *icon = gtk_image_new_from_icon_name ("content-loading-symbolic");

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _("Checking…"));
      gtk_accessible_update_state (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_STATE_HIDDEN, TRUE, -1);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
      gtk_list_box_append (self->results_list, row);
      g_ptr_array_add (self->rows, row);
      g_ptr_array_add (self->icons, icon);
    }
}

static void
on_candidate_finished (GateProbeDialog *self, GatePortProbeResult *result, GatePortProbe *probe)
{
  guint16 port = gate_port_probe_result_get_port (result);
  GateSmtpSecurity security = gate_port_probe_result_get_security (result);

  for (guint i = 0; i < self->candidates->len; i++)
    {
      const GatePortCandidate *c = &g_array_index (self->candidates, GatePortCandidate, i);
      AdwActionRow *row = g_ptr_array_index (self->rows, i);
      GtkImage *icon = g_ptr_array_index (self->icons, i);
      g_autofree char *subtitle = NULL;

      if (c->port != port || c->security != security)
        continue;

      if (gate_port_probe_result_get_reached (result))
        {
          const char *protocol = gate_port_probe_result_get_tls_protocol (result);
          const char *const *auth = gate_port_probe_result_get_auth_mechanisms (result);

          if (protocol != NULL && auth[0] != NULL)
            /* Translators: %s is a protocol such as "TLS 1.3". */
            subtitle = g_strdup_printf (_("Works, encrypted with %s, sign-in offered"), protocol);
          else if (protocol != NULL)
            /* Translators: %s is a protocol such as "TLS 1.3". */
            subtitle = g_strdup_printf (_("Works, encrypted with %s"), protocol);
          else if (auth[0] != NULL)
            subtitle = g_strdup (_("Works, but without encryption"));
          else
            subtitle = g_strdup (_("Works, but without encryption or sign-in"));
          gtk_image_set_from_icon_name (icon, "object-select-symbolic");
          gtk_widget_add_css_class (GTK_WIDGET (icon), "success");
        }
      else
        {
          const GError *error = gate_port_probe_result_get_error (result);

          subtitle = g_strdup (error != NULL ? error->message : _("Does not work from this network"));
          gtk_image_set_from_icon_name (icon, "dialog-error-symbolic");
          gtk_widget_add_css_class (GTK_WIDGET (icon), "error");
        }
      adw_action_row_set_subtitle (row, subtitle);
    }
}

static void
on_probe_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GateProbeDialog) self = user_data;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GatePortProbeResult) best = NULL;
  g_autofree char *explanation = NULL;

  results = gate_port_probe_run_finish (GATE_PORT_PROBE (source), res, &error);
  if (results == NULL)
    return; /* cancelled: the window is closing */

  g_clear_object (&self->cancellable);
  gtk_spinner_set_spinning (self->spinner, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->retry_button), TRUE);

  best = gate_port_probe_choose_best (results, &explanation);
  gtk_label_set_label (self->explanation_label, explanation != NULL ? explanation : "");
  gtk_widget_set_visible (GTK_WIDGET (self->explanation_label), explanation != NULL);

  if (best != NULL)
    {
      g_autofree char *label = NULL;
      g_autofree char *title = NULL;

      self->best_port = gate_port_probe_result_get_port (best);
      self->best_security = gate_port_probe_result_get_security (best);
      title = candidate_title (self->best_port, self->best_security);
      /* Translators: %s is "Port 587 · STARTTLS". */
      label = g_strdup_printf (_("Best choice: %s"), title);
      gtk_label_set_label (self->status_label, label);
      g_free (label);
      /* Translators: a button; %u is a port number. */
      label = g_strdup_printf (_("_Use Port %u"), self->best_port);
      gtk_button_set_label (self->use_button, label);
      gtk_widget_set_visible (GTK_WIDGET (self->use_button), TRUE);
      gtk_widget_grab_focus (GTK_WIDGET (self->use_button));
    }
  else
    {
      gtk_label_set_label (self->status_label, _("No port of this server could be reached from this network."));
      gtk_widget_set_visible (GTK_WIDGET (self->use_button), FALSE);
    }
}

void
gate_probe_dialog_start (GateProbeDialog *self)
{
  g_return_if_fail (GATE_IS_PROBE_DIALOG (self));

  if (self->cancellable != NULL)
    return;

  clear_rows (self);
  add_rows (self);
  gtk_label_set_label (self->status_label, _("Trying the server’s ports…"));
  gtk_widget_set_visible (GTK_WIDGET (self->explanation_label), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->use_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), TRUE);
  gtk_spinner_set_spinning (self->spinner, TRUE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->retry_button), FALSE);

  if (self->probe != NULL)
    g_signal_handlers_disconnect_by_data (self->probe, self);
  g_clear_object (&self->probe);
  self->probe = gate_port_probe_new (self->host);
  if (self->ca_file != NULL && self->ca_file[0] != '\0')
    gate_port_probe_set_ca_file (self->probe, self->ca_file);
  if (self->pinned_fingerprint != NULL && self->pinned_fingerprint[0] != '\0')
    gate_port_probe_set_pinned_fingerprint (self->probe, self->pinned_fingerprint);
  if (self->candidates->len > 0)
    gate_port_probe_set_candidates (self->probe, (const GatePortCandidate *) (void *) self->candidates->data,
                                    self->candidates->len);
  g_signal_connect_swapped (self->probe, "candidate-finished", G_CALLBACK (on_candidate_finished), self);

  self->cancellable = g_cancellable_new ();
  gate_port_probe_run_async (self->probe, self->cancellable, on_probe_done, g_object_ref (self));
}

static void
on_retry_clicked (GateProbeDialog *self)
{
  gate_probe_dialog_start (self);
}

static void
on_use_clicked (GateProbeDialog *self)
{
  if (self->best_port == 0)
    return;
  g_signal_emit (self, signals[SIGNAL_USE_PORT], 0, (guint) self->best_port, (guint) self->best_security);
  gtk_window_close (GTK_WINDOW (self));
}

void
gate_probe_dialog_set_trust (GateProbeDialog *self, const char *ca_file, const char *pinned_fingerprint)
{
  g_return_if_fail (GATE_IS_PROBE_DIALOG (self));

  g_free (self->ca_file);
  self->ca_file = g_strdup (ca_file);
  g_free (self->pinned_fingerprint);
  self->pinned_fingerprint = g_strdup (pinned_fingerprint);
}

void
gate_probe_dialog_add_candidate (GateProbeDialog *self, guint16 port, GateSmtpSecurity security)
{
  GatePortCandidate candidate = { port, security };

  g_return_if_fail (GATE_IS_PROBE_DIALOG (self));

  for (guint i = 0; i < self->candidates->len; i++)
    {
      const GatePortCandidate *c = &g_array_index (self->candidates, GatePortCandidate, i);

      if (c->port == port && c->security == security)
        return;
    }
  g_array_append_val (self->candidates, candidate);
}

static gboolean
gate_probe_dialog_close_request (GtkWindow *window)
{
  GateProbeDialog *self = GATE_PROBE_DIALOG (window);

  g_cancellable_cancel (self->cancellable);

  return GTK_WINDOW_CLASS (gate_probe_dialog_parent_class)->close_request (window);
}

static void
gate_probe_dialog_dispose (GObject *object)
{
  GateProbeDialog *self = GATE_PROBE_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->probe != NULL)
    g_signal_handlers_disconnect_by_data (self->probe, self);
  g_clear_object (&self->probe);

  G_OBJECT_CLASS (gate_probe_dialog_parent_class)->dispose (object);
}

static void
gate_probe_dialog_finalize (GObject *object)
{
  GateProbeDialog *self = GATE_PROBE_DIALOG (object);

  g_free (self->host);
  g_free (self->ca_file);
  g_free (self->pinned_fingerprint);
  g_array_unref (self->candidates);
  g_ptr_array_unref (self->rows);
  g_ptr_array_unref (self->icons);

  G_OBJECT_CLASS (gate_probe_dialog_parent_class)->finalize (object);
}

static void
gate_probe_dialog_class_init (GateProbeDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = gate_probe_dialog_dispose;
  object_class->finalize = gate_probe_dialog_finalize;
  window_class->close_request = gate_probe_dialog_close_request;

  signals[SIGNAL_USE_PORT] = g_signal_new ("use-port", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                           NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/postgate/Postgate/gate-probe-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, GateProbeDialog, window_title);
  gtk_widget_class_bind_template_child (widget_class, GateProbeDialog, spinner);
  gtk_widget_class_bind_template_child (widget_class, GateProbeDialog, status_label);
  gtk_widget_class_bind_template_child (widget_class, GateProbeDialog, results_list);
  gtk_widget_class_bind_template_child (widget_class, GateProbeDialog, explanation_label);
  gtk_widget_class_bind_template_child (widget_class, GateProbeDialog, retry_button);
  gtk_widget_class_bind_template_child (widget_class, GateProbeDialog, use_button);
  gtk_widget_class_bind_template_callback (widget_class, on_retry_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_use_clicked);
}

static void
gate_probe_dialog_init (GateProbeDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->candidates = g_array_new (FALSE, TRUE, sizeof (GatePortCandidate));
  self->rows = g_ptr_array_new ();
  self->icons = g_ptr_array_new ();
}

GateProbeDialog *
gate_probe_dialog_new (GtkWindow *parent, const char *host)
{
  GateProbeDialog *self = g_object_new (GATE_TYPE_PROBE_DIALOG, "transient-for", parent, NULL);

  self->host = g_strdup (host);
  adw_window_title_set_subtitle (self->window_title, host);
  return self;
}
