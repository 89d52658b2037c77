/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-gui"

#include "config.h"

#include "gate-send-page.h"

#include <adwaita.h>
#include <glib/gi18n-lib.h>

#include "gate-message-builder.h"
#include "gate-provider-preset.h"
#include "gate-secret-store.h"
#include "gate-smtp-client.h"
#include "gate-stage-indicator.h"
#include "gate-transcript-view.h"

struct _GateSendPage
{
  GtkWidget parent_instance;

  GtkScrolledWindow *scrolled;
  AdwEntryRow *recipient_row;
  GtkWidget *recipient_error_row;
  GtkLabel *recipient_error;
  AdwEntryRow *subject_row;
  AdwActionRow *attachment_row;
  GtkButton *attachment_button;
  GtkButton *attachment_remove_button;
  GtkTextView *body_view;
  GtkButton *send_button;
  GtkButton *cancel_button;
  GateStageIndicator *stage_indicator;
  GtkWidget *result_card;
  GtkImage *result_icon;
  GtkLabel *result_title;
  GtkLabel *result_description;
  GtkLabel *result_next_step;
  GtkWidget *fix_box;
  GtkButton *fix_port_button;
  GtkButton *fix_password_button;
  GtkButton *fix_certificate_button;
  GtkButton *fix_settings_button;
  GtkButton *retry_button;
  GateTranscriptView *transcript_view;

  GSettings *settings;
  GateProfile *profile;
  GFile *attachment;
  GtkFileChooserNative *chooser;
  /* The recipient follows the sender address until the user types one. */
  gboolean recipient_edited;
  gboolean setting_recipient;

  /* One send at a time; all of it is dropped when it ends. */
  GCancellable *cancellable;
  GateSmtpClient *client;
  GateSmtpEnvelope *envelope;
  GInputStream *message;
  char *recipient;
  char *token;

  /* What the fix buttons of the last failure apply. */
  guint16 fix_port;
  char *fix_fingerprint;
  GateCertificateProblem fix_problem;
};

G_DEFINE_FINAL_TYPE (GateSendPage, gate_send_page, GTK_TYPE_WIDGET)

enum {
  SIGNAL_EDIT_PASSWORD,
  SIGNAL_OPEN_SETTINGS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
set_busy (GateSendPage *self, gboolean busy)
{
  gboolean had_focus = gtk_widget_has_focus (GTK_WIDGET (self->cancel_button));

  /* Move the focus first: a text field made insensitive while it has the
   * focus never hears that it lost it. */
  gtk_widget_set_sensitive (GTK_WIDGET (busy ? self->cancel_button : self->send_button), TRUE);
  if (busy)
    gtk_widget_grab_focus (GTK_WIDGET (self->cancel_button));
  else if (had_focus)
    gtk_widget_grab_focus (GTK_WIDGET (self->send_button));

  gtk_widget_set_sensitive (GTK_WIDGET (self->send_button), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->recipient_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->subject_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->attachment_row), !busy);
  gtk_text_view_set_editable (self->body_view, !busy);
}

/* Brings the progress, the result and the transcript into view: on a
 * window of usual height the form above would hide them. */
static gboolean
scroll_to_progress_cb (gpointer user_data)
{
  GateSendPage *self = user_data;
  GtkWidget *content = gtk_scrolled_window_get_child (self->scrolled);
  GtkAdjustment *vadjustment = gtk_scrolled_window_get_vadjustment (self->scrolled);
  graphene_point_t point;

  if (content != NULL
      && gtk_widget_compute_point (GTK_WIDGET (self->stage_indicator), content, &GRAPHENE_POINT_INIT (0, 0), &point))
    gtk_adjustment_set_value (vadjustment, point.y - 12);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
scroll_to_progress (GateSendPage *self)
{
  g_idle_add_full (G_PRIORITY_LOW, scroll_to_progress_cb, g_object_ref (self), NULL);
}

/* Ends the current send: the client is closed at once (a QUIT already under
 * way keeps its own reference). */
static void
finish_send (GateSendPage *self)
{
  if (self->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->client, self);
      gate_smtp_client_close (self->client);
    }
  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->envelope, gate_smtp_envelope_unref);
  if (self->message != NULL)
    g_input_stream_close (self->message, NULL, NULL);
  g_clear_object (&self->message);
  set_busy (self, FALSE);
}

