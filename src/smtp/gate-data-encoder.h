/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Turns message bytes into the DATA stream of RFC 5321 §4.5.2, in constant
 * memory, chunk by chunk: every line ending becomes CRLF (a bare LF or a bare
 * CR too, so no lone CR or LF reaches the wire), and a line that starts with
 * '.' gets a second one.  Chunk boundaries may fall anywhere, even between CR
 * and LF. */
typedef struct _GateDataEncoder GateDataEncoder;

GateDataEncoder *gate_data_encoder_new (void);
void gate_data_encoder_free (GateDataEncoder *encoder);
/* Appends the encoding of @data to @out. */
void gate_data_encoder_feed (GateDataEncoder *encoder, const guint8 *data, gsize len, GByteArray *out);
/* Appends the end of the message: CRLF when it did not end with a line
 * ending, then ".\r\n".  The encoder is ready for a new message afterwards. */
void gate_data_encoder_finish (GateDataEncoder *encoder, GByteArray *out);
/* TRUE when a byte over 127 was fed since the last finish. */
gboolean gate_data_encoder_saw_8bit (const GateDataEncoder *encoder);
/* Lines fed since the last finish. */
guint64 gate_data_encoder_get_line_count (const GateDataEncoder *encoder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateDataEncoder, gate_data_encoder_free)

G_END_DECLS
