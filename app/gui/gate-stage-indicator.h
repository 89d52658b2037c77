/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gate-smtp-error.h"

G_BEGIN_DECLS

/* The five steps a user sees while a test email goes out:
 * Connecting → Securing → Signing in → Sending → Done. */
typedef enum {
  GATE_STEP_NONE = -1,
  GATE_STEP_CONNECTING = 0,
  GATE_STEP_SECURING,
  GATE_STEP_SIGNING_IN,
  GATE_STEP_SENDING,
  GATE_STEP_DONE,
  GATE_N_STEPS,
} GateStep;

#define GATE_TYPE_STAGE_INDICATOR (gate_stage_indicator_get_type ())
G_DECLARE_FINAL_TYPE (GateStageIndicator, gate_stage_indicator, GATE, STAGE_INDICATOR, GtkWidget)

GtkWidget *gate_stage_indicator_new (void);

/* The step an engine stage belongs to. */
GateStep gate_step_from_stage (GateSmtpStage stage);

/* Marks the steps before @step done and @step as under way (DONE: all done). */
void gate_stage_indicator_set_step (GateStageIndicator *self, GateStep step);
/* Marks @step as where it stopped: failed or cancelled. */
void gate_stage_indicator_set_failed (GateStageIndicator *self, GateStep step);
/* Marks @step as left out (no encryption was asked for, say). */
void gate_stage_indicator_set_skipped (GateStageIndicator *self, GateStep step);
void gate_stage_indicator_reset (GateStageIndicator *self);
GateStep gate_stage_indicator_get_step (GateStageIndicator *self);

G_END_DECLS
