/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "gate-readable-source.h"

typedef struct
{
  GateReadableFunc func;
  gpointer user_data;
  GDestroyNotify notify;
} Callback;

static void
callback_free (gpointer data)
{
  Callback *callback = data;

  if (callback->notify != NULL)
    callback->notify (callback->user_data);
  g_free (callback);
}

static gboolean
socket_ready_cb (GSocket *socket, GIOCondition condition, gpointer data)
{
  Callback *callback = data;

  return callback->func (callback->user_data);
}

static gboolean
stream_ready_cb (GObject *stream, gpointer data)
{
  Callback *callback = data;

  return callback->func (callback->user_data);
}

GSource *
gate_readable_source_new (GIOStream *stream, GCancellable *cancellable, GateReadableFunc func,
                          gpointer user_data, GDestroyNotify notify)
{
  Callback *callback;
  GSource *source;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (func != NULL, NULL);

  callback = g_new (Callback, 1);
  callback->func = func;
  callback->user_data = user_data;
  callback->notify = notify;
  if (G_IS_SOCKET_CONNECTION (stream))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));

      source = g_socket_create_source (socket, G_IO_IN, cancellable);
      g_source_set_callback (source, G_SOURCE_FUNC (socket_ready_cb), callback, callback_free);
    }
  else
    {
      GInputStream *input = g_io_stream_get_input_stream (stream);

      source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (input), cancellable);
      g_source_set_callback (source, G_SOURCE_FUNC (stream_ready_cb), callback, callback_free);
    }
  g_source_set_can_recurse (source, TRUE);
  return source;
}