static void
hide_fixes (GateSendPage *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->fix_port_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_password_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_certificate_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_settings_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), FALSE);
}

static void
show_card (GateSendPage *self, const char *icon, const char *css, const char *title, const char *description,
           const char *next_step)
{
  gtk_widget_remove_css_class (GTK_WIDGET (self->result_icon), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (self->result_icon), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->result_icon), "warning");
  gtk_widget_add_css_class (GTK_WIDGET (self->result_icon), css);
  gtk_image_set_from_icon_name (self->result_icon, icon);
  gtk_label_set_label (self->result_title, title);
  gtk_label_set_label (self->result_description, description != NULL ? description : "");
  gtk_widget_set_visible (GTK_WIDGET (self->result_description), description != NULL && description[0] != '\0');
  gtk_label_set_label (self->result_next_step, next_step != NULL ? next_step : "");
  gtk_widget_set_visible (GTK_WIDGET (self->result_next_step), next_step != NULL && next_step[0] != '\0');
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->result_card), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, title, -1);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_box),
                          gtk_widget_get_visible (GTK_WIDGET (self->fix_port_button))
                            || gtk_widget_get_visible (GTK_WIDGET (self->fix_password_button))
                            || gtk_widget_get_visible (GTK_WIDGET (self->fix_certificate_button))
                            || gtk_widget_get_visible (GTK_WIDGET (self->fix_settings_button))
                            || gtk_widget_get_visible (GTK_WIDGET (self->retry_button)));
  gtk_widget_set_visible (self->result_card, TRUE);
  scroll_to_progress (self);
}

static void
show_success (GateSendPage *self, GateSmtpSendResult *result)
{
  g_autofree char *description = NULL;
  GateSmtpReply *reply = gate_smtp_send_result_get_final_reply (result);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  gate_stage_indicator_set_step (self->stage_indicator, GATE_STEP_DONE);
  /* Translators: %s is an email address, then a code like "PG-7F3K9Q" in the subject. */
  description = g_strdup_printf (_("The server accepted the message for %s. Look for “%s” in the subject."),
                                 self->recipient, self->token);
  hide_fixes (self);
  show_card (self, "emblem-ok-symbolic", "success", _("Test email sent"), description,
             _("If it does not arrive within a few minutes, look in the spam folder and in your provider’s "
               "activity log."));
  if (reply != NULL)
    g_debug ("final reply %u", gate_smtp_reply_get_code (reply));
  if (self->profile != NULL)
    gate_profile_set_last_success (self->profile, now);
}

static const char *
certificate_problem_words (GateCertificateProblem problem)
{
  switch (problem)
    {
    case GATE_CERTIFICATE_PROBLEM_SELF_SIGNED:
      return _("The certificate was made by the server itself, not by a known authority.");
    case GATE_CERTIFICATE_PROBLEM_UNKNOWN_ISSUER:
      return _("The certificate comes from an authority this computer does not know.");
    case GATE_CERTIFICATE_PROBLEM_WRONG_HOST:
      return _("The certificate is for a different server name.");
    case GATE_CERTIFICATE_PROBLEM_EXPIRED:
      return _("The certificate has expired.");
    case GATE_CERTIFICATE_PROBLEM_NOT_YET_VALID:
      return _("The certificate is not valid yet.");
    case GATE_CERTIFICATE_PROBLEM_PIN_MISMATCH:
      return _("The certificate is not the one you trusted before.");
    case GATE_CERTIFICATE_PROBLEM_REVOKED:
    case GATE_CERTIFICATE_PROBLEM_INSECURE:
    case GATE_CERTIFICATE_PROBLEM_OTHER:
    case GATE_CERTIFICATE_PROBLEM_NONE:
    default:
      return _("The certificate could not be checked.");
    }
}

