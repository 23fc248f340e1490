package io.keelson.control.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The control plane's command-line clients (apply, get, delete, status, proxy-config, explain), talking
 * to its HTTP API ({@code --server}, default http://127.0.0.1:15014). Main thread.
 */
final class ClientCommands {
  static final String DEFAULT_SERVER = "http://127.0.0.1:15014";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SERVER_HELP = "  --server URL   the control plane's HTTP API (default " + DEFAULT_SERVER + ")\n";
  static final String USAGE_APPLY = "usage: bin/keelson apply -f FILE|DIR|- [--dry-run] [--server URL]\n\n"
      + "Applies YAML policy documents (several per file, '---' separated; a DIR's *.yaml and *.yml files).\n"
      + "Every file is checked first: if any document has an error, nothing is applied.\n"
      + "  -f FILE|DIR|-  what to apply ('-' = standard input); may be repeated\n"
      + "  --dry-run      show what would change and which proxies would be updated, change nothing\n" + SERVER_HELP;
  static final String USAGE_GET = "usage: bin/keelson get KIND [NAME] [--namespace NS] [-o yaml] [--server URL]\n\n"
      + "Shows applied documents as YAML; with -o yaml, Gateway API Gateways and routes also show the status a\n"
      + "controller writes (conditions, listeners' attachedRoutes, routes' parents), computed from the current state.\n"
      + "KIND: service, workload, virtualservice (vs), destinationrule (dr),\n"
      + "serviceentry (se), workloadentry (we), httproute, grpcroute, gateway (gw), secret, authorizationpolicy, peerauthentication, telemetry,\n"
      + "sidecar, referencegrant, namespace (ns), envoyfilter, or 'all'. --namespace (or NAME as NS/NAME) filters the\n"
      + "namespaced kinds (Service, Workload, VirtualService, DestinationRule, Gateway API routes: default when not\n"
      + "written; security.istio.io, telemetry.istio.io, Gateway, Sidecar, EnvoyFilter, Secret, ReferenceGrant).\n"
      + "A Secret's data is never shown.\n" + SERVER_HELP;
  static final String USAGE_DELETE = "usage: bin/keelson delete KIND [NS/]NAME [--namespace NS] [--dry-run] [--server URL]\n\n"
      + "Deletes one document; refused while other documents refer to it. Namespaced kinds (Service, Workload,\n"
      + "VirtualService, DestinationRule, routes, AuthorizationPolicy, PeerAuthentication, Telemetry, Sidecar, ...)\n"
      + "need a namespace (NS/NAME or --namespace) when several namespaces have that name.\n"
      + SERVER_HELP;
  static final String USAGE_STATUS = "usage: bin/keelson status [--server URL]\n\n"
      + "Every connected proxy: node id, service, and per resource type the version ACKed, ACK/NACK and the last error;\n"
      + "then warnings (e.g. TCP/TLS services a proxy without traffic capture cannot reach).\n"
      + SERVER_HELP;
  static final String USAGE_PROXY_CONFIG = "usage: bin/keelson proxy-config PROXY listeners|routes|clusters|endpoints "
      + "[--server URL]\n\nThe resources the control plane sent to PROXY (its node id), as JSON.\n" + SERVER_HELP;
  static final String USAGE_EXPLAIN = "usage: bin/keelson explain (--from SERVICE | --gateway NODE_ID --port PORT) "
      + "--to HOST --path P [--header k=v]... [--method M] [--server URL]\n\n"
      + "Which route, which cluster or subset and which endpoints a request from SERVICE to HOST would get, and why;\n"
      + "with --gateway, a request arriving at that ingress gateway proxy's HTTP/HTTPS server on PORT; at a TLS\n"
      + "(passthrough or terminating) or TCP port, a connection with SNI HOST: its filter chain and cluster(s).\n"
      + SERVER_HELP;

  private static final ObjectMapper STATUS_YAML = new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()
          .disable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
          .enable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.MINIMIZE_QUOTES));

  private ClientCommands() {}

  private static boolean help(String[] argv, String usage) {
    for (String a : argv) {
      if (a.equals("--help") || a.equals("-h")) {
        System.out.print(usage);
        return true;
      }
    }
    return false;
  }

  /** Splits positional arguments from options (options all take a value except the given flags). */
  private static List<String> positional(String[] argv, Set<String> flags) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      if (argv[i].startsWith("-") && !argv[i].equals("-")) {
        if (!flags.contains(argv[i]) && !argv[i].contains("=")) {
          i++;
        }
      } else {
        out.add(argv[i]);
      }
    }
    return out;
  }

  private static String[] options(String[] argv, Set<String> flags) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      if (argv[i].startsWith("-") && !argv[i].equals("-")) {
        out.add(argv[i]);
        if (!flags.contains(argv[i]) && !argv[i].contains("=") && i + 1 < argv.length) {
          out.add(argv[++i]);
        }
      }
    }
    return out.toArray(String[]::new);
  }

  static int apply(String[] argv) throws Exception {
    if (help(argv, USAGE_APPLY)) {
      return 0;
    }
    Args a = new Args("apply", argv, Set.of("-f", "--server"), Set.of("--dry-run"));
    if (a.all("-f").isEmpty()) {
      throw new Args.UsageException("apply: -f FILE|DIR|- is required");
    }
    List<Path> files = new ArrayList<>();
    List<String[]> docs = new ArrayList<>(); // name, text
    for (String f : a.all("-f")) {
      if (f.equals("-")) {
        docs.add(new String[] {"-", new String(System.in.readAllBytes(), StandardCharsets.UTF_8)});
      } else if (Files.isDirectory(Path.of(f))) {
        try (Stream<Path> s = Files.list(Path.of(f))) {
          s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().forEach(files::add);
        }
      } else if (Files.isRegularFile(Path.of(f))) {
        files.add(Path.of(f));
      } else {
        System.err.println("keelson apply: " + f + ": no such file or directory");
        return 1;
      }
    }
    for (Path p : files) {
      docs.add(new String[] {p.toString(), Files.readString(p)});
    }
    // One request per file would not be all-or-nothing: one body, each file's documents after a marker naming it.
    StringBuilder body = new StringBuilder();
    for (String[] d : docs) {
      body.append(io.keelson.control.policy.PolicyParser.FILE_MARKER).append(d[0]).append('\n').append(d[1]).append('\n');
    }
    String query = a.has("--dry-run") ? "?dryRun=true" : "";
    JsonNode r = call(a.get("--server", DEFAULT_SERVER), "POST", "/v1/apply" + query, body.toString());
    if (r == null) {
      return 1;
    }
    String suffix = a.has("--dry-run") ? " (dry run)" : "";
    for (String what : List.of("created", "configured", "unchanged", "deleted")) {
      r.path(what).forEach(k -> System.out.println(k.asText() + " " + what + suffix));
    }
    r.path("warnings").forEach(w -> System.err.println("warning: " + w.asText()));
    System.out.println(summary(r, a.has("--dry-run")));
    return 0;
  }

  /** The last line of {@code apply}: which types changed for which proxies, or why no proxy is named. */
  static String summary(JsonNode r, boolean dryRun) {
    JsonNode proxies = r.has("proxiesThatWouldBeUpdated") ? r.get("proxiesThatWouldBeUpdated") : r.path("proxiesUpdated");
    JsonNode types = r.path("resourceTypesChanged");
    if (types.isEmpty()) {
      return "no proxy configuration " + (dryRun ? "would change" : "changed");
    }
    String head = (dryRun ? "would update " : "updated ") + types;
    if (!proxies.isEmpty()) {
      return head + " on proxies " + proxies;
    }
    int connected = r.path("proxiesConnected").asInt(0);
    return head + (connected == 0 ? "; no proxy is connected (each gets it when it connects)"
        : "; none of the " + connected + " connected proxies is affected");
  }

  static int get(String[] argv) throws Exception {
    if (help(argv, USAGE_GET)) {
      return 0;
    }
    List<String> pos = positional(argv, Set.of());
    Args a = new Args("get", options(argv, Set.of()), Set.of("--server", "--namespace", "-o", "--output"), Set.of());
    String output = a.get("--output", a.get("-o", null));
    if (output != null && !output.equals("yaml")) {
      throw new Args.UsageException("get: -o '" + output + "' is not an output format; expected yaml");
    }
    if (pos.isEmpty() || pos.size() > 2) {
      throw new Args.UsageException("get: expected KIND [NAME]");
    }
    String path = (pos.getFirst().equals("all") ? "/v1/resources" : "/v1/resources/" + enc(pos.getFirst())
        + (pos.size() == 2 ? "/" + enc(pos.get(1)) : ""))
        + (a.has("--namespace") ? "?namespace=" + enc(a.get("--namespace", null)) : "");
    JsonNode r = call(a.get("--server", DEFAULT_SERVER), "GET", path, null);
    if (r == null) {
      return 1;
    }
    for (JsonNode item : r.path("items")) {
      System.out.print("---\n# from " + item.path("file").asText() + "\n" + item.path("yaml").asText());
      if (output != null && item.has("status")) {
        System.out.print(item.path("yaml").asText().endsWith("\n") ? "" : "\n");
        System.out.print(STATUS_YAML.writeValueAsString(Map.of("status", item.get("status"))));
      }
    }
    return 0;
  }

  static int delete(String[] argv) throws Exception {
    if (help(argv, USAGE_DELETE)) {
      return 0;
    }
    Set<String> flags = Set.of("--dry-run");
    List<String> pos = positional(argv, flags);
    Args a = new Args("delete", options(argv, flags), Set.of("--server", "--namespace"), flags);
    if (pos.size() != 2) {
      throw new Args.UsageException("delete: expected KIND NAME");
    }
    JsonNode r = call(a.get("--server", DEFAULT_SERVER), "DELETE", "/v1/resources/" + enc(pos.get(0)) + "/"
        + enc(pos.get(1)) + "?dryRun=" + a.has("--dry-run")
        + (a.has("--namespace") ? "&namespace=" + enc(a.get("--namespace", null)) : ""), null);
    if (r == null) {
      return 1;
    }
    r.path("deleted").forEach(k -> System.out.println(k.asText() + " deleted" + (a.has("--dry-run") ? " (dry run)" : "")));
    return 0;
  }

  static int status(String[] argv) throws Exception {
    if (help(argv, USAGE_STATUS)) {
      return 0;
    }
    Args a = new Args("status", argv, Set.of("--server"), Set.of());
    JsonNode r = call(a.get("--server", DEFAULT_SERVER), "GET", "/v1/status", null);
    if (r == null) {
      return 1;
    }
    System.out.printf("%-24s %-20s %-6s %-22s %-22s %-22s %-22s%n", "PROXY", "SERVICE", "MODE", "LISTENERS", "ROUTES",
        "CLUSTERS", "ENDPOINTS");
    List<String> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    List<String> localities = new ArrayList<>();
    List<String> scoped = new ArrayList<>();
    List<String> patched = new ArrayList<>();
    for (JsonNode p : r.path("proxies")) {
      List<String> cols = new ArrayList<>();
      for (String t : List.of("listeners", "routes", "clusters", "endpoints")) {
        JsonNode s = p.path("types").path(t);
        cols.add(s.isMissingNode() ? "-" : s.path("state").asText() + " " + s.path("acked").asText("-"));
        if (!s.path("lastError").isNull() && !s.path("lastError").isMissingNode()) {
          errors.add(p.path("nodeId").asText() + " " + t + " NACKed " + s.path("nackedVersion").asText() + ": "
              + s.path("lastError").asText());
        }
      }
      System.out.printf("%-24s %-20s %-6s %-22s %-22s %-22s %-22s%n", p.path("nodeId").asText(),
          p.path("service").asText("-") + (p.path("gateway").isObject() ? " (gateway)" : ""), p.path("delta").asBoolean() ? "delta" : "sotw", cols.get(0), cols.get(1),
          cols.get(2), cols.get(3));
      for (JsonNode w : p.path("warnings")) {
        warnings.add(p.path("nodeId").asText() + ": " + w.asText());
      }
      if (!p.path("locality").asText("").isEmpty()) {
        localities.add(p.path("nodeId").asText() + " in " + p.path("locality").asText());
      }
      if (p.path("sidecar").isTextual()) {
        scoped.add(p.path("nodeId").asText() + " scoped by " + p.path("sidecar").asText());
      }
      List<String> envoyFilters = new ArrayList<>();
      p.path("envoyFilters").forEach(f -> envoyFilters.add(f.asText()));
      if (!envoyFilters.isEmpty()) {
        patched.add(p.path("nodeId").asText() + " patched by " + String.join(", ", envoyFilters));
      }
    }
    localities.forEach(l -> System.out.println("locality: " + l));
    scoped.forEach(l -> System.out.println("sidecar: " + l));
    patched.forEach(l -> System.out.println("envoyfilter: " + l));
    errors.forEach(e -> System.out.println("last error: " + e));
    for (JsonNode problem : r.path("store")) {
      System.out.println("store error: " + problem.asText().replace("\n", "\n  "));
    }
    warnings.forEach(w -> System.out.println("warning: " + w));
    return 0;
  }

  static int proxyConfig(String[] argv) throws Exception {
    if (help(argv, USAGE_PROXY_CONFIG)) {
      return 0;
    }
    List<String> pos = positional(argv, Set.of());
    Args a = new Args("proxy-config", options(argv, Set.of()), Set.of("--server"), Set.of());
    if (pos.size() != 2) {
      throw new Args.UsageException("proxy-config: expected PROXY listeners|routes|clusters|endpoints");
    }
    JsonNode r = call(a.get("--server", DEFAULT_SERVER), "GET", "/v1/proxy-config/" + enc(pos.get(0)) + "/"
        + enc(pos.get(1)), null);
    if (r == null) {
      return 1;
    }
    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r));
    return 0;
  }

  static int explain(String[] argv) throws Exception {
    if (help(argv, USAGE_EXPLAIN)) {
      return 0;
    }
    Args a = new Args("explain", argv, Set.of("--from", "--gateway", "--port", "--to", "--path", "--header", "--method",
        "--server"), Set.of());
    if (a.has("--from") == a.has("--gateway") || !a.has("--to")) {
      throw new Args.UsageException("explain: --to HOST and either --from SERVICE or --gateway NODE_ID --port PORT "
          + "are required");
    }
    if (a.has("--gateway") != a.has("--port")) {
      throw new Args.UsageException("explain: --gateway NODE_ID and --port PORT (the gateway server's port) go together");
    }
    StringBuilder q = new StringBuilder("?" + (a.has("--gateway")
        ? "gateway=" + enc(a.get("--gateway", null)) + "&port=" + enc(a.get("--port", null))
        : "from=" + enc(a.get("--from", null)))
        + "&to=" + enc(a.get("--to", null))
        + "&path=" + enc(a.get("--path", "/")) + "&method=" + enc(a.get("--method", "GET")));
    for (String h : a.all("--header")) {
      q.append("&header=").append(enc(h));
    }
    JsonNode r = call(a.get("--server", DEFAULT_SERVER), "GET", "/v1/explain" + q, null);
    if (r == null) {
      return 1;
    }
    System.out.println("request: " + r.path("from").asText() + " -> " + r.path("host").asText() + r.path("path").asText());
    r.path("why").forEach(w -> System.out.println("  " + w.asText()));
    System.out.println("result: " + r.path("result").asText());
    for (JsonNode c : r.path("clusters")) {
      System.out.println("  " + c.path("share").asText() + "% -> cluster " + c.path("cluster").asText() + " ("
          + c.path("lbPolicy").asText() + ") endpoints " + c.path("endpoints"));
    }
    return 0;
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Calls the API; on an error prints its message(s) and returns null. */
  static JsonNode call(String server, String method, String path, String body) throws IOException,
      InterruptedException {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(server + path)).timeout(Duration.ofSeconds(30));
    req.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    HttpResponse<String> resp;
    try {
      resp = client.send(req.build(), HttpResponse.BodyHandlers.ofString());
    } catch (java.net.ConnectException e) {
      System.err.println("keelson: cannot reach the control plane at " + server + " (is 'bin/keelson control' running?)");
      return null;
    }
    JsonNode json = JSON.readTree(resp.body());
    if (resp.statusCode() != 200) {
      if (json.has("errors")) {
        json.get("errors").forEach(e -> System.err.println("error: " + e.path("message").asText()));
      } else {
        System.err.println("error: " + json.path("error").asText());
      }
      return null;
    }
    return json;
  }
}
