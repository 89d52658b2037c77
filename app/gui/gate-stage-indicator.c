/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-gui"

#include "config.h"

#include "gate-stage-indicator.h"

#include <glib/gi18n-lib.h>

struct _GateStageIndicator
{
  GtkWidget parent_instance;

  GtkWidget *flow;
  GtkWidget *icons[GATE_N_STEPS];
  GtkWidget *labels[GATE_N_STEPS];
  GateStep step;
  gboolean failed;
  guint skipped; /* bit per GateStep */
};

G_DEFINE_FINAL_TYPE (GateStageIndicator, gate_stage_indicator, GTK_TYPE_WIDGET)

static const char *
step_label (GateStep step)
{
  switch (step)
    {
    case GATE_STEP_CONNECTING:
      return _("Connecting");
    case GATE_STEP_SECURING:
      return _("Securing");
    case GATE_STEP_SIGNING_IN:
      return _("Signing in");
    case GATE_STEP_SENDING:
      return _("Sending");
    case GATE_STEP_DONE:
      return _("Done");
    case GATE_STEP_NONE:
    case GATE_N_STEPS:
    default:
      return "";
    }
}

GateStep
gate_step_from_stage (GateSmtpStage stage)
{
  switch (stage)
    {
    case GATE_SMTP_STAGE_CONNECT:
    case GATE_SMTP_STAGE_GREETING:
    case GATE_SMTP_STAGE_HELLO:
      return GATE_STEP_CONNECTING;
    case GATE_SMTP_STAGE_TLS:
      return GATE_STEP_SECURING;
    case GATE_SMTP_STAGE_AUTH:
      return GATE_STEP_SIGNING_IN;
    case GATE_SMTP_STAGE_MAIL:
    case GATE_SMTP_STAGE_RCPT:
    case GATE_SMTP_STAGE_DATA:
    case GATE_SMTP_STAGE_QUIT:
      return GATE_STEP_SENDING;
    case GATE_SMTP_STAGE_DONE:
      return GATE_STEP_DONE;
    case GATE_SMTP_STAGE_NONE:
    default:
      return GATE_STEP_NONE;
    }
}

static void
update (GateStageIndicator *self)
{
  g_autofree char *summary = NULL;

  for (int i = 0; i < GATE_N_STEPS; i++)
    {
      const char *icon;
      GtkWidget *label = self->labels[i];

      gtk_widget_remove_css_class (label, "dim-label");
      gtk_widget_remove_css_class (label, "accent");
      gtk_widget_remove_css_class (label, "error");
      gtk_widget_remove_css_class (label, "success");
      gtk_widget_remove_css_class (self->icons[i], "error");
      gtk_widget_remove_css_class (self->icons[i], "success");
      gtk_widget_remove_css_class (self->icons[i], "accent");

      if ((self->skipped & (1u << i)) != 0 && (self->step == GATE_STEP_NONE || i < self->step
                                                || self->step == GATE_STEP_DONE))
        {
          icon = "action-unavailable-symbolic";
          gtk_widget_add_css_class (label, "dim-label");
        }
      else if (self->step == GATE_STEP_NONE || i > self->step)
        {
          icon = "content-loading-symbolic";
          gtk_widget_add_css_class (label, "dim-label");
        }
      else if (i < self->step || (i == self->step && self->step == GATE_STEP_DONE && !self->failed))
        {
          icon = "object-select-symbolic";
          gtk_widget_add_css_class (label, "success");
          gtk_widget_add_css_class (self->icons[i], "success");
        }
      else if (self->failed)
        {
          icon = "dialog-error-symbolic";
          gtk_widget_add_css_class (label, "error");
          gtk_widget_add_css_class (self->icons[i], "error");
        }
      else
        {
          icon = "media-playback-start-symbolic";
          gtk_widget_add_css_class (label, "accent");
          gtk_widget_add_css_class (self->icons[i], "accent");
        }
      gtk_image_set_from_icon_name (GTK_IMAGE (self->icons[i]), icon);
    }

  if (self->step == GATE_STEP_NONE)
    summary = g_strdup (_("Not started"));
  else if (self->failed)
    /* Translators: %s is a step such as "Signing in". */
    summary = g_strdup_printf (_("Stopped at: %s"), step_label (self->step));
  else if (self->step == GATE_STEP_DONE)
    summary = g_strdup (_("Done"));
  else
    /* Translators: %s is a step such as "Connecting". */
    summary = g_strdup_printf (_("Now: %s"), step_label (self->step));

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, summary, -1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), summary);
}