static void
show_failure (GateSendPage *self, const GError *error)
{
  g_autofree char *description = NULL;
  g_autofree char *port_label = NULL;
  const char *next_step = NULL;
  GateStep step;

  hide_fixes (self);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), TRUE);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_error_matches (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CANCELLED))
    {
      gate_stage_indicator_set_failed (self->stage_indicator, gate_stage_indicator_get_step (self->stage_indicator));
      show_card (self, "process-stop-symbolic", "warning", _("Sending cancelled"),
                 _("The connection was closed. No test email was sent."), NULL);
      return;
    }

  if (error->domain != GATE_SMTP_ERROR)
    {
      gate_stage_indicator_set_failed (self->stage_indicator, gate_stage_indicator_get_step (self->stage_indicator));
      show_card (self, "dialog-error-symbolic", "error", _("The test email could not be sent"), error->message, NULL);
      return;
    }

  step = gate_step_from_stage (gate_smtp_error_get_stage (error));
  gate_stage_indicator_set_failed (self->stage_indicator,
                                   step != GATE_STEP_NONE ? step : gate_stage_indicator_get_step (self->stage_indicator));

  next_step = gate_smtp_error_get_next_step (error);
  if (gate_smtp_error_get_reply (error) != NULL)
    {
      g_autofree char *reply = gate_smtp_reply_to_string (gate_smtp_error_get_reply (error));

      /* Translators: %s is the server's reply, such as "535 5.7.8 Authentication failed". */
      description = g_strdup_printf (_("The server said: %s"), reply);
    }

  self->fix_port = gate_smtp_error_get_suggested_port (error);
  if (self->fix_port != 0 && self->profile != NULL && self->fix_port != gate_profile_get_port (self->profile))
    {
      /* Translators: a button; %u is a port number such as 2525. */
      port_label = g_strdup_printf (_("_Use Port %u"), self->fix_port);
      gtk_button_set_label (self->fix_port_button, port_label);
      gtk_widget_set_visible (GTK_WIDGET (self->fix_port_button), TRUE);
    }

  switch ((GateSmtpError) error->code)
    {
    case GATE_SMTP_ERROR_AUTH_FAILED:
    case GATE_SMTP_ERROR_NO_AUTH_MECHANISM:
      gtk_widget_set_visible (GTK_WIDGET (self->fix_password_button), TRUE);
      break;
    case GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED:
      g_free (self->fix_fingerprint);
      self->fix_fingerprint = g_strdup (gate_smtp_error_get_certificate_fingerprint (error));
      self->fix_problem = gate_smtp_error_get_certificate_problem (error);
      if (self->fix_fingerprint != NULL)
        gtk_widget_set_visible (GTK_WIDGET (self->fix_certificate_button), TRUE);
      if (description == NULL)
        description = g_strdup (certificate_problem_words (self->fix_problem));
      break;
    case GATE_SMTP_ERROR_NAME_NOT_FOUND:
    case GATE_SMTP_ERROR_STARTTLS_NOT_OFFERED:
    case GATE_SMTP_ERROR_PLAIN_AUTH_REFUSED:
    case GATE_SMTP_ERROR_SENDER_REFUSED:
    case GATE_SMTP_ERROR_INVALID_INPUT:
      gtk_widget_set_visible (GTK_WIDGET (self->fix_settings_button), TRUE);
      break;
    case GATE_SMTP_ERROR_CONNECTION_REFUSED:
    case GATE_SMTP_ERROR_NETWORK:
    case GATE_SMTP_ERROR_TIMED_OUT:
    case GATE_SMTP_ERROR_TLS_FAILED:
    case GATE_SMTP_ERROR_SERVICE_UNAVAILABLE:
    case GATE_SMTP_ERROR_RECIPIENT_REFUSED:
    case GATE_SMTP_ERROR_MESSAGE_REFUSED:
    case GATE_SMTP_ERROR_MESSAGE_TOO_LARGE:
    case GATE_SMTP_ERROR_PROTOCOL:
    case GATE_SMTP_ERROR_CANCELLED:
    default:
      break;
    }

  /* "Use port" and "Trust" send again themselves: no second button then
   * (two at most, so that the card fits a narrow window). */
  if (gtk_widget_get_visible (GTK_WIDGET (self->fix_port_button))
      || gtk_widget_get_visible (GTK_WIDGET (self->fix_certificate_button)))
    gtk_widget_set_visible (GTK_WIDGET (self->retry_button), FALSE);
  show_card (self, "dialog-error-symbolic", "error", error->message, description, next_step);
}

/* A failure outside the SMTP conversation (settings, keyring, message). */
static void
show_problem (GateSendPage *self, const char *title, const char *description, gboolean settings, gboolean password)
{
  hide_fixes (self);
  gate_stage_indicator_reset (self->stage_indicator);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_settings_button), settings);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_password_button), password);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), !settings && !password);
  show_card (self, "dialog-warning-symbolic", "warning", title, description, NULL);
}

