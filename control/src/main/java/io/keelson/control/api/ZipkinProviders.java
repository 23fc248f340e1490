package io.keelson.control.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.keelson.control.telemetry.MeshTelemetry;
import java.util.Iterator;
import java.util.Set;

/**
 * Istio's meshConfig tracing provider in {@code --mesh-config}: one {@code extensionProviders[]} entry with
 * {@code zipkin: {service, port, maxTagLength, traceContextOption}} ({@code service} a host name or IP address, not
 * looked up in the registry; {@code traceContextOption} USE_B3 only), and {@code defaultProviders.tracing} naming it.
 * Everything else under them is refused by path. Stateless.
 */
final class ZipkinProviders {
  private static final Set<String> FIELDS = Set.of("service", "port", "maxTagLength", "traceContextOption");

  private ZipkinProviders() {}

  /** The file's zipkin provider, or null. */
  static MeshTelemetry.TracingProvider provider(String source, JsonNode root) {
    JsonNode list = root == null ? null : root.get("extensionProviders");
    MeshTelemetry.TracingProvider found = null;
    for (int i = 0; list != null && list.isArray() && i < list.size(); i++) {
      JsonNode n = list.get(i);
      if (!n.has("zipkin")) {
        continue;
      }
      String at = source + ": extensionProviders[" + i + "]";
      if (found != null) {
        throw new IllegalArgumentException(at + ".zipkin: a second tracing provider; expected one");
      }
      for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!f.equals("name") && !f.equals("zipkin")) {
          throw new IllegalArgumentException(at + "." + f + ": not supported beside zipkin; expected name and zipkin");
        }
      }
      String name = n.path("name").asText("");
      if (name.isEmpty()) {
        throw new IllegalArgumentException(at + ".name: a provider name is required");
      }
      found = zipkin(at + ".zipkin", name, n.get("zipkin"));
    }
    return found;
  }

  private static MeshTelemetry.TracingProvider zipkin(String at, String name, JsonNode z) {
    if (!z.isObject()) {
      throw new IllegalArgumentException(at + ": expected a mapping with service and port");
    }
    for (Iterator<String> it = z.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!FIELDS.contains(f)) {
        throw new IllegalArgumentException(at + "." + f + ": not supported; expected one of " + new java.util.TreeSet<>(FIELDS));
      }
    }
    String service = z.path("service").asText("");
    if (service.isEmpty() || service.contains("/") || service.contains(":") && !io.keelson.control.policy.IpLiteral.is(service)) {
      throw new IllegalArgumentException(at + ".service: '" + service + "': expected a host name or an IP address (the"
          + " port in port)");
    }
    int port = z.path("port").asInt(-1);
    if (!z.path("port").canConvertToInt() || port < 1 || port > 65535) {
      throw new IllegalArgumentException(at + ".port: expected a port 1-65535, got " + z.path("port"));
    }
    int maxTag = 0;
    if (z.has("maxTagLength")) {
      maxTag = z.path("maxTagLength").asInt(-1);
      if (!z.path("maxTagLength").canConvertToInt() || maxTag < 1) {
        throw new IllegalArgumentException(at + ".maxTagLength: expected a positive length, got " + z.path("maxTagLength"));
      }
    }
    if (z.has("traceContextOption") && !z.path("traceContextOption").asText().equals("USE_B3")) {
      throw new IllegalArgumentException(at + ".traceContextOption: '" + z.path("traceContextOption").asText()
          + "' is not supported; expected USE_B3 (x-b3-* headers; W3C traceparent is read and passed on as it came)");
    }
    return new MeshTelemetry.TracingProvider(name, null, service, port, true, maxTag);
  }

  /** {@code defaultProviders.tracing} names {@code provider}; any other default or name refused. */
  static boolean byDefault(String source, JsonNode root, MeshTelemetry.TracingProvider provider) {
    JsonNode d = root == null ? null : root.get("defaultProviders");
    if (d == null || d.isNull()) {
      return false;
    }
    String at = source + ": defaultProviders";
    for (Iterator<String> it = d.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals("tracing")) {
        throw new IllegalArgumentException(at + "." + f + ": not supported; expected only tracing (access logs are"
            + " --access-log-file)");
      }
    }
    JsonNode names = d.path("tracing");
    boolean on = false;
    for (int i = 0; i < names.size(); i++) {
      String n = names.get(i).asText("");
      if (provider == null || !n.equals(provider.name())) {
        throw new IllegalArgumentException(at + ".tracing[" + i + "]: '" + n + "' is not this file's zipkin provider;"
            + " expected " + (provider == null ? "an extensionProviders entry with zipkin" : provider.name())
            + " (--tracing-otlp and --tracing-zipkin trace by default themselves)");
      }
      on = true;
    }
    return on;
  }
}
