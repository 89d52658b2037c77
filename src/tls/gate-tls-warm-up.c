/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-tls"

#include "config.h"

#include "gate-tls-warm-up.h"

#include <gio/gio.h>

/* The first TLS connection of a process builds GIO's default database from
 * the system's bundle of certificate authorities, about 15 ms of processor
 * time here (each connection then parses the bundle once more for its own
 * credentials, which cannot be made ahead).  Done at STARTTLS, that time
 * adds to the send; done while the connection waits for the server's
 * greeting, it is hidden behind the network.  A low-priority idle callback
 * rather than a thread: the work must never still run while the process
 * exits (the TLS library tears itself down then). */
static gboolean
warm_up_cb (gpointer user_data)
{
  g_autoptr (GTlsDatabase) database = g_tls_backend_get_default_database (g_tls_backend_get_default ());

  return G_SOURCE_REMOVE;
}

void
gate_tls_warm_up (void)
{
  static gsize started = 0;

  if (g_once_init_enter (&started))
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_LOW);
      g_source_set_callback (source, warm_up_cb, NULL, NULL);
      g_source_set_static_name (source, "[gate-tls] warm up");
      g_source_attach (source, g_main_context_get_thread_default ());
      g_source_unref (source);
      g_once_init_leave (&started, 1);
    }
}
