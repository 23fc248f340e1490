package io.keelson.control.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.keelson.control.security.ExtensionProviders;
import io.keelson.control.xds.PathNormalizationLevel;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What {@code bin/keelson control --mesh-config FILE} reads from Istio's meshConfig YAML: {@code extensionProviders}
 * (see {@link ExtensionProviders}) and {@code protocolDetectionTimeout}, a Go duration ({@code 100ms}, {@code 1s},
 * {@code 1m30s}; {@code 0s} waits for the client's first bytes for ever, Istio's default), null when the file does not
 * set it. {@code --protocol-detection-timeout} overrides the file's. {@code defaultConfig.gatewayTopology.proxyProtocol}
 * (an object, {@code {}}) makes every ingress gateway's listeners read a PROXY protocol header first
 * ({@code gatewayProxyProtocol}); no other {@code defaultConfig} field is read (each is refused by path).
 * {@code pathNormalization.normalization} (NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES; DEFAULT is BASE) sets
 * how every connection manager normalizes paths, null when the file does not set it; {@code --path-normalization}
 * overrides it. An {@code extensionProviders[].zipkin} entry is the control plane's tracing provider ({@code tracing},
 * see {@link ZipkinProviders}), on for every sidecar when {@code defaultProviders.tracing} names it. Immutable.
 */
