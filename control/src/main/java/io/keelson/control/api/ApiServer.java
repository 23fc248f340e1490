package io.keelson.control.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.control.xds.MeshResources;
import io.keelson.control.xds.XdsServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's HTTP API (JSON out, YAML in). Routes:
 * <pre>
 * POST   /v1/apply[?dryRun=true&amp;file=NAME]      body: YAML documents
 * GET    /v1/resources[/KIND[/NAME]]            (Gateway API Gateways and routes with their computed status)
 * DELETE /v1/resources/KIND/NAME[?dryRun=true]
 * GET    /v1/status
 * GET    /v1/proxy-config/NODE/listeners|routes|clusters|endpoints
 * GET    /v1/explain?from=SERVICE&amp;to=HOST&amp;path=P[&amp;header=k=v...][&amp;method=GET]
 * </pre>
 * Runs on a JDK HttpServer with two worker threads; handlers only read immutable state or go through
 * the store's serialized changes.
 */
public final class ApiServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
  static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);
  private static final Map<String, String> KINDS = kinds();

  private static Map<String, String> kinds() {
    Map<String, String> m = new java.util.HashMap<>(Map.of(
      "service", "Service", "workload", "Workload", "virtualservice", "VirtualService", "vs", "VirtualService",
      "destinationrule", "DestinationRule", "dr", "DestinationRule", "httproute", "HTTPRoute",
      "grpcroute", "GRPCRoute",
      "authorizationpolicy", "AuthorizationPolicy", "peerauthentication", "PeerAuthentication"));
    m.put("requestauthentication", "RequestAuthentication"); // Map.of takes at most ten pairs
    m.put("tcproute", "TCPRoute");
    m.put("telemetry", "Telemetry");
    m.put("sidecar", "Sidecar");
    m.put("sidecars", "Sidecar");
    m.put("tlsroute", "TLSRoute");
    m.put("httplocalratelimitpolicy", "HTTPLocalRateLimitPolicy");
    m.put("ratelimit", "HTTPLocalRateLimitPolicy");
    m.put("gateway", "Gateway");
    m.put("gw", "Gateway");
    m.put("secret", "Secret");
    m.put("referencegrant", "ReferenceGrant");
    m.put("namespace", "Namespace");
    m.put("ns", "Namespace");
    m.put("serviceentry", "ServiceEntry");
    m.put("se", "ServiceEntry");
    m.put("serviceentries", "ServiceEntry");
    m.put("envoyfilter", "EnvoyFilter");
    m.put("workloadentry", "WorkloadEntry");
    m.put("workloadentries", "WorkloadEntry");
    m.put("we", "WorkloadEntry");
    return Map.copyOf(m);
  }

  private final PolicyStore store;
  private final XdsServer xds;
  private HttpServer http;
  private ExecutorService executor;
  private SecurityApi security;
  private java.util.function.Supplier<List<String>> storeProblems = List::of;

  public ApiServer(PolicyStore store, XdsServer xds) {
    this.store = store;
    this.xds = xds;
  }

  /**
   * Also reports, under {@code /v1/status}'s {@code store}, what the store could not take (a rejected config-dir file,
   * a document written to etcd by hand that does not validate, an unreadable join token in etcd).
   */
  public ApiServer withStoreProblems(java.util.function.Supplier<List<String>> problems) {
    this.storeProblems = problems;
    return this;
  }

  /** Also serves /v1/tokens and /v1/ca/root (see {@link SecurityApi}). */
  public ApiServer withSecurity(io.keelson.control.auth.JoinTokens tokens, io.keelson.control.ca.MeshCa ca) {
    this.security = new SecurityApi(tokens, ca);
    return this;
  }

  /** Also serves /v1/ca/workload (policies resolved for one workload) and /v1/ca/stats. */
  public ApiServer withSecurity(io.keelson.control.auth.JoinTokens tokens, io.keelson.control.ca.MeshCa ca,
      io.keelson.control.ca.CertificateService certificates, io.keelson.control.auth.TokenAuthentication auth) {
    this.security = new SecurityApi(tokens, ca).with(store, certificates, auth);
    return this;
  }

  public ApiServer start(String host, int port) throws IOException {
    http = HttpServer.create(new InetSocketAddress(host, port), 64);
    executor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "keelson-api");
      t.setDaemon(true);
      return t;
    });
    http.setExecutor(executor);
    http.createContext("/v1/", this::handle);
    if (security != null) {
      http.createContext("/v1/tokens", security::handle);
      http.createContext("/v1/ca/", security::handle);
    }
    http.start();
    LOG.info("HTTP API listening on {}:{}", host, port());
    return this;
  }

  public int port() {
    return http.getAddress().getPort();
  }

  /** The kind a user typed (any case, singular or plural, vs/dr), or null. */
  static String kind(String typed) {
    String k = typed.toLowerCase(Locale.ROOT);
    String found = KINDS.get(k);
    if (found == null && k.endsWith("s")) {
      found = KINDS.get(k.substring(0, k.length() - 1));
    }
    return found;
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String[] parts = ex.getRequestURI().getRawPath().substring("/v1/".length()).split("/");
      Map<String, List<String>> q = params(ex.getRequestURI().getRawQuery());
      String method = ex.getRequestMethod();
      try {
        Object body = switch (parts[0]) {
          case "apply" -> method.equals("POST") ? apply(ex, q) : null;
          case "resources" -> method.equals("GET") ? get(parts, q) : method.equals("DELETE") ? delete(parts, q) : null;
          case "status" -> Map.of("proxies", xds.status(), "store", storeProblems.get());
          case "proxy-config" -> proxyConfig(parts);
          case "explain" -> explain(q);
          default -> throw new NotFound("no such API: " + ex.getRequestURI().getPath()
              + "; expected /v1/apply, /v1/resources, /v1/status, /v1/proxy-config, /v1/explain");
        };
        if (body == null) {
          send(ex, 405, Map.of("error", method + " is not allowed on " + ex.getRequestURI().getPath()));
        } else {
          send(ex, 200, body);
        }
      } catch (PolicyException e) {
        List<Map<String, String>> errors = new ArrayList<>();
        for (PolicyError pe : e.errors()) {
          errors.add(Map.of("file", pe.file(), "document", pe.doc(), "path", pe.path(), "reason", pe.reason(),
              "message", pe.toString()));
        }
        // 503: the documents are fine, the shared store (etcd) could not take them now.
        send(ex, e.retryable() ? 503 : 400, Map.of("error", e.getMessage(), "errors", errors));
      } catch (NotFound e) {
        send(ex, 404, Map.of("error", e.getMessage()));
      } catch (IllegalArgumentException e) {
        send(ex, 400, Map.of("error", e.getMessage()));
      } catch (RuntimeException e) {
        LOG.error("API request {} {} failed", method, ex.getRequestURI(), e);
        send(ex, 500, Map.of("error", e.toString()));
      }
    }
  }

  private Object apply(HttpExchange ex, Map<String, List<String>> q) throws IOException, PolicyException {
    String file = first(q, "file", "request");
    boolean dryRun = Boolean.parseBoolean(first(q, "dryRun", "false"));
    String yaml = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    PolicyParser.Parsed parsed = PolicyParser.parseFiles(file, yaml);
    xds.telemetry().check(parsed.policies()); // Telemetry names providers of this control plane's flags
    xds.extensionProviders().check(parsed.policies()); // CUSTOM AuthorizationPolicies name its --mesh-config providers
    PolicyStore.Change change = store.apply(parsed.policies(), dryRun);
    Map<String, Object> out = changeJson(change, dryRun);
    out.put("warnings", parsed.warnings().stream().map(PolicyError::toString).toList());
    return out;
  }

  private Map<String, Object> changeJson(PolicyStore.Change change, boolean dryRun) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("dryRun", dryRun);
    out.put("created", change.created());
    out.put("configured", change.configured());
    out.put("unchanged", change.unchanged());
    out.put("deleted", change.deleted());
    MeshResources before = xds.preview(change.before());
    MeshResources after = xds.preview(change.after());
    // Per proxy: a proxyless client or a sidecar with another outbound port gets other resources than the preview.
    Map<String, List<String>> perProxy = xds.changedFor(change.before(), change.after());
    java.util.Set<String> types = new java.util.LinkedHashSet<>();
    // The sidecar preview is mesh-wide, exportTo unfiltered: where exportTo hides something from some namespace only
    // the per-proxy comparison (over each proxy's view) says what changes.
    if (!xds.exportToLimits(change.before()) && !xds.exportToLimits(change.after())) {
      types.addAll(XdsServer.typesChanged(before, after));
    }
    perProxy.values().forEach(types::addAll);
    out.put("resourceTypesChanged", List.copyOf(types));
    out.put(dryRun ? "proxiesThatWouldBeUpdated" : "proxiesUpdated", List.copyOf(perProxy.keySet()));
    out.put("proxiesConnected", xds.nodeIds().size());
    out.put("version", after.version());
    return out;
  }

  /** GET /v1/resources[/KIND[/NAME]][?namespace=NS]: the namespace filter applies to namespaced kinds. */
  private Object get(String[] parts, Map<String, List<String>> q) {
    List<Map<String, Object>> items = new ArrayList<>();
    String kind = parts.length > 1 ? kindOrFail(parts[1]) : null;
    String[] nsName = namespaced(first(q, "namespace", null),
        parts.length > 2 ? URLDecoder.decode(parts[2], StandardCharsets.UTF_8) : null);
    String namespace = nsName[0];
    String name = nsName[1];
    PolicySet state = store.current();
    List<Policy> listed = state.all().stream().filter(p -> (kind == null || p.kind().equals(kind))
        && (name == null || p.meta().name().equals(name))
        && (namespace == null || namespaceOf(p).isEmpty() || namespaceOf(p).equals(namespace))).toList();
    // A Gateway's Programmed condition reads what its proxies were last pushed (no translation, no push lock).
    List<Map<String, String>> selectors = listed.stream().filter(p -> p instanceof Policy.Gateway)
        .map(p -> ((Policy.Gateway) p).selector()).filter(sel -> !sel.isEmpty()).distinct().toList();
    List<XdsServer.PushedGateway> gatewayProxies = selectors.isEmpty() ? List.of() : xds.pushedGateways(
        labels -> selectors.stream().anyMatch(sel -> io.keelson.control.policy.LabelSelector.includes(sel, labels)));
    for (Policy p : listed) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("kind", p.kind());
      m.put("name", p.meta().name());
      if (!namespaceOf(p).isEmpty()) {
        m.put("namespace", namespaceOf(p));
      }
      m.put("apiVersion", p.meta().apiVersion());
      m.put("file", p.meta().file());
      m.put("yaml", p instanceof Policy.Secret secret ? secret.redacted() : p.meta().source()); // never a key
      Map<String, Object> status = GatewayApiStatus.of(p, state, gatewayProxies);
      if (status != null) {
        m.put("status", status);
      }
      items.add(m);
    }
    if (name != null && items.isEmpty()) {
      throw new NotFound(kind + "/" + name + " not found");
    }
    return Map.of("items", items);
  }

  private Object delete(String[] parts, Map<String, List<String>> q) throws PolicyException {
    if (parts.length != 3) {
      throw new IllegalArgumentException("expected DELETE /v1/resources/KIND/NAME[?namespace=NS]");
    }
    boolean dryRun = Boolean.parseBoolean(first(q, "dryRun", "false"));
    String[] nsName = namespaced(first(q, "namespace", null), URLDecoder.decode(parts[2], StandardCharsets.UTF_8));
    return changeJson(store.delete(kindOrFail(parts[1]), nsName[0], nsName[1], dryRun), dryRun);
  }

  /** {namespace, name} from {@code ?namespace=} and a NAME or NS/NAME (the namespace in the name wins). */
  private static String[] namespaced(String namespace, String name) {
    int slash = name == null ? -1 : name.indexOf('/');
    return slash > 0 ? new String[] {name.substring(0, slash), name.substring(slash + 1)}
        : new String[] {namespace, name};
  }

  /**
   * {@code p}'s namespace as listed: its own; {@code default} for the kinds namespaced as registry Services
   * (ServiceNames), which keep no namespace there; "" for the mesh-wide kinds.
   */
  private static String namespaceOf(Policy p) {
    boolean asServices = p instanceof Policy.Service || p instanceof Policy.Workload || p instanceof Policy.Routes
        || p instanceof Policy.DestinationRule;
    return asServices ? io.keelson.control.policy.ServiceNames.namespace(p.meta()) : p.namespace();
  }

  private Object proxyConfig(String[] parts) throws IOException {
    if (parts.length != 3) {
      throw new IllegalArgumentException("expected /v1/proxy-config/NODE/listeners|routes|clusters|endpoints");
    }
    String node = URLDecoder.decode(parts[1], StandardCharsets.UTF_8);
    MeshResources r = xds.resourcesFor(node);
    if (r == null) {
      throw new NotFound("no proxy '" + node + "' is connected; connected: " + xds.nodeIds());
    }
    List<? extends Message> list = switch (parts[2]) {
      case "listeners" -> r.listeners();
      case "routes" -> r.routes();
      case "clusters" -> r.clusters();
      case "endpoints" -> r.endpoints();
      default -> throw new IllegalArgumentException("'" + parts[2] + "' is not a resource type; expected listeners, "
          + "routes, clusters or endpoints");
    };
    JsonFormat.Printer printer = JsonFormat.printer().usingTypeRegistry(TypeRegistryHolder.REGISTRY);
    List<Object> out = new ArrayList<>();
    for (Message m : list) {
      String json;
      try {
        json = printer.print(m);
      } catch (com.google.protobuf.InvalidProtocolBufferException e) { // an Any type TypeRegistryHolder lacks
        throw new IllegalStateException("cannot print " + parts[2] + " as JSON: " + e.getMessage(), e);
      }
      out.add(io.keelson.control.xds.GatewayTls.redactKeys(JSON.readTree(json)));
    }
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("node", node);
    result.put("type", parts[2]);
    result.put("version", r.version());
    result.put("resources", out);
    return result;
  }

  private Object explain(Map<String, List<String>> q) {
    String from = first(q, "from", null);
    String to = first(q, "to", null);
    String gateway = first(q, "gateway", null);
    if ((from == null) == (gateway == null) || to == null) {
      throw new IllegalArgumentException("explain needs to=HOST and either from=SERVICE or gateway=NODE_ID&port=PORT");
    }
    Map<String, String> headers = new LinkedHashMap<>();
    for (String h : q.getOrDefault("header", List.of())) {
      int eq = h.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("header '" + h + "' must be NAME=VALUE");
      }
      headers.put(h.substring(0, eq), h.substring(eq + 1));
    }
    if (gateway != null) {
      String port = first(q, "port", null);
      if (port == null || !port.matches("\\d{1,5}")) {
        throw new IllegalArgumentException("explain at a gateway needs port=PORT (one of its servers' ports), got '"
            + port + "'");
      }
      boolean isGateway = xds.status().stream().anyMatch(s -> s.nodeId().equals(gateway) && s.gateway() != null);
      MeshResources r = isGateway ? xds.resourcesFor(gateway) : null;
      if (r == null) {
        throw new IllegalArgumentException("no gateway proxy '" + gateway + "' is connected; bin/keelson status lists "
            + "the connected proxies (a gateway's node id is printed by bin/keelson proxy --gateway)");
      }
      return Explainer.explainGateway(r, gateway, Integer.parseInt(port), to, first(q, "path", "/"), headers,
          first(q, "method", "GET"));
    }
    XdsServer.ScopedView view = xds.outboundFor(from);
    Map<String, Object> out = Explainer.explain(view.resources(), view.sidecar(), from, to, first(q, "path", "/"),
        headers, first(q, "method", "GET"));
    if (!view.envoyFilters().isEmpty() && out.get("why") instanceof List<?> why) {
      List<Object> lines = new ArrayList<>(why);
      lines.add(Math.min(1, lines.size()), "'" + from + "''s sidecar runs these routes as patched by "
          + String.join(", ", view.envoyFilters()));
      out = new LinkedHashMap<>(out);
      out.put("why", lines);
    }
    return out;
  }

  private static String kindOrFail(String typed) {
    String k = kind(typed);
    if (k == null) {
      throw new IllegalArgumentException("'" + typed + "' is not a kind; expected one of Service, Workload, "
          + "VirtualService, DestinationRule, ServiceEntry, HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, AuthorizationPolicy, PeerAuthentication, RequestAuthentication, Telemetry, "
          + "Sidecar, HTTPLocalRateLimitPolicy, Gateway, Secret, ReferenceGrant, EnvoyFilter");
    }
    return k;
  }

  private static String first(Map<String, List<String>> q, String name, String fallback) {
    List<String> v = q.get(name);
    return v == null || v.isEmpty() ? fallback : v.getFirst();
  }

  private static Map<String, List<String>> params(String raw) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    if (raw == null) {
      return out;
    }
    for (String kv : raw.split("&")) {
      int eq = kv.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
      out.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
    }
    return out;
  }

  static void send(HttpExchange ex, int status, Object body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    ex.getResponseBody().write(bytes);
  }

  private static final class NotFound extends RuntimeException {
    NotFound(String message) {
      super(message, null, false, false);
    }
  }

  @Override
  public void close() {
    if (http != null) {
      http.stop(0);
      executor.shutdownNow();
    }
  }
}
