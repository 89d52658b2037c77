/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-gui"

#include "config.h"

#include "gate-transcript-view.h"

#include <adwaita.h>
#include <glib/gi18n-lib.h>

struct _GateTranscriptView
{
  GtkWidget parent_instance;

  GtkScrolledWindow *scrolled;
  GtkTextView *text_view;
  GtkButton *copy_button;
  GtkButton *save_button;

  GtkTextTag *tags[4]; /* by GateTranscriptDirection */
  GtkTextTag *tls_tag;
  GtkTextTag *prefix_tag;
  GtkTextTag *secret_tag;
  GtkTextMark *end_mark;

  GString *plain; /* the swaks-style text, for Copy and Save */
  guint n_lines;
  GPtrArray *events; /* GateTranscriptEvent, to draw again when times are turned on or off */
  gboolean show_time;
  GtkToggleButton *time_button;
  GtkTextTag *time_tag;
  /* TRUE while the view shows the last line: new lines keep it there.  The
   * user scrolling up clears it, scrolling back to the end sets it again. */
  gboolean follow;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (GateTranscriptView, gate_transcript_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_SHOW_TIME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Colours readable on both the light and the dark background. */
static void
update_colours (GateTranscriptView *self)
{
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());

  g_object_set (self->tags[GATE_TRANSCRIPT_CLIENT], "foreground", dark ? "#99c1f1" : "#1a5fb4", NULL);
  g_object_set (self->tags[GATE_TRANSCRIPT_SERVER], "foreground", dark ? "#8ff0a4" : "#26a269", NULL);
  g_object_set (self->tags[GATE_TRANSCRIPT_INFO], "foreground", dark ? "#c0bfbc" : "#5e5c64", NULL);
  g_object_set (self->tags[GATE_TRANSCRIPT_ERROR], "foreground", dark ? "#ff7b63" : "#c01c28", NULL);
  g_object_set (self->tls_tag, "paragraph-background", dark ? "#26324a" : "#e9f1fb", NULL);
  g_object_set (self->secret_tag, "background", dark ? "#5c4a00" : "#fff3b0", NULL);
}

static void
on_value_changed (GateTranscriptView *self, GtkAdjustment *adjustment)
{
  double value = gtk_adjustment_get_value (adjustment);
  double upper = gtk_adjustment_get_upper (adjustment);
  double page = gtk_adjustment_get_page_size (adjustment);

  self->follow = value + page >= upper - 4.0;
}

/* The text grew (or the view was resized): stay at the end when following. */
static void
on_adjustment_changed (GateTranscriptView *self, GtkAdjustment *adjustment)
{
  if (self->follow)
    gtk_adjustment_set_value (adjustment,
                              gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment));
}

static void
render (GateTranscriptView *self, GateTranscriptEvent *event)
{
  GtkTextBuffer *buffer;
  GtkTextIter end;
  GateTranscriptDirection direction;
  const char *prefix;
  const char *text;
  GtkTextTag *line_tags[3] = { NULL, NULL, NULL };
  guint n = 0;
  g_autofree char *time = NULL;

  direction = gate_transcript_event_get_direction (event);
  if ((guint) direction > GATE_TRANSCRIPT_ERROR)
    direction = GATE_TRANSCRIPT_INFO;
  prefix = gate_transcript_event_get_prefix (event);
  text = gate_transcript_event_get_text (event);

  line_tags[n++] = self->tags[direction];
  if (gate_transcript_event_get_in_tls (event))
    line_tags[n++] = self->tls_tag;

  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_get_end_iter (buffer, &end);
  if (self->n_lines > 0)
    gtk_text_buffer_insert (buffer, &end, "\n", 1);

  if (self->show_time)
    {
      gint64 usec = gate_transcript_event_get_time (event);
      g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
      g_autofree char *clock = when != NULL ? g_date_time_format (when, "%H:%M:%S") : NULL;

      time = g_strdup_printf ("%s.%03d ", clock != NULL ? clock : "--:--:--",
                              (int) ((usec % G_USEC_PER_SEC) / 1000));
      gtk_text_buffer_insert_with_tags (buffer, &end, time, -1, self->time_tag, line_tags[1], NULL);
    }
  gtk_text_buffer_insert_with_tags (buffer, &end, prefix, -1, line_tags[0], self->prefix_tag, line_tags[1], NULL);
  gtk_text_buffer_insert_with_tags (buffer, &end, " ", 1, line_tags[0], line_tags[1], NULL);
  if (gate_transcript_event_get_secret_hidden (event))
    gtk_text_buffer_insert_with_tags (buffer, &end, text, -1, line_tags[0], line_tags[1], self->secret_tag, NULL);
  else
    gtk_text_buffer_insert_with_tags (buffer, &end, text, -1, line_tags[0], line_tags[1], NULL);

  g_string_append_printf (self->plain, "%s%s %s\n", time != NULL ? time : "", prefix, text);
  self->n_lines++;
}

