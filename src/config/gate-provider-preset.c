/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-config"

#include "config.h"

#include "gate-provider-preset.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "gate-config-resources.h"

/* The names in presets.json are translated at run time; these markers only
 * let xgettext find the ones shipped today.  A preset added to the data file
 * works untranslated until its words are added here. */
G_GNUC_UNUSED static const char *const preset_strings[] = {
  N_("SMTP2GO email delivery service"),
  N_("Nearest server (worldwide)"),
  N_("United States"),
  N_("Europe"),
  N_("Australia"),
  N_("Other SMTP server"),
  N_("Any mail server that accepts SMTP with a user name and password"),
};

struct _GateProviderPreset
{
  GObject parent_instance;

  char *id;
  char *name;
  char *description;
  char *website;
  char *default_region;
  guint16 default_port;
  gboolean rewrite_sender;
  gboolean has_api;
  GListStore *regions;
  GArray *ports;   /* GatePortCandidate, preferred order */
  GArray *allowed; /* guint: bit (1 << security) per mode each port speaks */
  GateProviderLimits limits;
};

G_DEFINE_FINAL_TYPE (GateProviderPreset, gate_provider_preset, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_DESCRIPTION,
  PROP_WEBSITE,
  PROP_DEFAULT_REGION,
  PROP_DEFAULT_PORT,
  PROP_REWRITE_SENDER,
  PROP_HAS_API,
  PROP_HAS_FIXED_HOST,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
gate_provider_preset_finalize (GObject *object)
{
  GateProviderPreset *self = GATE_PROVIDER_PRESET (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->description);
  g_free (self->website);
  g_free (self->default_region);
  g_clear_object (&self->regions);
  g_clear_pointer (&self->ports, g_array_unref);
  g_clear_pointer (&self->allowed, g_array_unref);

  G_OBJECT_CLASS (gate_provider_preset_parent_class)->finalize (object);
}

static void
gate_provider_preset_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateProviderPreset *self = GATE_PROVIDER_PRESET (object);

  switch (prop_id)
    {
      case PROP_ID:
        g_value_set_string (value, self->id);
        break;
      case PROP_NAME:
        g_value_set_string (value, self->name);
        break;
      case PROP_DESCRIPTION:
        g_value_set_string (value, self->description);
        break;
      case PROP_WEBSITE:
        g_value_set_string (value, self->website);
        break;
      case PROP_DEFAULT_REGION:
        g_value_set_string (value, self->default_region);
        break;
      case PROP_DEFAULT_PORT:
        g_value_set_uint (value, self->default_port);
        break;
      case PROP_REWRITE_SENDER:
        g_value_set_boolean (value, self->rewrite_sender);
        break;
      case PROP_HAS_API:
        g_value_set_boolean (value, self->has_api);
        break;
      case PROP_HAS_FIXED_HOST:
        g_value_set_boolean (value, gate_provider_preset_get_has_fixed_host (self));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_provider_preset_class_init (GateProviderPresetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = gate_provider_preset_finalize;
  object_class->get_property = gate_provider_preset_get_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  properties[PROP_DESCRIPTION] = g_param_spec_string ("description", NULL, NULL, NULL, flags);
  properties[PROP_WEBSITE] = g_param_spec_string ("website", NULL, NULL, NULL, flags);
  properties[PROP_DEFAULT_REGION] = g_param_spec_string ("default-region", NULL, NULL, NULL, flags);
  properties[PROP_DEFAULT_PORT] = g_param_spec_uint ("default-port", NULL, NULL, 0, G_MAXUINT16, 587, flags);
  properties[PROP_REWRITE_SENDER] = g_param_spec_boolean ("rewrite-sender", NULL, NULL, FALSE, flags);
  properties[PROP_HAS_API] = g_param_spec_boolean ("has-api", NULL, NULL, FALSE, flags);
  properties[PROP_HAS_FIXED_HOST] = g_param_spec_boolean ("has-fixed-host", NULL, NULL, FALSE, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
gate_provider_preset_init (GateProviderPreset *self)
{
  self->regions = g_list_store_new (GATE_TYPE_PROVIDER_REGION);
  self->ports = g_array_new (FALSE, TRUE, sizeof (GatePortCandidate));
  self->allowed = g_array_new (FALSE, TRUE, sizeof (guint));
  self->default_port = 587;
}

static const char *
translate (const char *text)
{
  if (text == NULL || *text == '\0')
    return text;
  return g_dgettext (GETTEXT_PACKAGE, text);
}

static const char *
member_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gint64
member_int (JsonObject *object, const char *name, gint64 fallback)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return fallback;
  return json_node_get_int (node);
}

static gboolean
member_bool (JsonObject *object, const char *name, gboolean fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (node);
}

static JsonArray *
member_array (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  return json_node_get_array (node);
}

/* The same three names as gate_smtp_security_from_string(); kept here so the
 * data file can be read without depending on the client's parser. */
static gboolean
parse_security (const char *name, GateSmtpSecurity *security)
{
  if (g_strcmp0 (name, "none") == 0)
    *security = GATE_SMTP_SECURITY_NONE;
  else if (g_strcmp0 (name, "starttls") == 0)
    *security = GATE_SMTP_SECURITY_STARTTLS;
  else if (g_strcmp0 (name, "tls") == 0)
    *security = GATE_SMTP_SECURITY_TLS;
  else
    return FALSE;
  return TRUE;
}

static GateProviderPreset *
preset_from_json (JsonObject *object)
{
  g_autoptr (GateProviderPreset) self = NULL;
  JsonArray *regions;
  JsonArray *ports;
  JsonNode *limits_node;
  const char *id = member_string (object, "id");
  const char *name = member_string (object, "name");

  if (id == NULL || *id == '\0' || name == NULL)
    {
      g_critical ("A provider preset has no id or name; skipped");
      return NULL;
    }

  self = g_object_new (GATE_TYPE_PROVIDER_PRESET, NULL);
  self->id = g_strdup (id);
  self->name = g_strdup (translate (name));
  self->description = g_strdup (translate (member_string (object, "description")));
  self->website = g_strdup (member_string (object, "website"));
  self->default_region = g_strdup (member_string (object, "default-region") ?: "");
  self->default_port = (guint16)CLAMP (member_int (object, "default-port", 587), 1, G_MAXUINT16);
  self->rewrite_sender = member_bool (object, "rewrite-sender", FALSE);
  self->has_api = member_bool (object, "has-api", FALSE);

  regions = member_array (object, "regions");
  for (guint i = 0; regions != NULL && i < json_array_get_length (regions); i++)
    {
      JsonObject *region = json_array_get_object_element (regions, i);
      g_autoptr (GateProviderRegion) item = NULL;

      if (region == NULL || member_string (region, "id") == NULL || member_string (region, "host") == NULL)
        continue;
      item = gate_provider_region_new (
          member_string (region, "id"), translate (member_string (region, "name")),
          member_string (region, "host"), member_string (region, "api-base-url"));
      g_list_store_append (self->regions, item);
    }

  ports = member_array (object, "ports");
  for (guint i = 0; ports != NULL && i < json_array_get_length (ports); i++)
    {
      JsonObject *port = json_array_get_object_element (ports, i);
      GatePortCandidate candidate = { 0 };
      JsonArray *modes;
      gint64 number;
      guint allowed = 0;

      if (port == NULL)
        continue;
      number = member_int (port, "port", 0);
      modes = member_array (port, "security");
      if (number < 1 || number > G_MAXUINT16 || modes == NULL)
        continue;
      candidate.port = (guint16)number;
      for (guint j = 0; j < json_array_get_length (modes); j++)
        {
          GateSmtpSecurity security;

          if (!parse_security (json_array_get_string_element (modes, j), &security))
            continue;
          /* The first mode listed is the preferred one. */
          if (allowed == 0)
            candidate.security = security;
          allowed |= 1u << security;
        }
      if (allowed == 0)
        continue;
      g_array_append_val (self->ports, candidate);
      g_array_append_val (self->allowed, allowed);
    }

  limits_node = json_object_get_member (object, "limits");
  if (limits_node != NULL && JSON_NODE_HOLDS_OBJECT (limits_node))
    {
      JsonObject *limits = json_node_get_object (limits_node);

      self->limits.max_message_size = (guint64)MAX (member_int (limits, "max-message-size", 0), 0);
      self->limits.max_recipients = (guint)CLAMP (member_int (limits, "max-recipients", 0), 0, G_MAXUINT);
      self->limits.max_connections = (guint)CLAMP (member_int (limits, "max-connections", 0), 0, G_MAXUINT);
      self->limits.messages_per_connection
          = (guint)CLAMP (member_int (limits, "messages-per-connection", 0), 0, G_MAXUINT);
      self->limits.messages_per_hour
          = (guint)CLAMP (member_int (limits, "messages-per-hour", 0), 0, G_MAXUINT);
    }

  return g_steal_pointer (&self);
}

static GListModel *
load_presets (void)
{
  GListStore *store = g_list_store_new (GATE_TYPE_PROVIDER_PRESET);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonArray *presets;

  bytes = g_resource_lookup_data (gate_config_get_resource (),
                                  "/io/github/postgate/Postgate/config/presets.json",
                                  G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  if (bytes == NULL
      || !json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                      (gssize)g_bytes_get_size (bytes), &error))
    {
      /* The data is compiled in: this is a build mistake, not a user's. */
      g_critical ("Cannot read the provider presets: %s", error->message);
      return G_LIST_MODEL (store);
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || (presets = member_array (json_node_get_object (root), "presets")) == NULL)
    {
      g_critical ("The provider presets have no “presets” list");
      return G_LIST_MODEL (store);
    }

  for (guint i = 0; i < json_array_get_length (presets); i++)
    {
      JsonObject *object = json_array_get_object_element (presets, i);
      g_autoptr (GateProviderPreset) preset = object ? preset_from_json (object) : NULL;

      if (preset != NULL)
        g_list_store_append (store, preset);
    }

  return G_LIST_MODEL (store);
}

GListModel *
gate_provider_preset_list (void)
{
  static GListModel *presets;

  if (g_once_init_enter (&presets))
    g_once_init_leave (&presets, load_presets ());

  return presets;
}

GateProviderPreset *
gate_provider_preset_lookup (const char *id)
{
  GListModel *presets = gate_provider_preset_list ();

  if (id == NULL)
    return NULL;

  for (guint i = 0; i < g_list_model_get_n_items (presets); i++)
    {
      g_autoptr (GateProviderPreset) preset = g_list_model_get_item (presets, i);

      /* The list holds its own reference for the life of the process. */
      if (g_strcmp0 (preset->id, id) == 0)
        return preset;
    }

  return NULL;
}

const char *
gate_provider_preset_get_id (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), NULL);
  return self->id;
}

const char *
gate_provider_preset_get_name (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), NULL);
  return self->name;
}

