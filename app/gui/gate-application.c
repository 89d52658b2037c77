/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-gui"

#include "config.h"

#include "gate-application.h"

#include <glib/gi18n-lib.h>

#include "gate-window.h"

struct _GateApplication
{
  AdwApplication parent_instance;

  GateProfileStore *store;
  gboolean bench;
};

G_DEFINE_FINAL_TYPE (GateApplication, gate_application, ADW_TYPE_APPLICATION)

static void
quit_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GApplication *app = G_APPLICATION (user_data);
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (app));

  /* Closing the windows lets them save what is pending. */
  for (GList *l = g_list_copy (windows), *it = l; it != NULL; it = it->next)
    {
      gtk_window_close (GTK_WINDOW (it->data));
      if (it->next == NULL)
        g_list_free (l);
    }
}

static void
about_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  const char *developers[] = { _("The Postgate developers"), NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (app),
                        "application-name", "Postgate",
                        "application-icon", APP_ID,
                        "version", PACKAGE_VERSION,
                        "developer-name", _("The Postgate developers"),
                        "developers", developers,
                        "comments", _("Send mail through an SMTP relay service and see every step."),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated, NULL, NULL, NULL, { 0 } },
  { "about", about_activated, NULL, NULL, NULL, { 0 } },
};

/* POSTGATE_BENCH=1: say when the main window's first frame was drawn, for
 * build-aux/bench-gui. */
static void
on_after_paint (GdkFrameClock *clock, GtkWidget *window)
{
  g_signal_handlers_disconnect_by_func (clock, on_after_paint, window);
  g_print ("postgate-first-frame %" G_GINT64_FORMAT "\n", g_get_real_time ());
}

static void
on_window_realize (GtkWidget *window, gpointer user_data)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);

  if (clock != NULL)
    g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), window);
}

static void
gate_application_activate (GApplication *app)
{
  GateApplication *self = GATE_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    {
      window = GTK_WINDOW (gate_window_new (ADW_APPLICATION (app), self->store));
      if (self->bench)
        g_signal_connect (window, "realize", G_CALLBACK (on_window_realize), NULL);
    }
  gtk_window_present (window);
}

static void
gate_application_startup (GApplication *app)
{
  GateApplication *self = GATE_APPLICATION (app);
  const char *quit_accels[] = { "<Control>q", NULL };

  G_APPLICATION_CLASS (gate_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_window_set_default_icon_name (APP_ID);
  /* Dark mode when the system asks for it (libadwaita's default, said out
   * loud because the app depends on it). */
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);

  self->store = gate_profile_store_new_default ();
  self->bench = g_strcmp0 (g_getenv ("POSTGATE_BENCH"), "1") == 0;
}

static void
gate_application_shutdown (GApplication *app)
{
  GateApplication *self = GATE_APPLICATION (app);
  g_autoptr(GError) error = NULL;

  if (self->store != NULL && !gate_profile_store_save (self->store, &error))
    g_warning (_("Profiles could not be saved: %s"), error->message);

  G_APPLICATION_CLASS (gate_application_parent_class)->shutdown (app);
}

static void
gate_application_dispose (GObject *object)
{
  GateApplication *self = GATE_APPLICATION (object);

  g_clear_object (&self->store);

  G_OBJECT_CLASS (gate_application_parent_class)->dispose (object);
}

static void
gate_application_class_init (GateApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = gate_application_dispose;
  app_class->startup = gate_application_startup;
  app_class->activate = gate_application_activate;
  app_class->shutdown = gate_application_shutdown;
}

static void
gate_application_init (GateApplication *self)
{
}

GateApplication *
gate_application_new (void)
{
  return g_object_new (GATE_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/postgate/Postgate",
                       NULL);
}

GateProfileStore *
gate_application_get_store (GateApplication *self)
{
  g_return_val_if_fail (GATE_IS_APPLICATION (self), NULL);

  return self->store;
}