void
gate_transcript_view_append (GateTranscriptView *self, GateTranscriptEvent *event)
{
  g_return_if_fail (GATE_IS_TRANSCRIPT_VIEW (self));
  g_return_if_fail (event != NULL);

  g_ptr_array_add (self->events, gate_transcript_event_ref (event));
  render (self, event);

  gtk_widget_set_sensitive (GTK_WIDGET (self->copy_button), TRUE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), TRUE);

  if (self->follow)
    gtk_text_view_scroll_mark_onscreen (self->text_view, self->end_mark);
}

static void
render_all (GateTranscriptView *self)
{
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), "", 0);
  g_string_truncate (self->plain, 0);
  self->n_lines = 0;
  for (guint i = 0; i < self->events->len; i++)
    render (self, g_ptr_array_index (self->events, i));
}

void
gate_transcript_view_set_show_time (GateTranscriptView *self, gboolean show_time)
{
  g_return_if_fail (GATE_IS_TRANSCRIPT_VIEW (self));

  show_time = !!show_time;
  if (self->show_time == show_time)
    return;
  self->show_time = show_time;
  gtk_toggle_button_set_active (self->time_button, show_time);
  render_all (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_TIME]);
}

gboolean
gate_transcript_view_get_show_time (GateTranscriptView *self)
{
  g_return_val_if_fail (GATE_IS_TRANSCRIPT_VIEW (self), FALSE);

  return self->show_time;
}

static void
on_time_toggled (GateTranscriptView *self)
{
  gate_transcript_view_set_show_time (self, gtk_toggle_button_get_active (self->time_button));
}

void
gate_transcript_view_clear (GateTranscriptView *self)
{
  g_return_if_fail (GATE_IS_TRANSCRIPT_VIEW (self));

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), "", 0);
  g_string_truncate (self->plain, 0);
  g_ptr_array_set_size (self->events, 0);
  self->n_lines = 0;
  self->follow = TRUE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->copy_button), FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), FALSE);
}

guint
gate_transcript_view_get_n_lines (GateTranscriptView *self)
{
  g_return_val_if_fail (GATE_IS_TRANSCRIPT_VIEW (self), 0);

  return self->n_lines;
}

char *
gate_transcript_view_dup_text (GateTranscriptView *self)
{
  g_return_val_if_fail (GATE_IS_TRANSCRIPT_VIEW (self), NULL);

  return g_strndup (self->plain->str, self->plain->len);
}

static void
on_copy_clicked (GateTranscriptView *self)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), self->plain->str);
}

static void
show_error (GateTranscriptView *self, const char *heading, const char *body)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading, body);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_chooser_response (GateTranscriptView *self, int response, GtkFileChooserNative *chooser)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

  /* A transcript is a few kilobytes: writing it at once does not stall the
   * window. */
  if (file != NULL
      && !g_file_replace_contents (file, self->plain->str, self->plain->len, NULL, FALSE,
                                   G_FILE_CREATE_PRIVATE, NULL, NULL, &error))
    show_error (self, _("The transcript could not be saved"), error->message);

  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (chooser));
  g_clear_object (&self->chooser);
}

