package io.keelson.control.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * {@code bin/keelson token create|list|revoke}, {@code ca-root} and {@code authz}: join tokens, the
 * mesh root and the authorization a workload's policies resolve to, through the control plane's
 * HTTP API. Main thread.
 */
final class SecurityCommands {
  static final String USAGE = """
      usage: bin/keelson token create --namespace NS --service-account SA [--ttl 24h] [--server URL]
             bin/keelson token list [--server URL]
             bin/keelson token revoke ID [--server URL]
             bin/keelson ca-root [--server URL]        (prints the mesh root CA, PEM)

      A join token lets one proxy obtain configuration and a workload certificate for
      spiffe://<trust-domain>/ns/NS/sa/SA from the control plane's secure port (15012). The token is
      printed once; the control plane keeps only its hash. Give it to the proxy with --token-file.
        --ttl D        token lifetime (e.g. 30m, 24h, 7d; default: no expiry)
        --server URL   the control plane's HTTP API (default http://127.0.0.1:15014)
      """;

  private SecurityCommands() {}

  static int run(String[] argv) throws Exception {
    if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h")) {
      System.out.print(USAGE);
      return argv.length == 0 ? 2 : 0;
    }
    String verb = argv[0];
    String[] rest = java.util.Arrays.copyOfRange(argv, 1, argv.length);
    switch (verb) {
      case "create" -> {
        Args a = new Args("token create", rest, Set.of("--namespace", "--service-account", "--ttl", "--server"), Set.of());
        String ns = a.get("--namespace", null);
        String sa = a.get("--service-account", null);
        if (ns == null || sa == null) {
          throw new Args.UsageException("token create: --namespace NS and --service-account SA are required");
        }
        StringBuilder body = new StringBuilder("{\"namespace\":").append(quote(ns)).append(",\"serviceAccount\":")
            .append(quote(sa));
        if (a.has("--ttl")) {
          body.append(",\"ttlSeconds\":").append(duration(a.get("--ttl", null)).toSeconds());
        }
        JsonNode r = ClientCommands.call(a.get("--server", ClientCommands.DEFAULT_SERVER), "POST", "/v1/tokens",
            body.append('}').toString());
        if (r == null) {
          return 1;
        }
        System.err.println("token " + r.path("id").asText() + " for " + r.path("spiffeId").asText()
            + (r.path("expiresAt").isNull() ? "" : ", expires " + r.path("expiresAt").asText())
            + " (shown once; store it where the proxy reads --token-file)");
        System.out.println(r.path("token").asText());
        return 0;
      }
      case "list" -> {
        Args a = new Args("token list", rest, Set.of("--server"), Set.of());
        JsonNode r = ClientCommands.call(a.get("--server", ClientCommands.DEFAULT_SERVER), "GET", "/v1/tokens", null);
        if (r == null) {
          return 1;
        }
        System.out.printf("%-14s %-20s %-20s %-22s %s%n", "ID", "NAMESPACE", "SERVICE ACCOUNT", "CREATED", "EXPIRES");
        for (JsonNode t : r.path("items")) {
          System.out.printf("%-14s %-20s %-20s %-22s %s%n", t.path("id").asText(), t.path("namespace").asText(),
              t.path("serviceAccount").asText(), t.path("createdAt").asText().replaceAll("\\.\\d+Z$", "Z"),
              t.path("expiresAt").isNull() ? "never" : t.path("expiresAt").asText());
        }
        return 0;
      }
      case "revoke" -> {
        List<String> ids = java.util.Arrays.stream(rest).filter(s -> !s.startsWith("-")).toList();
        Args a = new Args("token revoke", rest.length > 0 && !rest[0].startsWith("-")
            ? java.util.Arrays.copyOfRange(rest, 1, rest.length) : rest, Set.of("--server"), Set.of());
        if (ids.isEmpty()) {
          throw new Args.UsageException("token revoke: the token ID is required (see 'bin/keelson token list')");
        }
        JsonNode r = ClientCommands.call(a.get("--server", ClientCommands.DEFAULT_SERVER), "DELETE",
            "/v1/tokens/" + ids.getFirst(), null);
        if (r == null) {
          return 1;
        }
        System.out.println("token " + ids.getFirst() + " revoked");
        return 0;
      }
      default -> throw new Args.UsageException("token: unknown verb '" + verb + "'; expected create, list or revoke");
    }
  }

  static final String USAGE_AUTHZ = """
      usage: bin/keelson authz --namespace NS [--labels k=v,k=v] [--server URL]

      The Envoy RBAC (DENY and ALLOW, as the proxy would enforce them), the jwt_authn config (JWT
      authentication, run before RBAC) and the mTLS mode per port that the applied AuthorizationPolicy,
      RequestAuthentication and PeerAuthentication documents give a workload of NS with these labels.
      """;

  static int authz(String[] argv) throws Exception {
    for (String a : argv) {
      if (a.equals("--help") || a.equals("-h")) {
        System.out.print(USAGE_AUTHZ);
        return 0;
      }
    }
    Args a = new Args("authz", argv, Set.of("--namespace", "--labels", "--server"), Set.of());
    String q = "?namespace=" + java.net.URLEncoder.encode(a.get("--namespace", "default"),
        java.nio.charset.StandardCharsets.UTF_8) + "&labels=" + java.net.URLEncoder.encode(a.get("--labels", ""),
        java.nio.charset.StandardCharsets.UTF_8);
    JsonNode r = ClientCommands.call(a.get("--server", ClientCommands.DEFAULT_SERVER), "GET", "/v1/ca/workload" + q, null);
    if (r == null) {
      return 1;
    }
    System.out.println(new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter()
        .writeValueAsString(r));
    return 0;
  }

  static int caRoot(String[] argv) throws Exception {
    Args a = new Args("ca-root", argv, Set.of("--server"), Set.of());
    var client = java.net.http.HttpClient.newHttpClient();
    var resp = client.send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(a.get("--server", ClientCommands.DEFAULT_SERVER) + "/v1/ca/root")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() != 200) {
      System.err.println("keelson ca-root: " + resp.body());
      return 1;
    }
    System.out.print(resp.body());
    return 0;
  }

  /** 90s, 30m, 24h, 7d. */
  static Duration duration(String text) {
    if (text != null && text.matches("\\d+[smhd]")) {
      long n = Long.parseLong(text.substring(0, text.length() - 1));
      return switch (text.charAt(text.length() - 1)) {
        case 's' -> Duration.ofSeconds(n);
        case 'm' -> Duration.ofMinutes(n);
        case 'h' -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    }
    throw new Args.UsageException("duration '" + text + "' is not valid; expected e.g. 90s, 30m, 24h or 7d");
  }

  private static String quote(String s) {
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(s);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