static void
on_quit_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  /* The message is already accepted: a failed QUIT changes nothing. */
  gate_smtp_client_quit_finish (GATE_SMTP_CLIENT (source), res, NULL);
}

static void
on_sent (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GateSendPage) self = user_data;
  g_autoptr(GateSmtpSendResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = gate_smtp_client_send_finish (GATE_SMTP_CLIENT (source), res, &error);
  if (self->client != GATE_SMTP_CLIENT (source))
    return; /* a send the user already left */

  if (result == NULL)
    {
      show_failure (self, error);
      finish_send (self);
      return;
    }

  /* Say goodbye politely; the client keeps itself alive until QUIT ends. */
  gate_smtp_client_quit_async (self->client, NULL, on_quit_done, NULL);
  g_signal_handlers_disconnect_by_data (self->client, self);
  g_clear_object (&self->client);
  show_success (self, result);
  finish_send (self);
}

static void
on_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GateSendPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!gate_smtp_client_connect_finish (GATE_SMTP_CLIENT (source), res, &error))
    {
      if (self->client == GATE_SMTP_CLIENT (source))
        {
          show_failure (self, error);
          finish_send (self);
        }
      return;
    }
  if (self->client != GATE_SMTP_CLIENT (source))
    return;

  gate_stage_indicator_set_step (self->stage_indicator, GATE_STEP_SENDING);
  /* One test email per session: QUIT can travel with its final dot. */
  gate_smtp_client_set_quit_after_send (self->client, TRUE);
  gate_smtp_client_send_async (self->client, self->envelope, self->message, self->cancellable, on_sent,
                               g_object_ref (self));
}

static void
on_transcript (GateSendPage *self, GateTranscriptEvent *event, GateSmtpClient *client)
{
  gate_transcript_view_append (self->transcript_view, event);
}

static void
on_stage_changed (GateSendPage *self, GParamSpec *pspec, GateSmtpClient *client)
{
  GateStep step = gate_step_from_stage (gate_smtp_client_get_stage (client));

  /* Without encryption there is no "Securing"; say so rather than tick it. */
  if (step > GATE_STEP_SECURING && gate_smtp_client_get_security (client) == GATE_SMTP_SECURITY_NONE)
    gate_stage_indicator_set_skipped (self->stage_indicator, GATE_STEP_SECURING);

  if (step != GATE_STEP_NONE && step != GATE_STEP_DONE)
    gate_stage_indicator_set_step (self->stage_indicator, step);
}

typedef struct
{
  GateSendPage *self;
  char *password;
} BuildData;

static void
build_data_free (BuildData *data)
{
  g_object_unref (data->self);
  gate_secret_free (data->password);
  g_free (data);
}

static void
on_message_built (GObject *source, GAsyncResult *res, gpointer user_data)
{
  BuildData *data = user_data;
  GateSendPage *self = data->self;
  g_autoptr(GError) error = NULL;
  gint64 size = -1;
  GInputStream *message;

  message = gate_message_builder_build_finish (GATE_MESSAGE_BUILDER (source), res, &size, &error);
  if (g_cancellable_is_cancelled (self->cancellable) || self->cancellable == NULL)
    {
      g_clear_object (&message);
      if (self->cancellable != NULL)
        {
          g_autoptr(GError) cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "");

          show_failure (self, cancelled);
          finish_send (self);
        }
      build_data_free (data);
      return;
    }
  if (message == NULL)
    {
      show_problem (self, _("The test email could not be prepared"), error->message, FALSE, FALSE);
      finish_send (self);
      build_data_free (data);
      return;
    }

  self->message = message;
  self->envelope = gate_smtp_envelope_new (gate_profile_get_sender_address (self->profile));
  gate_smtp_envelope_add_recipient (self->envelope, self->recipient);
  gate_smtp_envelope_set_size (self->envelope, size);

  self->client = gate_profile_create_client (self->profile, data->password);
  build_data_free (data);
  g_signal_connect_swapped (self->client, "transcript", G_CALLBACK (on_transcript), self);
  g_signal_connect_swapped (self->client, "notify::stage", G_CALLBACK (on_stage_changed), self);

  gate_stage_indicator_set_step (self->stage_indicator, GATE_STEP_CONNECTING);
  gate_smtp_client_connect_async (self->client, self->cancellable, on_connected, g_object_ref (self));
}

