/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-config"

#include "config.h"

#include "gate-provider-region.h"

struct _GateProviderRegion
{
  GObject parent_instance;

  char *id;
  char *name;
  char *host;
  char *api_base_url;
};

G_DEFINE_FINAL_TYPE (GateProviderRegion, gate_provider_region, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_HOST,
  PROP_API_BASE_URL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
gate_provider_region_finalize (GObject *object)
{
  GateProviderRegion *self = GATE_PROVIDER_REGION (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->host);
  g_free (self->api_base_url);

  G_OBJECT_CLASS (gate_provider_region_parent_class)->finalize (object);
}

static void
gate_provider_region_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateProviderRegion *self = GATE_PROVIDER_REGION (object);

  switch (prop_id)
    {
      case PROP_ID:
        g_value_set_string (value, self->id);
        break;
      case PROP_NAME:
        g_value_set_string (value, self->name);
        break;
      case PROP_HOST:
        g_value_set_string (value, self->host);
        break;
      case PROP_API_BASE_URL:
        g_value_set_string (value, self->api_base_url);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_provider_region_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GateProviderRegion *self = GATE_PROVIDER_REGION (object);

  switch (prop_id)
    {
      case PROP_ID:
        self->id = g_value_dup_string (value);
        break;
      case PROP_NAME:
        self->name = g_value_dup_string (value);
        break;
      case PROP_HOST:
        self->host = g_value_dup_string (value);
        break;
      case PROP_API_BASE_URL:
        self->api_base_url = g_value_dup_string (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_provider_region_class_init (GateProviderRegionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = gate_provider_region_finalize;
  object_class->get_property = gate_provider_region_get_property;
  object_class->set_property = gate_provider_region_set_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  properties[PROP_HOST] = g_param_spec_string ("host", NULL, NULL, NULL, flags);
  properties[PROP_API_BASE_URL] = g_param_spec_string ("api-base-url", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
gate_provider_region_init (GateProviderRegion *self)
{
}

GateProviderRegion *
gate_provider_region_new (const char *id, const char *name, const char *host, const char *api_base_url)
{
  g_return_val_if_fail (id != NULL, NULL);

  return g_object_new (GATE_TYPE_PROVIDER_REGION, "id", id, "name", name, "host", host, "api-base-url",
                       api_base_url, NULL);
}

const char *
gate_provider_region_get_id (GateProviderRegion *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_REGION (self), NULL);
  return self->id;
}

const char *
gate_provider_region_get_name (GateProviderRegion *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_REGION (self), NULL);
  return self->name;
}

const char *
gate_provider_region_get_host (GateProviderRegion *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_REGION (self), NULL);
  return self->host;
}

const char *
gate_provider_region_get_api_base_url (GateProviderRegion *self)
{
  g_return_val_if_fail (GATE_IS_PROVIDER_REGION (self), NULL);
  return self->api_base_url;
}