void
gate_stage_indicator_set_step (GateStageIndicator *self, GateStep step)
{
  g_return_if_fail (GATE_IS_STAGE_INDICATOR (self));
  g_return_if_fail (step >= GATE_STEP_NONE && step < GATE_N_STEPS);

  /* Stages only move forward within one send. */
  if (step < self->step && step != GATE_STEP_NONE)
    return;
  self->step = step;
  self->failed = FALSE;
  update (self);
}

void
gate_stage_indicator_set_failed (GateStageIndicator *self, GateStep step)
{
  g_return_if_fail (GATE_IS_STAGE_INDICATOR (self));

  if (step == GATE_STEP_NONE || step >= GATE_N_STEPS)
    step = self->step == GATE_STEP_NONE ? GATE_STEP_CONNECTING : self->step;
  if (step == GATE_STEP_DONE)
    step = GATE_STEP_SENDING;
  self->step = step;
  self->failed = TRUE;
  update (self);
}

void
gate_stage_indicator_set_skipped (GateStageIndicator *self, GateStep step)
{
  g_return_if_fail (GATE_IS_STAGE_INDICATOR (self));
  g_return_if_fail (step >= 0 && step < GATE_N_STEPS);

  self->skipped |= 1u << step;
  update (self);
}

void
gate_stage_indicator_reset (GateStageIndicator *self)
{
  g_return_if_fail (GATE_IS_STAGE_INDICATOR (self));

  self->step = GATE_STEP_NONE;
  self->failed = FALSE;
  self->skipped = 0;
  update (self);
}

GateStep
gate_stage_indicator_get_step (GateStageIndicator *self)
{
  g_return_val_if_fail (GATE_IS_STAGE_INDICATOR (self), GATE_STEP_NONE);

  return self->step;
}

static void
gate_stage_indicator_dispose (GObject *object)
{
  GateStageIndicator *self = GATE_STAGE_INDICATOR (object);

  g_clear_pointer (&self->flow, gtk_widget_unparent);

  G_OBJECT_CLASS (gate_stage_indicator_parent_class)->dispose (object);
}

static void
gate_stage_indicator_class_init (GateStageIndicatorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gate_stage_indicator_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
  gtk_widget_class_set_css_name (widget_class, "stageindicator");
}

static void
gate_stage_indicator_init (GateStageIndicator *self)
{
  /* A flow box so that the steps wrap onto two lines on a narrow window. */
  self->flow = gtk_flow_box_new ();
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (self->flow), GTK_SELECTION_NONE);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (self->flow), GATE_N_STEPS);
  gtk_flow_box_set_min_children_per_line (GTK_FLOW_BOX (self->flow), 2);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (self->flow), 6);
  gtk_flow_box_set_homogeneous (GTK_FLOW_BOX (self->flow), TRUE);
  gtk_widget_set_parent (self->flow, GTK_WIDGET (self));

  for (int i = 0; i < GATE_N_STEPS; i++)
    {
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *child;

      self->icons[i] = gtk_image_new ();
      gtk_accessible_update_state (GTK_ACCESSIBLE (self->icons[i]), GTK_ACCESSIBLE_STATE_HIDDEN, TRUE, -1);
      self->labels[i] = gtk_label_new (step_label (i));
      gtk_box_append (GTK_BOX (box), self->icons[i]);
      gtk_box_append (GTK_BOX (box), self->labels[i]);
      gtk_widget_set_halign (box, GTK_ALIGN_CENTER);
      gtk_flow_box_append (GTK_FLOW_BOX (self->flow), box);
      child = gtk_widget_get_parent (box);
      gtk_widget_set_focusable (child, FALSE);
    }

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Progress"), -1);
  self->step = GATE_STEP_NONE;
  update (self);
}

GtkWidget *
gate_stage_indicator_new (void)
{
  return g_object_new (GATE_TYPE_STAGE_INDICATOR, NULL);
}