const char *
gate_provider_preset_get_description (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), NULL);
  return self->description;
}

const char *
gate_provider_preset_get_website (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), NULL);
  return self->website;
}

const char *
gate_provider_preset_get_default_region (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), NULL);
  return self->default_region;
}

guint16
gate_provider_preset_get_default_port (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), 0);
  return self->default_port;
}

gboolean
gate_provider_preset_get_rewrite_sender (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), FALSE);
  return self->rewrite_sender;
}

gboolean
gate_provider_preset_get_has_api (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), FALSE);
  return self->has_api;
}

gboolean
gate_provider_preset_get_has_fixed_host (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), FALSE);
  return g_list_model_get_n_items (G_LIST_MODEL (self->regions)) > 0;
}

const GateProviderLimits *
gate_provider_preset_get_limits (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), NULL);
  return &self->limits;
}

GListModel *
gate_provider_preset_get_regions (GateProviderPreset *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), NULL);
  return G_LIST_MODEL (self->regions);
}

GateProviderRegion *
gate_provider_preset_get_region (GateProviderPreset *self, const char *region_id)
{
  GListModel *regions;

  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), NULL);

  if (region_id == NULL || *region_id == '\0')
    region_id = self->default_region;

  regions = G_LIST_MODEL (self->regions);
  for (guint i = 0; i < g_list_model_get_n_items (regions); i++)
    {
      g_autoptr (GateProviderRegion) region = g_list_model_get_item (regions, i);

      if (g_strcmp0 (gate_provider_region_get_id (region), region_id) == 0)
        return region;
    }

  return NULL;
}

