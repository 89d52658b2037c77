/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-smtp-reply.h"

G_BEGIN_DECLS

/* Every failure of the SMTP engine, one code per class a user can act on.
 * The error's message is a plain-language summary for a non-technical reader;
 * the extended data (GLib's extended GError) carries the stage, the server's
 * reply and the next step to take. */
#define GATE_SMTP_ERROR (gate_smtp_error_quark ())
GQuark gate_smtp_error_quark (void);

typedef enum {
  GATE_SMTP_ERROR_NAME_NOT_FOUND,
  GATE_SMTP_ERROR_CONNECTION_REFUSED,
  GATE_SMTP_ERROR_NETWORK,          /* unreachable, reset, closed early */
  GATE_SMTP_ERROR_TIMED_OUT,
  GATE_SMTP_ERROR_TLS_FAILED,       /* handshake failed */
  GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED,
  GATE_SMTP_ERROR_STARTTLS_NOT_OFFERED,
  GATE_SMTP_ERROR_PLAIN_AUTH_REFUSED, /* credentials would go without TLS and the profile does not allow it */
  GATE_SMTP_ERROR_NO_AUTH_MECHANISM,
  GATE_SMTP_ERROR_AUTH_FAILED,
  GATE_SMTP_ERROR_SERVICE_UNAVAILABLE, /* 421 or a refusing greeting */
  GATE_SMTP_ERROR_SENDER_REFUSED,
  GATE_SMTP_ERROR_RECIPIENT_REFUSED,   /* every recipient refused */
  GATE_SMTP_ERROR_MESSAGE_REFUSED,
  GATE_SMTP_ERROR_MESSAGE_TOO_LARGE,
  GATE_SMTP_ERROR_PROTOCOL,            /* the server broke the protocol */
  GATE_SMTP_ERROR_CANCELLED,
  GATE_SMTP_ERROR_INVALID_INPUT,       /* the caller's input is unusable (bad address, unreadable file) */
} GateSmtpError;

/* Where in the conversation a failure happened; also the stage indicator of
 * the GUI. */
typedef enum {
  GATE_SMTP_STAGE_NONE,
  GATE_SMTP_STAGE_CONNECT,   /* name lookup and TCP */
  GATE_SMTP_STAGE_GREETING,
  GATE_SMTP_STAGE_HELLO,     /* EHLO / HELO */
  GATE_SMTP_STAGE_TLS,       /* STARTTLS or the implicit TLS handshake */
  GATE_SMTP_STAGE_AUTH,
  GATE_SMTP_STAGE_MAIL,
  GATE_SMTP_STAGE_RCPT,
  GATE_SMTP_STAGE_DATA,
  GATE_SMTP_STAGE_QUIT,
  GATE_SMTP_STAGE_DONE,
} GateSmtpStage;

/* Why a certificate was not trusted. */
typedef enum {
  GATE_CERTIFICATE_PROBLEM_NONE,
  GATE_CERTIFICATE_PROBLEM_UNKNOWN_ISSUER,
  GATE_CERTIFICATE_PROBLEM_SELF_SIGNED,
  GATE_CERTIFICATE_PROBLEM_WRONG_HOST,
  GATE_CERTIFICATE_PROBLEM_EXPIRED,
  GATE_CERTIFICATE_PROBLEM_NOT_YET_VALID,
  GATE_CERTIFICATE_PROBLEM_REVOKED,
  GATE_CERTIFICATE_PROBLEM_INSECURE,
  GATE_CERTIFICATE_PROBLEM_PIN_MISMATCH,
  GATE_CERTIFICATE_PROBLEM_OTHER,
} GateCertificateProblem;

/* What the explanation needs to know besides the code. */
typedef struct {
  GateSmtpStage stage;
  const char *host;
  guint16 port;
  GateSmtpReply *reply;                 /* nullable */
  GateCertificateProblem certificate_problem;
  const char *certificate_fingerprint;  /* nullable, "AB:CD:…" */
  const char *detail;                   /* nullable: a lower-level message, e.g. from GIO */
  const char *address;                  /* nullable: the refused sender or recipient address */
  guint64 size_limit;                   /* the server's SIZE limit in bytes, 0 when unknown */
} GateSmtpErrorContext;

/* Builds the error with its plain-language summary and next step. */
GError *gate_smtp_error_new (GateSmtpError code, const GateSmtpErrorContext *context);
/* Turns a GIO error of @stage (G_IO_ERROR, G_RESOLVER_ERROR, G_TLS_ERROR) into
 * the matching GATE_SMTP_ERROR. */
GError *gate_smtp_error_new_from_gio (const GError *gio_error, const GateSmtpErrorContext *context);

GateSmtpStage gate_smtp_error_get_stage (const GError *error);
/* The server's reply that caused the failure, or NULL. */
GateSmtpReply *gate_smtp_error_get_reply (const GError *error);
/* A sentence saying what to do next, never NULL for GATE_SMTP_ERROR. */
const char *gate_smtp_error_get_next_step (const GError *error);
/* TRUE when trying again later may work (4xx replies, network problems, time-outs). */
gboolean gate_smtp_error_is_temporary (const GError *error);
GateCertificateProblem gate_smtp_error_get_certificate_problem (const GError *error);
const char *gate_smtp_error_get_certificate_fingerprint (const GError *error);
/* A port worth trying instead (e.g. 2525 after a time-out on 25), or 0. */
guint16 gate_smtp_error_get_suggested_port (const GError *error);
/* Lower-level detail, e.g. the GIO message, for the transcript; may be NULL. */
const char *gate_smtp_error_get_detail (const GError *error);

/* A translated name for a stage: "Connecting", "Securing", "Signing in", … */
const char *gate_smtp_stage_get_label (GateSmtpStage stage);

G_END_DECLS