static char *
dup_body (GateSendPage *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->body_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
build_message (GateSendPage *self, char *password)
{
  g_autoptr(GateMessageBuilder) builder = gate_message_builder_new ();
  g_autofree char *body = dup_body (self);
  BuildData *data = g_new0 (BuildData, 1);
  const char *sender_name = gate_profile_get_sender_name (self->profile);

  data->self = g_object_ref (self);
  data->password = password;

  gate_message_builder_set_from (builder, sender_name[0] != '\0' ? sender_name : NULL,
                                 gate_profile_get_sender_address (self->profile));
  gate_message_builder_add_to (builder, NULL, self->recipient);
  gate_message_builder_set_subject (builder, gtk_editable_get_text (GTK_EDITABLE (self->subject_row)));
  gate_message_builder_set_text_body (builder, body);
  if (self->attachment != NULL)
    {
      g_autofree char *name = g_file_get_basename (self->attachment);
      g_autofree char *type = g_content_type_guess (name, NULL, 0, NULL);
      g_autofree char *mime = g_content_type_get_mime_type (type);

      gate_message_builder_add_attachment (builder, self->attachment, mime != NULL ? mime : "application/octet-stream");
    }
  g_free (self->token);
  self->token = g_strdup (gate_message_builder_get_token (builder));

  gate_message_builder_build_async (builder, self->cancellable, on_message_built, data);
}

static void
on_password_found (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GateSendPage) self = user_data;
  g_autoptr(GError) error = NULL;
  char *password = gate_secret_store_lookup_finish (res, &error);

  if (self->cancellable == NULL || g_cancellable_is_cancelled (self->cancellable))
    {
      gate_secret_free (password);
      if (self->cancellable != NULL)
        {
          g_autoptr(GError) cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "");

          show_failure (self, cancelled);
          finish_send (self);
        }
      return;
    }

  if (error != NULL)
    {
      show_problem (self, _("The password could not be read from the keyring"), error->message, FALSE, FALSE);
      finish_send (self);
      return;
    }
  if (password == NULL)
    {
      show_problem (self, _("No password is saved for this profile"),
                    _("Type the password of your account in the profile’s settings, then try again."), FALSE, TRUE);
      finish_send (self);
      return;
    }

  build_message (self, password);
}

static void
show_recipient_problem (GateSendPage *self, const char *problem)
{
  gtk_widget_set_visible (self->recipient_error_row, problem != NULL);
  gtk_label_set_label (self->recipient_error, problem != NULL ? problem : "");
  if (problem != NULL)
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->recipient_row), "error");
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->recipient_row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                      problem, -1);
    }
  else
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->recipient_row), "error");
      gtk_accessible_reset_property (GTK_ACCESSIBLE (self->recipient_row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
    }
}

void
gate_send_page_send (GateSendPage *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *recipient = NULL;
  const char *problem;

  g_return_if_fail (GATE_IS_SEND_PAGE (self));

  if (self->cancellable != NULL || self->profile == NULL)
    return;

  recipient = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->recipient_row))));
  problem = gate_profile_check_address (recipient, TRUE);
  show_recipient_problem (self, problem);
  if (problem != NULL)
    {
      gtk_widget_grab_focus (GTK_WIDGET (self->recipient_row));
      return;
    }
  if (!gate_profile_validate (self->profile, &error)
      || (problem = gate_profile_check_address (gate_profile_get_sender_address (self->profile), TRUE)) != NULL)
    {
      if (error == NULL)
        error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, problem);
      show_problem (self, _("The profile’s settings are not complete"), error->message, TRUE, FALSE);
      return;
    }

  g_free (self->recipient);
  self->recipient = g_steal_pointer (&recipient);
  gate_transcript_view_clear (self->transcript_view);
  gate_stage_indicator_reset (self->stage_indicator);
  gtk_widget_set_visible (self->result_card, FALSE);
  self->cancellable = g_cancellable_new ();
  set_busy (self, TRUE);
  gate_stage_indicator_set_step (self->stage_indicator, GATE_STEP_CONNECTING);
  scroll_to_progress (self);

  if (gate_profile_get_username (self->profile)[0] != '\0')
    gate_secret_store_lookup_async (gate_profile_get_id (self->profile), GATE_SECRET_PASSWORD, self->cancellable,
                                    on_password_found, g_object_ref (self));
  else
    build_message (self, NULL);
}

