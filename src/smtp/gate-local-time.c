/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "gate-local-time.h"

/* A change of the system's time zone shows within this time. */
#define ZONE_LIFETIME_US (60 * G_USEC_PER_SEC)

G_LOCK_DEFINE_STATIC (zone);
static GTimeZone *cached_zone;
static gint64 cached_at;

GDateTime *
gate_local_time_now (void)
{
  gint64 now = g_get_monotonic_time ();
  g_autoptr (GTimeZone) zone = NULL;

  G_LOCK (zone);
  if (cached_zone == NULL || now - cached_at >= ZONE_LIFETIME_US)
    {
      g_clear_pointer (&cached_zone, g_time_zone_unref);
      cached_zone = g_time_zone_new_local ();
      cached_at = now;
    }
  zone = g_time_zone_ref (cached_zone);
  G_UNLOCK (zone);
  return g_date_time_new_now (zone);
}
