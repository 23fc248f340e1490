package io.keelson.control.telemetry;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.PolicyException;
import io.keelson.dataplane.accesslog.AccessLogFormat;
import io.keelson.dataplane.config.AccessLogConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The mesh-wide telemetry defaults and providers, Istio's meshConfig in {@code bin/keelson control} flags:
 * <ul>
 *   <li>the built-in access log provider {@value #ENVOY} writes to {@code accessLogFile} (standard output when the flag
 *       is empty) in {@code encoding} with {@code format}; a non-empty {@code --access-log-file} also turns it on for
 *       every sidecar (Istio's {@code accessLogFile}), otherwise only Telemetry resources naming it do;
 *   <li>a tracing provider ({@code tracingProvider}, an OTLP/gRPC or a Zipkin collector), on for every sidecar at
 *       {@code samplingPercent} unless Telemetry says otherwise.
 * </ul>
 * Immutable; {@link #OFF} is Istio's default (no access log, no tracing).
 *
 * @param accessLogFile   Istio's accessLogFile: a path, {@code /dev/stdout}, or null (mesh-wide logging off)
 * @param json            JSON encoding (Istio's accessLogEncoding JSON) instead of TEXT
 * @param format          the text format string, or JSON object of format strings; null for {@link #defaultFormat}
 * @param tracingProvider the trace collector, or null for no tracing provider
 * @param samplingPercent the default random sampling of requests that arrive without a decision (0-100)
 * @param tracingByDefault the provider traces every sidecar unless Telemetry says otherwise (a flag's provider, or a
 *                        {@code --mesh-config} one named in {@code defaultProviders.tracing}); otherwise only Telemetry
 *                        resources naming it turn it on
 */
public record MeshTelemetry(String accessLogFile, boolean json, String format, TracingProvider tracingProvider,
    double samplingPercent, boolean tracingByDefault) {
  /** The built-in access log provider (Istio's {@code envoy}). */
  public static final String ENVOY = "envoy";
  /** Istio's default sampling when tracing is on and nothing else says. */
  public static final double DEFAULT_SAMPLING_PERCENT = 1.0;
  public static final MeshTelemetry OFF = new MeshTelemetry(null, false, null, null, DEFAULT_SAMPLING_PERCENT);

  /**
   * Istio's default text format, less the operators the data plane does not have (%RESPONSE_CODE_DETAILS%,
   * %CONNECTION_TERMINATION_DETAILS%, %UPSTREAM_TRANSPORT_FAILURE_REASON%) and with the caller's SPIFFE ID
   * (%DOWNSTREAM_PEER_URI_SAN%, "-" over plaintext) last.
   */
  public static final String DEFAULT_TEXT_FORMAT = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"
      + " %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%"
      + " %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\""
      + " \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%"
      + " %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME% %DOWNSTREAM_PEER_URI_SAN%\n";

  /** Istio's default JSON fields (the ones the data plane has), plus the caller's SPIFFE ID. */
  public static final Map<String, String> DEFAULT_JSON_FORMAT = defaultJson();

  private static Map<String, String> defaultJson() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("start_time", "%START_TIME%");
    m.put("method", "%REQ(:METHOD)%");
    m.put("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%");
    m.put("protocol", "%PROTOCOL%");
    m.put("response_code", "%RESPONSE_CODE%");
    m.put("response_flags", "%RESPONSE_FLAGS%");
    m.put("bytes_received", "%BYTES_RECEIVED%");
    m.put("bytes_sent", "%BYTES_SENT%");
    m.put("duration", "%DURATION%");
    m.put("upstream_service_time", "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%");
    m.put("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%");
    m.put("user_agent", "%REQ(USER-AGENT)%");
    m.put("request_id", "%REQ(X-REQUEST-ID)%");
    m.put("authority", "%REQ(:AUTHORITY)%");
    m.put("upstream_host", "%UPSTREAM_HOST%");
    m.put("upstream_cluster", "%UPSTREAM_CLUSTER%");
    m.put("upstream_local_address", "%UPSTREAM_LOCAL_ADDRESS%");
    m.put("downstream_local_address", "%DOWNSTREAM_LOCAL_ADDRESS%");
    m.put("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%");
    m.put("requested_server_name", "%REQUESTED_SERVER_NAME%");
    m.put("route_name", "%ROUTE_NAME%");
    m.put("downstream_peer_uri_san", "%DOWNSTREAM_PEER_URI_SAN%");
    return java.util.Collections.unmodifiableMap(m);
  }

  /**
   * A trace collector: OTLP/gRPC (Istio's {@code extensionProviders[].opentelemetry}) or Zipkin's HTTP API
   * ({@code extensionProviders[].zipkin}); either {@code host:port} or a registry {@code service} (its workloads'
   * addresses and ports are the collector's endpoints).
   *
   * @param name    the provider name Telemetry resources use ({@code providers[].name})
   * @param service a registry Service name, or null
   * @param host    a host name or IP address, or null when {@code service} is set
   * @param port    the collector port when {@code host} is set
   * @param zipkin  a Zipkin collector ({@code envoy.tracers.zipkin}), else OTLP ({@code envoy.tracers.opentelemetry})
   * @param maxTagLength Istio's {@code maxTagLength} (the connection manager's max_path_tag_length), 0 for Envoy's default
   */
  public record TracingProvider(String name, String service, String host, int port, boolean zipkin, int maxTagLength) {
    /**
     * The cluster the proxies export spans to: {@code tracing|zipkin|NAME} or {@code tracing|opentelemetry|NAME}, a
     * name no mesh cluster can take (a Service's is {@code NAME[.NS]}, a subset's {@code SERVICE|SUBSET} with a DNS
     * label subset, a ServiceEntry's {@code outbound|PORT||HOST}).
     */
    public String cluster() {
      return (zipkin ? "tracing|zipkin|" : "tracing|opentelemetry|") + name;
    }

    /** The collector's host name (Zipkin's collector_hostname, istiod's): the service or the host. */
    public String hostname() {
      return service != null ? service : host;
    }
  }

  /** A flag's provider, if any, traces by default. */
  public MeshTelemetry(String accessLogFile, boolean json, String format, TracingProvider tracingProvider,
      double samplingPercent) {
    this(accessLogFile, json, format, tracingProvider, samplingPercent, tracingProvider != null);
  }

  /**
   * These settings with {@code --mesh-config}'s tracing provider.
   *
   * @throws IllegalArgumentException when a flag already gave one (one tracing provider per control plane)
   */
  public MeshTelemetry withTracingProvider(TracingProvider p, boolean byDefault) {
    if (tracingProvider != null) {
      throw new IllegalArgumentException("--tracing-" + (tracingProvider.zipkin() ? "zipkin" : "otlp")
          + " and --mesh-config extensionProviders '" + p.name() + "': expected one tracing provider");
    }
    if (p.name().equals(ENVOY)) {
      throw new IllegalArgumentException("--mesh-config extensionProviders '" + ENVOY + "': the access log provider's name");
    }
    return new MeshTelemetry(accessLogFile, json, format, p, samplingPercent, byDefault);
  }

  public MeshTelemetry {
    tracingByDefault &= tracingProvider != null;
    if (samplingPercent < 0 || samplingPercent > 100) {
      throw new IllegalArgumentException("--tracing-sampling " + samplingPercent + " is out of range; expected 0 to 100");
    }
    if (accessLogFile != null && accessLogFile.isEmpty()) {
      accessLogFile = null;
    }
    accessLogConfig(accessLogFile == null ? "/dev/stdout" : accessLogFile, json, format); // checks the format
  }

  /**
   * The mesh defaults from {@code bin/keelson control}'s flag values (null = not given).
   *
   * @throws IllegalArgumentException naming the flag and what was expected
   */
  public static MeshTelemetry fromFlags(String file, String encoding, String format, String otlp, String providerName,
      String sampling) {
    return fromFlags(file, encoding, format, otlp, null, providerName, sampling);
  }

  /**
   * As {@link #fromFlags(String, String, String, String, String, String)}, with {@code --tracing-zipkin}.
   *
   * @throws IllegalArgumentException naming the flag and what was expected
   */
  public static MeshTelemetry fromFlags(String file, String encoding, String format, String otlp, String zipkin,
      String providerName, String sampling) {
    boolean json = false;
    if (encoding != null) {
      switch (encoding) {
        case "TEXT" -> json = false;
        case "JSON" -> json = true;
        default -> throw new IllegalArgumentException("--access-log-encoding '" + encoding + "': expected TEXT or JSON");
      }
    }
    TracingProvider provider = null;
    boolean isZipkin = zipkin != null && !zipkin.isEmpty();
    if (isZipkin && otlp != null && !otlp.isEmpty()) {
      throw new IllegalArgumentException("--tracing-otlp and --tracing-zipkin: expected one tracing provider");
    }
    if (isZipkin) {
      provider = provider("--tracing-zipkin", zipkin, providerName == null ? "zipkin" : providerName, true);
    } else if (otlp != null && !otlp.isEmpty()) {
      provider = provider("--tracing-otlp", otlp, providerName == null ? "otel" : providerName, false);
    } else if (providerName != null) {
      throw new IllegalArgumentException("--tracing-provider-name needs --tracing-otlp or --tracing-zipkin (the collector)");
    }
    if (provider != null && provider.name().equals(ENVOY)) {
      throw new IllegalArgumentException("--tracing-provider-name '" + ENVOY + "' is the access log provider's name");
    }
    double percent = DEFAULT_SAMPLING_PERCENT;
    if (sampling != null) {
      try {
        percent = Double.parseDouble(sampling);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--tracing-sampling '" + sampling + "': expected a percentage from 0 to 100");
      }
    }
    try {
      return new MeshTelemetry(file, json, format, provider, percent);
    } catch (IllegalArgumentException e) {
      if (e.getMessage().startsWith("--")) {
        throw e;
      }
      throw new IllegalArgumentException("--access-log-format: " + e.getMessage());
    }
  }

  /** The collector of flag {@code flag}: {@code HOST:PORT} or a registry service name. */
  private static TracingProvider provider(String flag, String value, String name, boolean zipkin) {
    int colon = value.lastIndexOf(':');
    // [::1]:4317, as a URL writes an IPv6 address with a port
    String host = colon < 0 ? value : io.keelson.control.policy.IpLiteral.unbracketed(value.substring(0, colon));
    int port = -1;
    if (colon >= 0) {
      try {
        port = Integer.parseInt(value.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException(flag + " '" + value + "': expected HOST:PORT (port 1-65535) or a "
            + "registry service name");
      }
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException(flag + " '" + value + "': expected HOST:PORT or a registry service name");
    }
    return colon < 0 ? new TracingProvider(name, host, null, 0, zipkin, 0)
        : new TracingProvider(name, null, host, port, zipkin, 0);
  }

  /** The {@value #ENVOY} provider's access log. */
  public AccessLogConfig envoyAccessLog() {
    return accessLogConfig(accessLogFile == null ? "/dev/stdout" : accessLogFile, json, format);
  }

  private static AccessLogConfig accessLogConfig(String path, boolean json, String format) {
    String file = path.equals("/dev/stdout") ? null : path;
    AccessLogConfig c;
    if (!json) {
      String text = format == null ? DEFAULT_TEXT_FORMAT : format.endsWith("\n") ? format : format + "\n";
      c = new AccessLogConfig(file, text, null);
    } else if (format == null) {
      c = new AccessLogConfig(file, null, DEFAULT_JSON_FORMAT);
    } else {
      c = new AccessLogConfig(file, null, jsonFormat(format));
    }
    AccessLogFormat.compile(c); // IllegalArgumentException naming the operator
    return c;
  }

  /** Istio's JSON accessLogFormat: a JSON object of string values (format strings). */
  private static Map<String, String> jsonFormat(String format) {
    com.fasterxml.jackson.databind.JsonNode node;
    try {
      node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(format);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("with --access-log-encoding JSON the format must be a JSON object of format "
          + "strings, e.g. {\"method\":\"%REQ(:METHOD)%\"}: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (node == null || !node.isObject() || node.isEmpty()) {
      throw new IllegalArgumentException("with --access-log-encoding JSON the format must be a non-empty JSON object of"
          + " format strings, e.g. {\"method\":\"%REQ(:METHOD)%\"}");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (var it = node.fields(); it.hasNext(); ) {
      var e = it.next();
      if (!e.getValue().isTextual()) {
        throw new IllegalArgumentException("JSON access log field '" + e.getKey() + "' must be a format string");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  /** Logging on for every sidecar unless Telemetry says otherwise (a non-empty {@code --access-log-file}). */
  public boolean logsByDefault() {
    return accessLogFile != null;
  }

  /** True when no Telemetry resource can change anything and nothing is on by default: translation skips telemetry. */
  public boolean inert(List<Policy.Telemetry> telemetry) {
    return telemetry.isEmpty() && accessLogFile == null && tracingProvider == null;
  }

  /** The provider names Telemetry resources may use. */
  public List<String> providerNames() {
    return tracingProvider == null ? List.of(ENVOY) : List.of(ENVOY, tracingProvider.name());
  }

  /**
   * Checks the Telemetry documents among {@code policies} against these providers: an access log provider must be
   * {@value #ENVOY}, a tracing provider the configured one.
   *
   * @throws PolicyException naming the document and field of every unknown provider
   */
  public void check(List<Policy> policies) throws PolicyException {
    List<PolicyError> errors = new ArrayList<>();
    for (Policy p : policies) {
      if (!(p instanceof Policy.Telemetry t)) {
        continue;
      }
      errors.addAll(unknownProviders(t));
    }
    if (!errors.isEmpty()) {
      throw new PolicyException(errors);
    }
  }

  /** An error (field path, reason) for each provider of {@code t} these providers do not have. */
  List<PolicyError> unknownProviders(Policy.Telemetry t) {
    List<PolicyError> out = new ArrayList<>();
    for (int i = 0; i < t.accessLogging().size(); i++) {
      List<String> names = t.accessLogging().get(i).providers();
      for (int j = 0; j < names.size(); j++) {
        if (!names.get(j).equals(ENVOY)) {
          out.add(error(t, "spec.accessLogging[" + i + "].providers[" + j + "].name", "access log provider '"
              + names.get(j) + "' is not defined; expected " + ENVOY + " (the control plane's --access-log-* flags)"));
        }
      }
    }
    for (int i = 0; i < t.tracing().size(); i++) {
      List<String> names = t.tracing().get(i).providers();
      for (int j = 0; j < names.size(); j++) {
        if (tracingProvider == null || !names.get(j).equals(tracingProvider.name())) {
          out.add(error(t, "spec.tracing[" + i + "].providers[" + j + "].name", "tracing provider '" + names.get(j)
              + "' is not defined; " + (tracingProvider == null
                  ? "the control plane has none (start it with --tracing-otlp or --tracing-zipkin HOST:PORT)"
                  : "expected " + tracingProvider.name())));
        }
      }
    }
    return out;
  }

  private static PolicyError error(Policy.Telemetry t, String path, String reason) {
    return new PolicyError(t.meta().file(), t.meta().key(), path, reason);
  }
}