void
gate_send_page_cancel (GateSendPage *self)
{
  g_return_if_fail (GATE_IS_SEND_PAGE (self));

  if (self->cancellable == NULL)
    return;
  /* The operation under way finishes with "cancelled" and shows it. */
  g_cancellable_cancel (self->cancellable);
}

static void
on_send_clicked (GateSendPage *self)
{
  gate_send_page_send (self);
}

static void
on_cancel_clicked (GateSendPage *self)
{
  gate_send_page_cancel (self);
}

static void
on_recipient_changed (GateSendPage *self)
{
  if (self->setting_recipient)
    return;
  self->recipient_edited = TRUE;
  if (gtk_widget_get_visible (self->recipient_error_row))
    show_recipient_problem (self,
                            gate_profile_check_address (gtk_editable_get_text (GTK_EDITABLE (self->recipient_row)),
                                                        TRUE));
}

static void
update_attachment (GateSendPage *self)
{
  g_autofree char *name = self->attachment != NULL ? g_file_get_basename (self->attachment) : NULL;

  adw_action_row_set_subtitle (self->attachment_row, name != NULL ? name : _("None"));
  gtk_widget_set_visible (GTK_WIDGET (self->attachment_remove_button), name != NULL);
}

static void
on_attachment_response (GateSendPage *self, int response, GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_clear_object (&self->attachment);
      self->attachment = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      update_attachment (self);
    }
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (chooser));
  g_clear_object (&self->chooser);
}

static void
on_attachment_choose (GateSendPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Attach a File"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Attach"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (on_attachment_response), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
on_attachment_remove (GateSendPage *self)
{
  g_clear_object (&self->attachment);
  update_attachment (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->attachment_button));
}

static void
on_fix_port_clicked (GateSendPage *self)
{
  GateProviderPreset *preset;

  if (self->profile == NULL || self->fix_port == 0)
    return;
  preset = gate_provider_preset_lookup (gate_profile_get_preset_id (self->profile));
  if (preset == NULL)
    preset = gate_provider_preset_lookup (GATE_PRESET_OTHER);
  gate_profile_set_port (self->profile, self->fix_port);
  if (preset != NULL)
    gate_profile_set_security (self->profile, gate_provider_preset_get_port_security (preset, self->fix_port));
  gate_send_page_send (self);
}

static void
on_fix_password_clicked (GateSendPage *self)
{
  g_signal_emit (self, signals[SIGNAL_EDIT_PASSWORD], 0);
}

static void
on_fix_settings_clicked (GateSendPage *self)
{
  g_signal_emit (self, signals[SIGNAL_OPEN_SETTINGS], 0);
}

static void
on_trust_response (GateSendPage *self, const char *response, AdwMessageDialog *dialog)
{
  if (g_strcmp0 (response, "trust") != 0 || self->profile == NULL || self->fix_fingerprint == NULL)
    return;
  gate_profile_set_pinned_fingerprint (self->profile, self->fix_fingerprint);
  gate_send_page_send (self);
}

static void
on_fix_certificate_clicked (GateSendPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog;
  GtkWidget *label;
  g_autofree char *body = NULL;

  if (self->fix_fingerprint == NULL)
    return;

  body = g_strdup_printf ("%s\n\n%s",
                          certificate_problem_words (self->fix_problem),
                          _("Trust it only if you know that this server uses this certificate, for example because "
                            "its administrator gave you the same fingerprint. Postgate will then accept this one "
                            "certificate for this profile, and no other."));
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, _("Trust This Certificate?"), body);

  label = gtk_label_new (self->fix_fingerprint);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_CHAR);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);
  gtk_widget_add_css_class (label, "monospace");
  gtk_accessible_update_property (GTK_ACCESSIBLE (label), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  _("Certificate fingerprint (SHA-256)"), -1);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), label);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"), "trust",
                                    _("_Trust and Send Again"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "trust", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_trust_response), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
sync_recipient (GateSendPage *self)
{
  if (self->recipient_edited || self->profile == NULL)
    return;
  self->setting_recipient = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (self->recipient_row), gate_profile_get_sender_address (self->profile));
  self->setting_recipient = FALSE;
}