static void
on_save_clicked (GateTranscriptView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *name = g_date_time_format (now, "postgate-transcript-%Y%m%d-%H%M%S.txt");

  if (self->chooser != NULL)
    return;

  self->chooser = gtk_file_chooser_native_new (_("Save Transcript"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (on_chooser_response), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
gate_transcript_view_dispose (GObject *object)
{
  GateTranscriptView *self = GATE_TRANSCRIPT_VIEW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), GATE_TYPE_TRANSCRIPT_VIEW);
  /* The template's top box has no name: unparent what is left. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (gate_transcript_view_parent_class)->dispose (object);
}

static void
gate_transcript_view_finalize (GObject *object)
{
  GateTranscriptView *self = GATE_TRANSCRIPT_VIEW (object);

  g_string_free (self->plain, TRUE);
  g_ptr_array_unref (self->events);

  G_OBJECT_CLASS (gate_transcript_view_parent_class)->finalize (object);
}

static void
gate_transcript_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateTranscriptView *self = GATE_TRANSCRIPT_VIEW (object);

  switch (prop_id)
    {
    case PROP_SHOW_TIME:
      g_value_set_boolean (value, self->show_time);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_transcript_view_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GateTranscriptView *self = GATE_TRANSCRIPT_VIEW (object);

  switch (prop_id)
    {
    case PROP_SHOW_TIME:
      gate_transcript_view_set_show_time (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_transcript_view_class_init (GateTranscriptViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gate_transcript_view_dispose;
  object_class->finalize = gate_transcript_view_finalize;
  object_class->get_property = gate_transcript_view_get_property;
  object_class->set_property = gate_transcript_view_set_property;

  /* Whether each line starts with the time it happened. */
  properties[PROP_SHOW_TIME] = g_param_spec_boolean ("show-time", NULL, NULL, FALSE,
                                                     G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                                                       | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/postgate/Postgate/gate-transcript-view.ui");
  gtk_widget_class_bind_template_child (widget_class, GateTranscriptView, scrolled);
  gtk_widget_class_bind_template_child (widget_class, GateTranscriptView, text_view);
  gtk_widget_class_bind_template_child (widget_class, GateTranscriptView, copy_button);
  gtk_widget_class_bind_template_child (widget_class, GateTranscriptView, save_button);
  gtk_widget_class_bind_template_child (widget_class, GateTranscriptView, time_button);
  gtk_widget_class_bind_template_callback (widget_class, on_time_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_save_clicked);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
gate_transcript_view_init (GateTranscriptView *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter end;
  GtkAdjustment *vadjustment;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->plain = g_string_new (NULL);
  self->events = g_ptr_array_new_with_free_func ((GDestroyNotify) gate_transcript_event_unref);
  self->follow = TRUE;

  buffer = gtk_text_view_get_buffer (self->text_view);
  self->tags[GATE_TRANSCRIPT_CLIENT] = gtk_text_buffer_create_tag (buffer, "client", NULL);
  self->tags[GATE_TRANSCRIPT_SERVER] = gtk_text_buffer_create_tag (buffer, "server", NULL);
  self->tags[GATE_TRANSCRIPT_INFO] = gtk_text_buffer_create_tag (buffer, "info", "style", PANGO_STYLE_ITALIC, NULL);
  self->tags[GATE_TRANSCRIPT_ERROR] = gtk_text_buffer_create_tag (buffer, "error", "weight", PANGO_WEIGHT_BOLD, NULL);
  self->tls_tag = gtk_text_buffer_create_tag (buffer, "tls", NULL);
  self->prefix_tag = gtk_text_buffer_create_tag (buffer, "prefix", "weight", PANGO_WEIGHT_BOLD, NULL);
  self->secret_tag = gtk_text_buffer_create_tag (buffer, "secret", NULL);
  self->time_tag = gtk_text_buffer_create_tag (buffer, "time", "foreground", "#77767b", NULL);
  gtk_text_buffer_get_end_iter (buffer, &end);
  self->end_mark = gtk_text_buffer_create_mark (buffer, "end", &end, FALSE);

  update_colours (self);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark", G_CALLBACK (update_colours), self,
                           G_CONNECT_SWAPPED);

  vadjustment = gtk_scrolled_window_get_vadjustment (self->scrolled);
  g_signal_connect_object (vadjustment, "value-changed", G_CALLBACK (on_value_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (vadjustment, "changed", G_CALLBACK (on_adjustment_changed), self, G_CONNECT_SWAPPED);
}

GtkWidget *
gate_transcript_view_new (void)
{
  return g_object_new (GATE_TYPE_TRANSCRIPT_VIEW, NULL);
}
