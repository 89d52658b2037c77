/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Longest reply line accepted from a server, in bytes, without CRLF.  RFC 5321
 * allows 512 with CRLF; real servers send longer ones, hostile ones far longer. */
#define GATE_SMTP_REPLY_MAX_LINE 4096
/* Most lines one reply may have (a large EHLO answer has about 20). */
#define GATE_SMTP_REPLY_MAX_LINES 128

/* One complete (possibly multi-line) SMTP reply.  Immutable, reference counted. */
typedef struct _GateSmtpReply GateSmtpReply;

#define GATE_TYPE_SMTP_REPLY (gate_smtp_reply_get_type ())
GType gate_smtp_reply_get_type (void) G_GNUC_CONST;

/* @lines: the text of each line, without code, separator or CRLF. */
GateSmtpReply *gate_smtp_reply_new (guint code, const char *const *lines);
GateSmtpReply *gate_smtp_reply_ref (GateSmtpReply *reply);
void gate_smtp_reply_unref (GateSmtpReply *reply);

guint gate_smtp_reply_get_code (const GateSmtpReply *reply);
/* "5.7.1" when the server uses enhanced status codes (RFC 2034) on the first
 * line, else NULL. */
const char *gate_smtp_reply_get_enhanced_code (const GateSmtpReply *reply);
/* Text of each line, NULL-terminated. */
const char *const *gate_smtp_reply_get_lines (const GateSmtpReply *reply);
/* The lines' text joined with a space, the enhanced code left out: "Incorrect
 * authentication data". */
const char *gate_smtp_reply_get_text (const GateSmtpReply *reply);
gboolean gate_smtp_reply_is_positive (const GateSmtpReply *reply);  /* 2xx or 3xx */
gboolean gate_smtp_reply_is_temporary (const GateSmtpReply *reply); /* 4xx */
gboolean gate_smtp_reply_is_permanent (const GateSmtpReply *reply); /* 5xx */
/* As it was on the wire, lines joined with "\n": "250-first\n250 last". */
char *gate_smtp_reply_to_string (const GateSmtpReply *reply);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateSmtpReply, gate_smtp_reply_unref)

/* Assembles replies from lines; never trusts the peer. */
typedef struct _GateSmtpReplyParser GateSmtpReplyParser;

typedef enum {
  GATE_SMTP_REPLY_PARSER_NEED_MORE, /* a '-' continuation line was taken */
  GATE_SMTP_REPLY_PARSER_COMPLETE,  /* *reply is set */
  GATE_SMTP_REPLY_PARSER_ERROR,     /* *error is set (GATE_SMTP_ERROR_PROTOCOL) */
} GateSmtpReplyParserResult;

GateSmtpReplyParser *gate_smtp_reply_parser_new (void);
void gate_smtp_reply_parser_free (GateSmtpReplyParser *parser);
/* Discards a partly assembled reply. */
void gate_smtp_reply_parser_reset (GateSmtpReplyParser *parser);
/* Feeds one line without its line ending.  @len may be -1 for a NUL-terminated
 * line.  Rejects: lines over GATE_SMTP_REPLY_MAX_LINE, codes that are not three
 * digits from 200 to 599, a separator other than ' ' or '-', a continuation
 * whose code differs from the first line, NUL bytes, and more than
 * GATE_SMTP_REPLY_MAX_LINES lines.  After an error the parser is reset. */
GateSmtpReplyParserResult gate_smtp_reply_parser_feed (GateSmtpReplyParser *parser,
                                                       const char *line,
                                                       gssize len,
                                                       GateSmtpReply **reply,
                                                       GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateSmtpReplyParser, gate_smtp_reply_parser_free)

G_END_DECLS
