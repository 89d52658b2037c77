/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define GATE_TYPE_PROVIDER_REGION (gate_provider_region_get_type ())
G_DECLARE_FINAL_TYPE (GateProviderRegion, gate_provider_region, GATE, PROVIDER_REGION, GObject)

/* One server location of a provider preset (for SMTP2GO: worldwide, US, EU,
 * AU).  Immutable; read from the preset data.
 *
 * Properties (read-only): id, name (translated, for a user), host,
 * api-base-url (nullable; ends with "/"). */
GateProviderRegion *gate_provider_region_new (const char *id, const char *name, const char *host,
                                              const char *api_base_url);

const char *gate_provider_region_get_id (GateProviderRegion *self);
const char *gate_provider_region_get_name (GateProviderRegion *self);
const char *gate_provider_region_get_host (GateProviderRegion *self);
const char *gate_provider_region_get_api_base_url (GateProviderRegion *self);

G_END_DECLS
