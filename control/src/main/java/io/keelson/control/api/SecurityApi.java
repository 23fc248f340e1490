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
 * GET    /v1/ca/workload?namespace=NS&amp;labels=k=v,k=v
 *                            the RBAC (DENY, ALLOW) and mTLS modes that workload's policies resolve to
 * GET    /v1/ca/stats        certificates issued and refused, calls refused for a bad token
 * </pre>
 * The API listens on loopback by default: whoever reaches it can mint tokens (see docs/security.md).
 * Runs on the API's worker threads; the token store is synchronized.
 */
final class SecurityApi {
  private final JoinTokens tokens;
  private final MeshCa ca;
  private io.keelson.control.store.PolicyStore store;
  private io.keelson.control.ca.CertificateService certificates;
  private io.keelson.control.auth.TokenAuthentication auth;

  SecurityApi(JoinTokens tokens, MeshCa ca) {
    this.tokens = tokens;
    this.ca = ca;
  }

  SecurityApi with(io.keelson.control.store.PolicyStore store, io.keelson.control.ca.CertificateService certificates,
      io.keelson.control.auth.TokenAuthentication auth) {
    this.store = store;
    this.certificates = certificates;
    this.auth = auth;
    return this;
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
        } else if (path.equals("/v1/ca/workload") && method.equals("GET") && store != null) {
          ApiServer.send(ex, 200, workload(ex.getRequestURI().getRawQuery()));
        } else if (path.equals("/v1/ca/stats") && method.equals("GET")) {
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("trustDomain", ca.trustDomain());
          out.put("certificatesIssued", certificates == null ? 0 : certificates.issued());
          out.put("certificatesRefused", certificates == null ? 0 : certificates.refused());
          out.put("callsRefusedForToken", auth == null ? 0 : auth.rejected());
          out.put("rootExpires", ca.roots().getFirst().getNotAfter().toInstant().toString());
          ApiServer.send(ex, 200, out);
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

  private Map<String, Object> workload(String rawQuery) throws IOException {
    String ns = "default";
    Map<String, String> labels = new LinkedHashMap<>();
    for (String kv : rawQuery == null ? new String[0] : rawQuery.split("&")) {
      String[] p = kv.split("=", 2);
      String v = p.length > 1 ? java.net.URLDecoder.decode(p[1], StandardCharsets.UTF_8) : "";
      if (p[0].equals("namespace")) {
        ns = v;
      } else if (p[0].equals("labels") && !v.isEmpty()) {
        for (String l : v.split(",")) {
          String[] lv = l.split("=", 2);
          if (lv.length != 2) {
            throw new IllegalArgumentException("labels: '" + l + "' is not k=v");
          }
          labels.put(lv[0].trim(), lv[1].trim());
        }
      }
    }
    var state = store.current();
    String root = io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE;
    var authz = io.keelson.control.security.AuthorizationTranslator.http(ns, labels,
        state.ofType(io.keelson.control.policy.Policy.AuthorizationPolicy.class), root);
    var mtls = io.keelson.control.security.PeerAuthenticationResolver.resolve(ns, labels,
        state.ofType(io.keelson.control.policy.Policy.PeerAuthentication.class), root);
    com.google.protobuf.util.JsonFormat.Printer printer = com.google.protobuf.util.JsonFormat.printer();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("namespace", ns);
    out.put("labels", labels);
    out.put("mtlsMode", mtls.mode().name());
    Map<String, String> ports = new java.util.TreeMap<>();
    mtls.ports().forEach((k, v) -> ports.put(String.valueOf(k), v.name()));
    out.put("mtlsPorts", ports);
    // What a TCP inbound port (a sidecar with --inbound-protocol tcp) enforces: envoy.filters.network.rbac.
    var tcp = io.keelson.control.security.AuthorizationTranslator.tcp(ns, labels,
        state.ofType(io.keelson.control.policy.Policy.AuthorizationPolicy.class), root);
    out.put("tcpDeny", tcp.deny() == null ? null : ApiServer.JSON.readTree(printer.print(tcp.deny())));
    out.put("tcpAllow", tcp.allow() == null ? null : ApiServer.JSON.readTree(printer.print(tcp.allow())));
    out.put("deny", authz.deny() == null ? null : ApiServer.JSON.readTree(printer.print(authz.deny())));
    out.put("allow", authz.allow() == null ? null : ApiServer.JSON.readTree(printer.print(authz.allow())));
    var jwt = io.keelson.control.security.RequestAuthenticationTranslator.config(ns, labels,
        state.ofType(io.keelson.control.policy.Policy.RequestAuthentication.class), root);
    out.put("jwtAuthn", jwt == null ? null : ApiServer.JSON.readTree(printer.print(jwt)));
    return out;
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