const char *
gate_provider_preset_get_host (GateProviderPreset *self, const char *region_id)
{
  GateProviderRegion *region = gate_provider_preset_get_region (self, region_id);

  return region ? gate_provider_region_get_host (region) : NULL;
}

const char *
gate_provider_preset_get_api_base_url (GateProviderPreset *self, const char *region_id)
{
  GateProviderRegion *region = gate_provider_preset_get_region (self, region_id);

  return region ? gate_provider_region_get_api_base_url (region) : NULL;
}

const GatePortCandidate *
gate_provider_preset_get_candidate_ports (GateProviderPreset *self, guint *n_ports)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), NULL);
  g_return_val_if_fail (n_ports != NULL, NULL);

  *n_ports = self->ports->len;
  return (const GatePortCandidate *)(gpointer)self->ports->data;
}

const GatePortCandidate *
gate_provider_preset_get_port (GateProviderPreset *self, guint16 port)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), NULL);

  for (guint i = 0; i < self->ports->len; i++)
    {
      const GatePortCandidate *candidate = &g_array_index (self->ports, GatePortCandidate, i);

      if (candidate->port == port)
        return candidate;
    }

  return NULL;
}

gboolean
gate_provider_preset_port_allows (GateProviderPreset *self, guint16 port, GateSmtpSecurity security)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_PRESET (self), FALSE);

  for (guint i = 0; i < self->ports->len; i++)
    if (g_array_index (self->ports, GatePortCandidate, i).port == port)
      return (g_array_index (self->allowed, guint, i) & (1u << security)) != 0;

  return FALSE;
}

GateSmtpSecurity
gate_provider_preset_get_port_security (GateProviderPreset *self, guint16 port)
{
  const GatePortCandidate *candidate;

  g_return_val_if_fail (self == NULL || GATE_IS_PROVIDER_PRESET (self), GATE_SMTP_SECURITY_STARTTLS);

  if (self != NULL && (candidate = gate_provider_preset_get_port (self, port)) != NULL)
    return candidate->security;

  /* Ports that by convention start with TLS (submissions, SMTP2GO's extras). */
  if (port == 465 || port == 8465 || port == 443)
    return GATE_SMTP_SECURITY_TLS;
  return GATE_SMTP_SECURITY_STARTTLS;
}
