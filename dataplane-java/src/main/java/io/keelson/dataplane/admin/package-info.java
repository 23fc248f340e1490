/** The admin listener, in Envoy's spirit: /ready, /config_dump, /stats/prometheus, /clusters. */
package io.keelson.dataplane.admin;
