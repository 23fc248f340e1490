package io.keelson.control.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses and validates YAML policy documents ({@code ---} separated, Kubernetes shape). A file with
 * any error is rejected whole with every problem found. Stateless and thread-safe.
 */
public final class PolicyParser {
  public static final String KEELSON = "keelson.io/v1alpha1";
  private static final Set<String> ISTIO = Set.of("networking.istio.io/v1", "networking.istio.io/v1beta1",
      "networking.istio.io/v1alpha3");
  private static final Set<String> SECURITY = Set.of("security.istio.io/v1", "security.istio.io/v1beta1");
  private static final Set<String> TELEMETRY = Set.of("telemetry.istio.io/v1", "telemetry.istio.io/v1alpha1");
  private static final Set<String> GATEWAY = Set.of("gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1");
  // TCPRoute and TLSRoute are in the experimental channel only.
  private static final Set<String> GATEWAY_ALPHA = Set.of("gateway.networking.k8s.io/v1alpha2",
      "gateway.networking.k8s.io/v1alpha3");
  // DNS-1123 label (Kubernetes names; also Keelson service names, which are used as Host).
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
  private static final ObjectMapper YAML = YAMLMapper.builder()
      .disable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.MINIMIZE_QUOTES)
      .enable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS).build();
  private static final YAMLFactory FACTORY = new YAMLFactory();
  private static final Set<String> ROUTES = Set.of("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute");
  // The Istio kinds with spec.exportTo (ExportTo); namespaced as registry Services are.
  private static final Set<String> EXPORTED = Set.of("VirtualService", "DestinationRule", "ServiceEntry");

  /** Documents that validated, and warnings about them. */
  public record Parsed(List<Policy> policies, List<PolicyError> warnings) {}

  private PolicyParser() {}

  /** Marks, in a body of several files, where the next file's documents start (the CLI sends one body). */
  public static final String FILE_MARKER = "# keelson-file: ";

  /**
   * Parses a body holding several files' documents, each file's introduced by a {@link #FILE_MARKER}
   * line (text before the first marker belongs to {@code file}); all files are checked before failing.
   */
  public static Parsed parseFiles(String file, String body) throws PolicyException {
    List<Policy> policies = new ArrayList<>();
    List<PolicyError> warnings = new ArrayList<>();
    List<PolicyError> errors = new ArrayList<>();
    String current = file;
    StringBuilder chunk = new StringBuilder();
    for (String line : (body + "\n" + FILE_MARKER).split("\n", -1)) {
      if (line.startsWith(FILE_MARKER)) {
        if (!chunk.toString().isBlank()) {
          try {
            Parsed p = parse(current, chunk.toString());
            policies.addAll(p.policies());
            warnings.addAll(p.warnings());
          } catch (PolicyException e) {
            errors.addAll(e.errors());
          }
        }
        current = line.substring(FILE_MARKER.length()).trim();
        chunk.setLength(0);
      } else {
        chunk.append(line).append('\n');
      }
    }
    if (!errors.isEmpty()) {
      throw new PolicyException(errors);
    }
    return new Parsed(policies, warnings);
  }

  /** Parses every document of {@code text}; {@code file} names it in messages. */
  public static Parsed parse(String file, String text) throws PolicyException {
    List<JsonNode> docs = new ArrayList<>();
    try (var parser = FACTORY.createParser(text)) {
      ObjectReader reader = YAML.readerFor(JsonNode.class);
      var it = reader.readValues(parser);
      while (it.hasNext()) {
        docs.add((JsonNode) it.next());
      }
    } catch (IOException | RuntimeException e) {
      String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
      throw new PolicyException(List.of(new PolicyError(file, "document", "", "not valid YAML: " + msg)));
    }
    List<Policy> policies = new ArrayList<>();
    List<PolicyError> errors = new ArrayList<>();
    List<PolicyError> warnings = new ArrayList<>();
    int index = 0;
    for (JsonNode doc : docs) {
      index++;
      if (doc == null || doc.isNull() || doc.isMissingNode()) {
        continue; // an empty document between two '---'
      }
      Problems problems = new Problems(file, "document " + index);
      Policy p = one(doc, file, problems);
      errors.addAll(problems.errors);
      warnings.addAll(problems.warnings);
      if (p != null && problems.errors.isEmpty()) {
        policies.add(p);
      }
    }
    if (!errors.isEmpty()) {
      throw new PolicyException(errors);
    }
    return new Parsed(policies, warnings);
  }

  private static Policy one(JsonNode doc, String file, Problems problems) {
    if (!doc.isObject()) {
      problems.error("", "expected a mapping with apiVersion, kind, metadata and spec");
      return null;
    }
    Fields top = new Fields(doc, "", problems);
    String apiVersion = top.string("apiVersion", true);
    String kind = top.string("kind", true);
    Fields metadata = top.object("metadata", true);
    String name = metadata == null ? null : metadata.string("name", true);
    if (kind != null && name != null) {
      problems.doc(kind + "/" + name);
    }
    top.allow("v1".equals(apiVersion) ? Set.of("apiVersion", "kind", "metadata", "type", "data", "stringData",
        "immutable") : Set.of("apiVersion", "kind", "metadata", "spec", "status"), Map.of());
    if (metadata != null) {
      metadata.allow(Set.of("name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
          "creationTimestamp"), Map.of());
      String ns = metadata.string("namespace", false);
      if (ns != null && !ExportTo.namespaceName(ns)) {
        // "shop.svc" would make reviews.shop.svc's names collide with namespace shop's (MeshNames).
        metadata.error("namespace", "'" + ns + "' is not a namespace name; expected a DNS-1123 label (lower case"
            + " letters, digits and '-', at most 63, starting and ending with a letter or digit)");
      } else if (ns != null) {
        problems.namespace(ns); // where the document's short hosts resolve (ServiceNames)
      }
      if (ns != null && !ns.equals("default") && !namespaced(top.string("apiVersion", false), kind)
          && !byServiceNamespace(top.string("apiVersion", false), kind)) {
        metadata.warn("namespace", "namespaces are not used yet: '" + ns + "' is treated as the one mesh namespace");
      }
      if (name != null && !NAME.matcher(name).matches()) {
        metadata.error("name", "'" + name + "' is not a valid name; expected lower case letters, digits, '-' and '.'");
      }
    }
    if ("v1".equals(apiVersion) && "Namespace".equals(kind)) {
      if (metadata != null && metadata.has("namespace")) {
        metadata.error("namespace", "a Namespace is not in a namespace; expected metadata.name and metadata.labels");
      }
      if (name != null && !ExportTo.namespaceName(name)) {
        metadata.error("name", "'" + name + "' is not a namespace name; expected a DNS-1123 label (lower case"
            + " letters, digits and '-', at most 63)");
      }
      Map<String, String> labels = metadata == null ? Map.of() : metadata.stringMap("labels");
      return name == null ? null : new Policy.Namespace(new Policy.Meta(apiVersion, kind, name, file, toYaml(doc), ""),
          labels);
    }
    if ("v1".equals(apiVersion)) {
      if (!"Secret".equals(kind)) {
        return kind == null ? null : unknownKind(top, apiVersion, kind, "Secret, Namespace");
      }
      String ns = metadata == null ? null : metadata.string("namespace", false);
      return name == null ? null : IstioGatewayParser.secret(new Policy.Meta(apiVersion, kind, name, file, toYaml(doc),
          ns == null ? "default" : ns), top);
    }
    Fields spec = top.object("spec", true);
    if (apiVersion == null || kind == null || name == null || spec == null) {
      return null;
    }
    String namespace = "";
    if (namespaced(apiVersion, kind)) {
      String ns = metadata.string("namespace", false);
      namespace = ns == null ? "default" : ns;
    } else if (byServiceNamespace(apiVersion, kind)) {
      // Keyed Kind/NAME in namespace default, as before namespaces (stored documents and CLI keys unchanged).
      String ns = metadata.string("namespace", false);
      namespace = ns == null || ns.equals(ServiceNames.DEFAULT_NAMESPACE) ? "" : ns;
    }
    Policy.Meta meta = new Policy.Meta(apiVersion, kind, name, file, toYaml(doc), namespace,
        exportTo(apiVersion, kind, metadata, spec, namespace));
    if (apiVersion.equals(KEELSON)) {
      if (kind.equals("Service") && metadata.serviceName("name", true) == null) {
        return null;
      }
      return switch (kind) {
        case "Service" -> RegistryParser.service(meta, spec, metadata);
        case "Workload" -> RegistryParser.workload(meta, spec);
        default -> unknownKind(top, apiVersion, kind, "Service, Workload");
      };
    }
    if (ISTIO.contains(apiVersion)) {
      return switch (kind) {
        case "VirtualService" -> IstioParser.virtualService(meta, spec);
        case "DestinationRule" -> IstioParser.destinationRule(meta, spec);
        case "ServiceEntry" -> ServiceEntryParser.serviceEntry(meta, spec, writtenNamespace(metadata),
            TrafficDistributionField.annotated(metadata));
        case "WorkloadEntry" -> ServiceEntryParser.workloadEntry(meta, spec, writtenNamespace(metadata));
        case "Gateway" -> IstioGatewayParser.gateway(meta, spec);
        case "Sidecar" -> SidecarParser.sidecar(meta, namespace, spec);
        case "EnvoyFilter" -> EnvoyFilterParser.envoyFilter(meta, namespace, spec);
        default -> unknownKind(top, apiVersion, kind, "VirtualService, DestinationRule, ServiceEntry, WorkloadEntry,"
            + " Gateway, Sidecar, EnvoyFilter");
      };
    }
    if (SECURITY.contains(apiVersion)) {
      String ns = namespace;
      return switch (kind) {
        case "AuthorizationPolicy" -> SecurityParser.authorizationPolicy(meta, ns, spec);
        case "PeerAuthentication" -> SecurityParser.peerAuthentication(meta, ns, spec);
        case "RequestAuthentication" -> SecurityParser.requestAuthentication(meta, ns, spec);
        default -> unknownKind(top, apiVersion, kind, "AuthorizationPolicy, PeerAuthentication, RequestAuthentication");
      };
    }
    if (TELEMETRY.contains(apiVersion)) {
      return kind.equals("Telemetry") ? TelemetryParser.telemetry(meta, namespace, spec)
          : unknownKind(top, apiVersion, kind, "Telemetry");
    }
    if (GATEWAY.contains(apiVersion)) {
      return switch (kind) {
        case "HTTPRoute" -> GatewayParser.httpRoute(meta, spec);
        case "GRPCRoute" -> GrpcRouteParser.grpcRoute(meta, spec);
        case "TCPRoute", "TLSRoute" -> StreamRouteParser.route(meta, spec);
        case "Gateway" -> GatewayApiParser.gateway(meta, spec);
        case "ReferenceGrant" -> ReferenceGrantParser.grant(meta, spec);
        default -> unknownKind(top, apiVersion, kind, "HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, Gateway,"
            + " ReferenceGrant");
      };
    }
    if (GATEWAY_ALPHA.contains(apiVersion)) {
      return switch (kind) {
        case "TCPRoute", "TLSRoute" -> StreamRouteParser.route(meta, spec);
        default -> unknownKind(top, apiVersion, kind, "TCPRoute, TLSRoute");
      };
    }
    if (apiVersion.equals(RateLimitParser.LINKERD_POLICY)) {
      return switch (kind) {
        case "HTTPLocalRateLimitPolicy" -> RateLimitParser.httpLocalRateLimitPolicy(meta, spec);
        default -> unknownKind(top, apiVersion, kind, "HTTPLocalRateLimitPolicy");
      };
    }
    top.error("apiVersion", "'" + apiVersion + "' is not supported; expected " + KEELSON + ", networking.istio.io/v1 or "
        + "gateway.networking.k8s.io/v1 (v1alpha2 for TCPRoute, TLSRoute), security.istio.io/v1, telemetry.istio.io/v1 or "
        + RateLimitParser.LINKERD_POLICY);
    return null;
  }

  /** Istio's namespaced kinds (security policies, Telemetry, Gateway, Sidecar): keyed by namespace, "default" when not given. */
  private static boolean namespaced(String apiVersion, String kind) {
    return apiVersion != null && (SECURITY.contains(apiVersion) || TELEMETRY.contains(apiVersion)
        || ((ISTIO.contains(apiVersion) || GATEWAY.contains(apiVersion)) && "Gateway".equals(kind))
        || (GATEWAY.contains(apiVersion) && "ReferenceGrant".equals(kind))
        || (ISTIO.contains(apiVersion) && "Sidecar".equals(kind))
        || (ISTIO.contains(apiVersion) && "EnvoyFilter".equals(kind))
        || apiVersion.equals("v1"));
  }

  /**
   * The kinds namespaced as registry Services are ({@link ServiceNames}): Service, Workload, VirtualService,
   * DestinationRule, ServiceEntry, WorkloadEntry and Gateway API routes, keyed {@code Kind/NAME} in namespace default and {@code Kind/NS/NAME} in another.
   */
  private static boolean byServiceNamespace(String apiVersion, String kind) {
    return apiVersion != null && (apiVersion.equals(KEELSON)
        || (ISTIO.contains(apiVersion) && (EXPORTED.contains(kind) || "WorkloadEntry".equals(kind)))
        || ((GATEWAY.contains(apiVersion) || GATEWAY_ALPHA.contains(apiVersion)) && ROUTES.contains(kind)));
  }

  /**
   * Istio's {@code exportTo} of the kinds that take it ({@link ExportTo}): {@code spec.exportTo} of a VirtualService,
   * DestinationRule or ServiceEntry, the {@value ExportTo#ANNOTATION} annotation of a registry Service; else empty.
   */
  private static List<String> exportTo(String apiVersion, String kind, Fields metadata, Fields spec, String namespace) {
    String ns = namespace.isEmpty() ? ServiceNames.DEFAULT_NAMESPACE : namespace;
    if (apiVersion.equals(KEELSON) && kind.equals("Service")) {
      return ExportTo.ofAnnotation(metadata, ns);
    }
    if (ISTIO.contains(apiVersion) && EXPORTED.contains(kind)) {
      return ExportTo.of(spec, ns, kind.equals("ServiceEntry"));
    }
    return List.of();
  }

  /** {@code metadata.namespace} as written, else {@code default} (Kubernetes'). */
  private static String writtenNamespace(Fields metadata) {
    String ns = metadata == null ? null : metadata.string("namespace", false);
    return ns == null ? "default" : ns;
  }

  private static Policy unknownKind(Fields top, String apiVersion, String kind, String expected) {
    top.error("kind", "'" + kind + "' is not a kind of " + apiVersion + "; expected one of " + expected);
    return null;
  }

  static String toYaml(JsonNode doc) {
    try {
      return YAML.writeValueAsString(doc);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Kubernetes-style durations: "10s", "1.5s", "500ms", "1m30s", "1h". Null (and an error) when malformed. */
  static java.time.Duration duration(Fields f, String field) {
    String v = f.string(field, false);
    if (v == null) {
      return null;
    }
    var m = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)").matcher(v);
    long nanos = 0;
    int end = 0;
    while (m.find() && m.start() == end) {
      double n = Double.parseDouble(m.group(1));
      nanos += (long) (n * switch (m.group(2)) {
        case "h" -> 3_600e9;
        case "m" -> 60e9;
        case "s" -> 1e9;
        default -> 1e6;
      });
      end = m.end();
    }
    if (end == 0 || end != v.length()) {
      f.error(field, "'" + v + "' is not a duration; expected e.g. 10s, 1.5s, 500ms or 1m30s");
      return null;
    }
    return java.time.Duration.ofNanos(nanos);
  }

  /** Reports a regex that does not compile (RE2-only restrictions, e.g. no look-ahead, are the proxy's to NACK). */
  /**
   * A regex path rewrite (Envoy's regex_rewrite): both fields required, the regex checked, the substitution
   * checked as the proxy does ({@code \0}-{@code \9} naming groups the regex has, {@code \\}, path
   * characters only). Returns {regex, substitution}, each null when missing.
   */
  static String[] regexRewrite(Fields f, String regexField, String substitutionField) {
    f.allow(regexField, substitutionField);
    String regex = f.string(regexField, true);
    String substitution = f.string(substitutionField, true);
    if (regex != null) {
      checkRegex(f, regexField, regex);
    }
    if (regex != null && substitution != null) {
      try {
        io.keelson.dataplane.config.RegexRewrite.of(Pattern.compile(regex), substitution);
      } catch (java.util.regex.PatternSyntaxException e) {
        // reported by checkRegex
      } catch (IllegalArgumentException e) {
        f.error(substitutionField, "'" + substitution + "' " + e.getMessage());
      }
    }
    return new String[] {regex, substitution};
  }

  static void checkRegex(Fields f, String field, String regex) {
    try {
      Pattern.compile(regex);
    } catch (java.util.regex.PatternSyntaxException e) {
      f.error(field, "'" + regex + "' is not a valid regular expression: " + e.getDescription()
          + " near index " + e.getIndex());
    }
  }
}
