package io.keelson.control.api;

import com.sun.net.httpserver.HttpExchange;
import io.keelson.control.auth.JoinTokens;
import io.keelson.control.ca.MeshCa;
import io.keelson.control.ca.Pem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Join tokens and the trust bundle on the HTTP API:
 * <pre>
 * POST   /v1/tokens          body: {"namespace": NS, "serviceAccount": SA, "ttlSeconds": N (optional)}
 * GET    /v1/tokens          every token (never the secret)
 * DELETE /v1/tokens/ID
 * GET    /v1/ca/root         the mesh root(s), PEM
 * </pre>
 * The API listens on loopback by default: whoever reaches it can mint tokens (see docs/security.md).
 * Runs on the API's worker threads; the token store is synchronized.
 */
final class SecurityApi {
  private final JoinTokens tokens;
  private final MeshCa ca;

  SecurityApi(JoinTokens tokens, MeshCa ca) {
    this.tokens = tokens;
    this.ca = ca;
  }

  void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      String method = ex.getRequestMethod();
      try {
        if (path.equals("/v1/ca/root") && method.equals("GET")) {
          StringBuilder pem = new StringBuilder();
          ca.roots().forEach(r -> pem.append(Pem.encode(r)));
          byte[] b = pem.toString().getBytes(StandardCharsets.US_ASCII);
          ex.getResponseHeaders().set("Content-Type", "application/x-pem-file");
          ex.sendResponseHeaders(200, b.length);
          ex.getResponseBody().write(b);
        } else if (path.equals("/v1/tokens") && method.equals("POST")) {
          Map<?, ?> body = ApiServer.JSON.readValue(ex.getRequestBody(), Map.class);
          Object ns = body.get("namespace");
          Object sa = body.get("serviceAccount");
          if (!(ns instanceof String) || !(sa instanceof String)) {
            throw new IllegalArgumentException("expected {\"namespace\": NS, \"serviceAccount\": SA}");
          }
          Duration ttl = body.get("ttlSeconds") instanceof Number n ? Duration.ofSeconds(n.longValue()) : null;
          JoinTokens.Created c = tokens.create((String) ns, (String) sa, ttl);
          Map<String, Object> out = json(c.info());
          out.put("token", c.token());
          out.put("spiffeId", ca.identity((String) ns, (String) sa).uri());
          ApiServer.send(ex, 200, out);
        } else if (path.equals("/v1/tokens") && method.equals("GET")) {
          List<Map<String, Object>> items = new ArrayList<>();
          tokens.list().forEach(t -> items.add(json(t)));
          ApiServer.send(ex, 200, Map.of("items", items));
        } else if (path.startsWith("/v1/tokens/") && method.equals("DELETE")) {
          String id = path.substring("/v1/tokens/".length());
          if (tokens.revoke(id)) {
            ApiServer.send(ex, 200, Map.of("revoked", id));
          } else {
            ApiServer.send(ex, 404, Map.of("error", "no token with id " + id));
          }
        } else {
          ApiServer.send(ex, 404, Map.of("error", "no such API: " + method + " " + path
              + "; expected POST|GET /v1/tokens, DELETE /v1/tokens/ID, GET /v1/ca/root"));
        }
      } catch (IllegalArgumentException | com.fasterxml.jackson.core.JacksonException e) {
        ApiServer.send(ex, 400, Map.of("error", e.getMessage()));
      }
    }
  }

  private static Map<String, Object> json(JoinTokens.Token t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", t.id());
    m.put("namespace", t.namespace());
    m.put("serviceAccount", t.serviceAccount());
    m.put("createdAt", t.createdAt().toString());
    m.put("expiresAt", t.expiresAt() == null ? null : t.expiresAt().toString());
    return m;
  }
}
