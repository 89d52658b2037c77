/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-relay"

#include "config.h"

#include "gate-relay-address.h"

#include <glib/gi18n-lib.h>
#include <string.h>

gboolean
gate_relay_address_parse_listen (const char *listen, char **address, guint16 *port, GError **error)
{
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) inet = NULL;
  guint64 number = GATE_RELAY_DEFAULT_PORT;
  const char *colon;

  g_return_val_if_fail (listen != NULL, FALSE);

  if (listen[0] == '[')
    {
      const char *end = strchr (listen, ']');

      if (end == NULL)
        goto bad;
      host = g_strndup (listen + 1, (gsize)(end - listen - 1));
      colon = end[1] == ':' ? end + 1 : NULL;
      if (end[1] != '\0' && colon == NULL)
        goto bad;
    }
  else
    {
      colon = strrchr (listen, ':');
      if (colon && strchr (listen, ':') != colon)
        colon = NULL; /* a bare IPv6 address */
      host = colon ? g_strndup (listen, (gsize)(colon - listen)) : g_strdup (listen);
    }
  if (colon && !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &number, NULL))
    goto bad;
  /* A name (localhost, the computer's) is refused too: the relay listens
   * on addresses, and a name may stand for several or change. */
  inet = g_inet_address_new_from_string (host);
  if (inet == NULL)
    goto bad;
  if (address != NULL)
    *address = g_steal_pointer (&host);
  if (port != NULL)
    *port = (guint16)number;
  return TRUE;

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               _ ("“%s” is not an address and port to listen on (for example 127.0.0.1:2525)"), listen);
  return FALSE;
}

GInetAddressMask *
gate_relay_address_parse_range (const char *range, GError **error)
{
  g_autoptr (GInetAddressMask) mask = NULL;

  g_return_val_if_fail (range != NULL, NULL);

  mask = g_inet_address_mask_new_from_string (range, NULL);
  if (mask == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("“%s” is not an address range (for example 192.168.1.0/24)"), range);
      return NULL;
    }
  if (g_inet_address_mask_get_length (mask) == 0)
    {
      g_set_error (
          error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          _ ("“%s” would let anyone send mail through this relay; allow your own network instead (for "
             "example 192.168.1.0/24)"),
          range);
      return NULL;
    }
  return g_steal_pointer (&mask);
}
