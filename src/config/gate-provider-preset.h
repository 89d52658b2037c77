/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-port-probe.h"
#include "gate-provider-region.h"
#include "gate-smtp-client.h"

G_BEGIN_DECLS

/* The provider's limits; 0 means unknown / no limit. */
typedef struct
{
  guint64 max_message_size; /* bytes */
  guint max_recipients;
  guint max_connections;
  guint messages_per_connection;
  guint messages_per_hour;
} GateProviderLimits;

#define GATE_TYPE_PROVIDER_PRESET (gate_provider_preset_get_type ())
G_DECLARE_FINAL_TYPE (GateProviderPreset, gate_provider_preset, GATE, PROVIDER_PRESET, GObject)

/* A provider preset: data read from presets.json (compiled into the engine),
 * never a code path of its own.  Adding a preset is adding an entry there.
 *
 * Properties (read-only): id, name and description (translated),
 * website (nullable), default-region (id, "" when the preset has no regions),
 * default-port, rewrite-sender (whether the relay rewrites a device's sender
 * to the profile's by default), has-api (the provider has an HTTP API the
 * setup can use with an API key), has-fixed-host (the preset names its
 * servers; FALSE for "Other SMTP server"). */

/* The well-known ids. */
#define GATE_PRESET_SMTP2GO "smtp2go"
#define GATE_PRESET_OTHER "other"

/* Every preset, in the order of presets.json.  A GListModel of
 * GateProviderPreset, owned by the engine (transfer none). */
GListModel *gate_provider_preset_list (void);
/* NULL when there is no such preset (transfer none). */
GateProviderPreset *gate_provider_preset_lookup (const char *id);

const char *gate_provider_preset_get_id (GateProviderPreset *self);
const char *gate_provider_preset_get_name (GateProviderPreset *self);
const char *gate_provider_preset_get_description (GateProviderPreset *self);
const char *gate_provider_preset_get_website (GateProviderPreset *self);
const char *gate_provider_preset_get_default_region (GateProviderPreset *self);
guint16 gate_provider_preset_get_default_port (GateProviderPreset *self);
gboolean gate_provider_preset_get_rewrite_sender (GateProviderPreset *self);
gboolean gate_provider_preset_get_has_api (GateProviderPreset *self);
gboolean gate_provider_preset_get_has_fixed_host (GateProviderPreset *self);
const GateProviderLimits *gate_provider_preset_get_limits (GateProviderPreset *self);

/* A GListModel of GateProviderRegion (transfer none); empty for presets
 * without fixed servers. */
GListModel *gate_provider_preset_get_regions (GateProviderPreset *self);
/* NULL for an unknown region; NULL or "" gives the default region. */
GateProviderRegion *gate_provider_preset_get_region (GateProviderPreset *self, const char *region_id);
/* The server name of @region_id (or the default region), NULL when the
 * preset has no fixed servers. */
const char *gate_provider_preset_get_host (GateProviderPreset *self, const char *region_id);
/* The API base URL of @region_id, NULL when there is none. */
const char *gate_provider_preset_get_api_base_url (GateProviderPreset *self, const char *region_id);

/* The ports to try, in the preferred order for a connection check, each with
 * its preferred security mode (the GatePortCandidate of gate-port-probe.h,
 * ready for gate_port_probe_set_candidates()). */
const GatePortCandidate *gate_provider_preset_get_candidate_ports (GateProviderPreset *self, guint *n_ports);
/* The candidate for @port, NULL when the preset does not list it. */
const GatePortCandidate *gate_provider_preset_get_port (GateProviderPreset *self, guint16 port);
/* Whether the preset's @port speaks @security (SMTP2GO's STARTTLS ports also
 * take unencrypted connections; its TLS ports only TLS). */
gboolean gate_provider_preset_port_allows (GateProviderPreset *self, guint16 port, GateSmtpSecurity security);
/* The preferred security for @port: the preset's when it lists the port,
 * else implicit TLS for 465/8465/443/993-style ports and STARTTLS otherwise. */
GateSmtpSecurity gate_provider_preset_get_port_security (GateProviderPreset *self, guint16 port);

G_END_DECLS
