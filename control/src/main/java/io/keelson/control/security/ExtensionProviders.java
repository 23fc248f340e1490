package io.keelson.control.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.keelson.control.policy.Authz;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.PolicyException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The control plane's external authorization providers: Istio's meshConfig {@code extensionProviders} entries of kind
 * {@code envoyExtAuthzHttp} and {@code envoyExtAuthzGrpc}, read from {@code bin/keelson control --mesh-config FILE}.
 * CUSTOM AuthorizationPolicies name them ({@code spec.provider.name}); {@link #check} refuses unknown names at apply.
 * Immutable; {@link #NONE} has no provider.
 */
public record ExtensionProviders(Map<String, ExtAuthzProvider> byName) {
  public static final ExtensionProviders NONE = new ExtensionProviders(Map.of());
  private static final long DEFAULT_TIMEOUT_MILLIS = 600_000; // Istio's default for ext-authz providers

  public ExtensionProviders {
    byName = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(byName));
  }

  public ExtAuthzProvider get(String name) {
    return byName.get(name);
  }

  /**
   * Reads Istio meshConfig YAML ({@code extensionProviders:} list) from {@code file}.
   *
   * @throws IllegalArgumentException naming the file and field of every problem
   */
  public static ExtensionProviders read(Path file) {
    return parse(file.toString(), readMeshConfig(file));
  }

  /**
   * The text of the {@code --mesh-config} file.
   *
   * @throws IllegalArgumentException naming the file when it cannot be read
   */
  public static String readMeshConfig(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("--mesh-config " + file + ": cannot read it: " + e.getMessage());
    }
  }

  /** The meshConfig exportTo defaults, which {@code api/MeshConfigFile} reads. */
  public static final List<String> EXPORT_TO_DEFAULTS = List.of("defaultServiceExportTo",
      "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo");

  /** {@link #read} of {@code text}; {@code source} names it in errors. */
  public static ExtensionProviders parse(String source, String text) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException(source + ": not YAML: " + e.getMessage());
    }
    List<String> errors = new ArrayList<>();
    Map<String, ExtAuthzProvider> out = new LinkedHashMap<>();
    if (root != null && !root.isMissingNode() && !root.isNull()) {
      if (!root.isObject()) {
        throw new IllegalArgumentException(source + ": expected Istio meshConfig, a mapping with extensionProviders,"
            + " protocolDetectionTimeout, pathNormalization or defaultConfig");
      }
      for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!f.equals("extensionProviders") && !f.equals("protocolDetectionTimeout") && !f.equals("defaultConfig")
            && !f.equals("defaultProviders")
            && !f.equals("pathNormalization") && !EXPORT_TO_DEFAULTS.contains(f)) {
          errors.add(source + ": " + f + ": not supported in --mesh-config; expected extensionProviders,"
              + " defaultProviders, protocolDetectionTimeout, pathNormalization, defaultConfig or "
              + String.join(", ", EXPORT_TO_DEFAULTS)
              + " (the other meshConfig settings are bin/keelson control flags)");
        }
      }
      JsonNode list = root.path("extensionProviders");
      if (!list.isMissingNode() && !list.isArray()) {
        errors.add(source + ": extensionProviders: expected a list");
      } else {
        for (int i = 0; i < list.size(); i++) {
          if (list.get(i).has("zipkin")) {
            continue; // a tracing provider: MeshConfigFile's
          }
          ExtAuthzProvider p = provider(source + ": extensionProviders[" + i + "]", list.get(i), errors);
          if (p != null && out.putIfAbsent(p.name(), p) != null) {
            errors.add(source + ": extensionProviders[" + i + "].name: '" + p.name() + "' is used twice; expected"
                + " unique names");
          }
        }
      }
    }
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException(String.join("\n", errors));
    }
    return new ExtensionProviders(out);
  }

  private static ExtAuthzProvider provider(String at, JsonNode n, List<String> errors) {
    if (!n.isObject()) {
      errors.add(at + ": expected a mapping with name and envoyExtAuthzHttp or envoyExtAuthzGrpc");
      return null;
    }
    String name = n.path("name").asText("");
    if (!n.path("name").isTextual() || name.isEmpty()) {
      errors.add(at + ".name: a provider name is required");
    }
    JsonNode http = n.get("envoyExtAuthzHttp");
    JsonNode grpc = n.get("envoyExtAuthzGrpc");
    int before = errors.size();
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!Set.of("name", "envoyExtAuthzHttp", "envoyExtAuthzGrpc").contains(f)) {
        errors.add(at + "." + f + ": not supported; expected envoyExtAuthzHttp or envoyExtAuthzGrpc (tracing and access"
            + " log providers are given by zipkin, --tracing-otlp, --tracing-zipkin and --access-log-file)");
      }
    }
    if ((http == null) == (grpc == null)) {
      errors.add(at + ": expected exactly one of envoyExtAuthzHttp or envoyExtAuthzGrpc");
      return null;
    }
    boolean isGrpc = grpc != null;
    JsonNode c = isGrpc ? grpc : http;
    at = at + (isGrpc ? ".envoyExtAuthzGrpc" : ".envoyExtAuthzHttp");
    if (!c.isObject()) {
      errors.add(at + ": expected a mapping");
      return null;
    }
    Set<String> known = isGrpc ? Set.of("service", "port", "timeout", "failOpen", "statusOnError")
        : Set.of("service", "port", "timeout", "pathPrefix", "failOpen", "statusOnError", "includeRequestHeadersInCheck",
            "includeAdditionalHeadersInCheck", "headersToUpstreamOnAllow", "headersToDownstreamOnDeny");
    for (Iterator<String> it = c.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!known.contains(f)) {
        errors.add(at + "." + f + ": not supported; expected one of " + new java.util.TreeSet<>(known)
            + (f.equals("headersToDownstreamOnAllow") ? " (the data plane's ext_authz has no"
                + " allowed_client_headers_on_success)" : ""));
      }
    }
    String service = c.path("service").asText("");
    if (!c.path("service").isTextual() || service.isEmpty()) {
      errors.add(at + ".service: required; expected a registry Service name, a host name or an IP address");
    }
    if (service.contains("/") || service.contains(":") && !io.keelson.control.policy.IpLiteral.is(service)) {
      errors.add(at + ".service: '" + service + "' is not supported; expected a registry Service name, a host name or"
          + " an IP address (Istio's namespace/host form is not looked up), with the port in port");
    }
    int port = c.path("port").asInt(-1);
    if (!c.path("port").canConvertToInt() || port < 1 || port > 65535) {
      errors.add(at + ".port: expected a port 1-65535, got " + c.path("port"));
    }
    long timeout = DEFAULT_TIMEOUT_MILLIS;
    if (c.has("timeout")) {
      timeout = duration(c.path("timeout").asText(""));
      if (timeout <= 0) {
        errors.add(at + ".timeout: '" + c.path("timeout").asText() + "' is not a positive duration; expected e.g. 0.5s or 200ms");
      }
    }
    String prefix = c.path("pathPrefix").asText("");
    if (!prefix.isEmpty() && (!prefix.startsWith("/") || prefix.contains("?") || prefix.contains(" "))) {
      errors.add(at + ".pathPrefix: '" + prefix + "' must start with '/' and have no query or spaces");
    }
    boolean failOpen = false;
    if (c.has("failOpen")) {
      if (!c.path("failOpen").isBoolean()) {
        errors.add(at + ".failOpen: expected true or false");
      }
      failOpen = c.path("failOpen").asBoolean(false);
    }
    int status = 0;
    if (c.has("statusOnError")) {
      String s = c.path("statusOnError").asText("");
      status = s.matches("\\d{3}") ? Integer.parseInt(s) : -1;
      if (status < 200 || status > 599) {
        errors.add(at + ".statusOnError: '" + s + "' is not an HTTP status; expected e.g. \"503\"");
      }
    }
    List<String> inCheck = strings(c, "includeRequestHeadersInCheck", at, errors);
    List<String> upstream = strings(c, "headersToUpstreamOnAllow", at, errors);
    List<String> onDeny = strings(c, "headersToDownstreamOnDeny", at, errors);
    Map<String, String> additional = new LinkedHashMap<>();
    JsonNode add = c.path("includeAdditionalHeadersInCheck");
    if (!add.isMissingNode()) {
      if (!add.isObject()) {
        errors.add(at + ".includeAdditionalHeadersInCheck: expected a mapping of header name to value");
      } else {
        add.fields().forEachRemaining(e -> additional.put(e.getKey().toLowerCase(java.util.Locale.ROOT),
            e.getValue().asText()));
      }
    }
    if (errors.size() > before) {
      return null;
    }
    return new ExtAuthzProvider(name, isGrpc, service, port, timeout, prefix, failOpen, status, inCheck, additional,
        upstream, onDeny);
  }

  private static List<String> strings(JsonNode c, String field, String at, List<String> errors) {
    JsonNode n = c.path(field);
    if (n.isMissingNode()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    if (!n.isArray()) {
      errors.add(at + "." + field + ": expected a list of header names");
      return List.of();
    }
    n.forEach(v -> {
      if (!v.isTextual() || v.asText().isEmpty()) {
        errors.add(at + "." + field + ": expected header names, got " + v);
      } else {
        out.add(v.asText().toLowerCase(java.util.Locale.ROOT));
      }
    });
    return out;
  }

  /** {@code 1.5s}, {@code 200ms}, {@code 1m}, {@code 1h} in milliseconds; -1 when not a duration. */
  static long duration(String s) {
    var m = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)").matcher(s);
    if (!m.matches()) {
      return -1;
    }
    double v = Double.parseDouble(m.group(1));
    return (long) (v * switch (m.group(2)) {
      case "ms" -> 1;
      case "s" -> 1_000;
      case "m" -> 60_000;
      default -> 3_600_000;
    });
  }

  /**
   * Checks the CUSTOM AuthorizationPolicies among {@code policies} against these providers.
   *
   * @throws PolicyException naming the document, {@code spec.provider.name} and the known providers
   */
  public void check(List<Policy> policies) throws PolicyException {
    List<PolicyError> errors = new ArrayList<>();
    for (Policy p : policies) {
      if (p instanceof Policy.AuthorizationPolicy a && a.action() == Authz.Action.CUSTOM && a.provider() != null
          && !byName.containsKey(a.provider())) {
        errors.add(new PolicyError(a.meta().file(), a.meta().key(), "spec.provider.name", "extension provider '"
            + a.provider() + "' is not defined; " + (byName.isEmpty()
                ? "the control plane has none (start it with --mesh-config FILE listing extensionProviders)"
                : "expected one of " + byName.keySet())));
      }
    }
    if (!errors.isEmpty()) {
      throw new PolicyException(errors);
    }
  }
}
