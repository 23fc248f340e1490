/**
 * Envoy-format access logs: formats compiled once at config load, records copied on the event loop into
 * a bounded ring and formatted and written by one background thread; a full ring drops and counts.
 */
package io.keelson.dataplane.accesslog;