void
gate_send_page_set_profile (GateSendPage *self, GateProfile *profile)
{
  g_return_if_fail (GATE_IS_SEND_PAGE (self));
  g_return_if_fail (profile == NULL || GATE_IS_PROFILE (profile));

  if (self->profile == profile)
    return;

  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      finish_send (self);
    }
  if (self->profile != NULL)
    g_signal_handlers_disconnect_by_data (self->profile, self);
  g_set_object (&self->profile, profile);

  gate_transcript_view_clear (self->transcript_view);
  gate_stage_indicator_reset (self->stage_indicator);
  gtk_widget_set_visible (self->result_card, FALSE);
  show_recipient_problem (self, NULL);
  self->recipient_edited = FALSE;
  if (profile != NULL)
    {
      g_signal_connect_swapped (profile, "notify::sender-address", G_CALLBACK (sync_recipient), self);
      sync_recipient (self);
    }
}

GateProfile *
gate_send_page_get_profile (GateSendPage *self)
{
  g_return_val_if_fail (GATE_IS_SEND_PAGE (self), NULL);

  return self->profile;
}

gboolean
gate_send_page_is_busy (GateSendPage *self)
{
  g_return_val_if_fail (GATE_IS_SEND_PAGE (self), FALSE);

  return self->cancellable != NULL;
}

static void
gate_send_page_dispose (GObject *object)
{
  GateSendPage *self = GATE_SEND_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->client, self);
      gate_smtp_client_close (self->client);
    }
  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->envelope, gate_smtp_envelope_unref);
  g_clear_object (&self->message);
  if (self->profile != NULL)
    g_signal_handlers_disconnect_by_data (self->profile, self);
  g_clear_object (&self->profile);
  g_clear_object (&self->attachment);
  if (self->settings != NULL)
    g_settings_unbind (self->transcript_view, "show-time");
  g_clear_object (&self->settings);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), GATE_TYPE_SEND_PAGE);
  /* The template's top box has no name: unparent what is left. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (gate_send_page_parent_class)->dispose (object);
}

static void
gate_send_page_finalize (GObject *object)
{
  GateSendPage *self = GATE_SEND_PAGE (object);

  g_free (self->recipient);
  g_free (self->token);
  g_free (self->fix_fingerprint);

  G_OBJECT_CLASS (gate_send_page_parent_class)->finalize (object);
}

static void
gate_send_page_class_init (GateSendPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gate_send_page_dispose;
  object_class->finalize = gate_send_page_finalize;

  signals[SIGNAL_EDIT_PASSWORD] = g_signal_new ("edit-password", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                                NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_OPEN_SETTINGS] = g_signal_new ("open-settings", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                                NULL, NULL, NULL, G_TYPE_NONE, 0);

  g_type_ensure (GATE_TYPE_STAGE_INDICATOR);
  g_type_ensure (GATE_TYPE_TRANSCRIPT_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/postgate/Postgate/gate-send-page.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, GateSendPage, name)
  CHILD (scrolled);
  CHILD (recipient_row);
  CHILD (recipient_error_row);
  CHILD (recipient_error);
  CHILD (subject_row);
  CHILD (attachment_row);
  CHILD (attachment_button);
  CHILD (attachment_remove_button);
  CHILD (body_view);
  CHILD (send_button);
  CHILD (cancel_button);
  CHILD (stage_indicator);
  CHILD (result_card);
  CHILD (result_icon);
  CHILD (result_title);
  CHILD (result_description);
  CHILD (result_next_step);
  CHILD (fix_box);
  CHILD (fix_port_button);
  CHILD (fix_password_button);
  CHILD (fix_certificate_button);
  CHILD (fix_settings_button);
  CHILD (retry_button);
  CHILD (transcript_view);
#undef CHILD
  gtk_widget_class_bind_template_callback (widget_class, on_send_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_recipient_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_attachment_choose);
  gtk_widget_class_bind_template_callback (widget_class, on_attachment_remove);
  gtk_widget_class_bind_template_callback (widget_class, on_fix_port_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_fix_password_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_fix_certificate_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_fix_settings_clicked);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
gate_send_page_init (GateSendPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_editable_set_text (GTK_EDITABLE (self->subject_row), _("Postgate test email"));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->body_view),
                            _("This is a test email sent by Postgate to check that your mail settings work.\n\n"
                              "If you can read this, mail from this profile gets through."),
                            -1);
  gate_stage_indicator_reset (self->stage_indicator);

  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "transcript-show-time", self->transcript_view, "show-time",
                   G_SETTINGS_BIND_DEFAULT);
}

GtkWidget *
gate_send_page_new (void)
{
  return g_object_new (GATE_TYPE_SEND_PAGE, NULL);
}