public record MeshConfigFile(ExtensionProviders extensionProviders, Duration protocolDetectionTimeout,
    boolean gatewayProxyProtocol, PathNormalizationLevel pathNormalization,
    io.keelson.control.telemetry.MeshTelemetry.TracingProvider tracing, boolean tracingByDefault,
    io.keelson.control.xds.ExportVisibility.Defaults exportTo) {
  /** The meshConfig field of the detection timeout. */
  public static final String PROTOCOL_DETECTION_TIMEOUT = "protocolDetectionTimeout";
  /** The meshConfig field of the path normalization. */
  public static final String PATH_NORMALIZATION = "pathNormalization";

  /**
   * Reads {@code file}.
   *
   * @throws IllegalArgumentException naming the file and field of every problem
   */
  public static MeshConfigFile read(Path file) {
    return parse(file.toString(), ExtensionProviders.readMeshConfig(file));
  }

  /** {@link #read} of {@code text}; {@code source} names it in errors. */
  public static MeshConfigFile parse(String source, String text) {
    ExtensionProviders providers = ExtensionProviders.parse(source, text); // also refuses fields neither reads
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException(source + ": not YAML: " + e.getMessage());
    }
    boolean proxyProtocol = gatewayProxyProtocol(source, root == null ? null : root.get("defaultConfig"));
    PathNormalizationLevel paths = pathNormalization(source, root == null ? null : root.get(PATH_NORMALIZATION));
    var tracing = ZipkinProviders.provider(source, root);
    boolean byDefault = ZipkinProviders.byDefault(source, root, tracing);
    var exportTo = new io.keelson.control.xds.ExportVisibility.Defaults(exportTo(source, root, 0),
        exportTo(source, root, 1), exportTo(source, root, 2));
    JsonNode t = root == null ? null : root.get(PROTOCOL_DETECTION_TIMEOUT);
    if (t == null || t.isNull()) {
      return new MeshConfigFile(providers, null, proxyProtocol, paths, tracing, byDefault, exportTo);
    }
    String at = source + ": " + PROTOCOL_DETECTION_TIMEOUT;
    if (!t.isTextual()) {
      throw new IllegalArgumentException(at + ": " + t + " is not a duration; expected a Go duration such as 0s, 100ms"
          + " or 1s (0s: no timeout)");
    }
    try {
      return new MeshConfigFile(providers, GoDuration.parse(t.asText()), proxyProtocol, paths, tracing, byDefault, exportTo);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ": " + e.getMessage() + " (0s: no timeout)");
    }
  }

  /**
   * Istio's {@code defaultServiceExportTo}, {@code defaultVirtualServiceExportTo} or
   * {@code defaultDestinationRuleExportTo} ({@code which}: its index in {@link ExtensionProviders#EXPORT_TO_DEFAULTS}):
   * a list of exportTo values ({@code ~} for services only), empty when absent.
   */
  private static java.util.List<String> exportTo(String source, JsonNode root, int which) {
    String field = ExtensionProviders.EXPORT_TO_DEFAULTS.get(which);
    JsonNode node = root == null ? null : root.get(field);
    if (node == null || node.isNull()) {
      return java.util.List.of();
    }
    String at = source + ": " + field;
    java.util.List<String> values = new java.util.ArrayList<>();
    if (!node.isArray()) {
      throw new IllegalArgumentException(at + ": " + node + " is not a list; expected a list such as [\".\"]");
    }
    for (JsonNode v : node) {
      if (!v.isTextual()) {
        throw new IllegalArgumentException(at + ": " + v + " is not a string; expected a list such as [\".\"]");
      }
      values.add(v.asText());
    }
    java.util.List<String> problems = new java.util.ArrayList<>(
        io.keelson.control.policy.ExportTo.problems(values, ".", which == 0));
    // istiod honours only '.' and '*' (and '~' for services) in the mesh defaults ("We only honor . and *"): a
    // namespace name there would silently export nothing.
    for (int i = 0; i < values.size(); i++) {
      String v = values.get(i);
      if (problems.isEmpty() && !v.equals(io.keelson.control.policy.ExportTo.PRIVATE)
          && !v.equals(io.keelson.control.policy.ExportTo.PUBLIC) && !v.equals(io.keelson.control.policy.ExportTo.NONE)) {
        problems.add("entry " + i + " '" + v + "' is a namespace name; a mesh default takes '.' or '*'"
            + (which == 0 ? " or '~'" : "") + " only (as istiod); name namespaces in each document's exportTo");
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(at + ": " + String.join("; ", problems));
    }
    return values;
  }

  /** {@code defaultConfig.gatewayTopology.proxyProtocol} is set (an object); anything else under defaultConfig is refused. */
  private static boolean gatewayProxyProtocol(String source, JsonNode defaultConfig) {
    if (defaultConfig == null || defaultConfig.isNull()) {
      return false;
    }
    String at = source + ": defaultConfig";
    JsonNode topology = only(at, defaultConfig, "gatewayTopology");
    if (topology == null) {
      return false;
    }
    JsonNode proxyProtocol = only(at + ".gatewayTopology", topology, "proxyProtocol");
    if (proxyProtocol == null) {
      return false;
    }
    if (!proxyProtocol.isObject()) {
      throw new IllegalArgumentException(at + ".gatewayTopology.proxyProtocol: " + proxyProtocol
          + " is not an object; expected {} (Istio's ProxyProtocol message has no fields)");
    }
    return true;
  }

  /** {@code pathNormalization.normalization}, null when absent; other fields and unknown levels refused by path. */
  private static PathNormalizationLevel pathNormalization(String source, JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    String at = source + ": " + PATH_NORMALIZATION;
    JsonNode level = only(at, node, "normalization");
    if (level == null) {
      return null;
    }
    if (!level.isTextual()) {
      throw new IllegalArgumentException(at + ".normalization: " + level + " is not a name; expected NONE, BASE,"
          + " MERGE_SLASHES or DECODE_AND_MERGE_SLASHES");
    }
    try {
      return PathNormalizationLevel.parse(level.asText());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ".normalization: " + e.getMessage());
    }
  }

  /** {@code node}'s field {@code name} (null when absent), refusing any other field by path. */
  private static JsonNode only(String at, JsonNode node, String name) {
    if (!node.isObject()) {
      throw new IllegalArgumentException(at + ": expected a mapping");
    }
    for (var it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals(name)) {
        throw new IllegalArgumentException(at + "." + f + ": not supported in --mesh-config; expected only " + at
            + "." + name);
      }
    }
    JsonNode v = node.get(name);
    return v == null || v.isNull() ? null : v;
  }
}
