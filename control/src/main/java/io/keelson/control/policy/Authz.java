package io.keelson.control.policy;

import java.util.List;

/** The parts of Istio's security policies ({@code security.istio.io/v1}), as parsed. Immutable. */
public final class Authz {
  private Authz() {}

  /** CUSTOM: the request is checked by an external authorization provider ({@code provider.name}). */
  public enum Action { ALLOW, DENY, CUSTOM }

  public enum MtlsMode { UNSET, DISABLE, PERMISSIVE, STRICT }

  /** A rule matches when any source, any operation (empty = any) and every condition match. */
  public record Rule(List<Source> from, List<Operation> to, List<Condition> when) {}

  /** Fields are AND-ed; values within a field are OR-ed; notX fields match when no value does. */
  public record Source(List<String> principals, List<String> notPrincipals, List<String> namespaces,
      List<String> notNamespaces, List<String> ipBlocks, List<String> notIpBlocks, List<String> remoteIpBlocks,
      List<String> notRemoteIpBlocks, List<String> requestPrincipals, List<String> notRequestPrincipals) {
    /** Without JWT request principals. */
    public Source(List<String> principals, List<String> notPrincipals, List<String> namespaces,
        List<String> notNamespaces, List<String> ipBlocks, List<String> notIpBlocks, List<String> remoteIpBlocks,
        List<String> notRemoteIpBlocks) {
      this(principals, notPrincipals, namespaces, notNamespaces, ipBlocks, notIpBlocks, remoteIpBlocks, notRemoteIpBlocks,
          List.of(), List.of());
    }

    /** Request principals ({@code iss/sub} of a verified JWT) exist only on HTTP requests. */
    public boolean usesHttpFields() {
      return !requestPrincipals.isEmpty() || !notRequestPrincipals.isEmpty();
    }
  }

  public record Operation(List<String> hosts, List<String> notHosts, List<String> ports, List<String> notPorts,
      List<String> methods, List<String> notMethods, List<String> paths, List<String> notPaths) {
    /** Fields only an HTTP request has: a rule using them cannot match a TCP connection. */
    public boolean usesHttpFields() {
      return !hosts.isEmpty() || !notHosts.isEmpty() || !methods.isEmpty() || !notMethods.isEmpty()
          || !paths.isEmpty() || !notPaths.isEmpty();
    }
  }

  /**
   * One {@code jwtRules} entry of a {@code RequestAuthentication}: a token issuer and its keys
   * ({@code jwks} inline JSON, or {@code jwksUri} the proxy fetches), where tokens are looked for and
   * what is forwarded.
   *
   * @param fromHeaders header name to value prefix (empty prefix: the whole value), in order
   */
  /**
   * One RequestAuthentication {@code jwtRules} entry. {@code fromCookies}: cookie names carrying the token;
   * {@code outputClaimToHeaders}: header name to claim name ({@code a.b} for a nested claim), in order.
   */
  public record JwtRule(String issuer, List<String> audiences, String jwks, String jwksUri,
      java.util.Map<String, String> fromHeaders, List<String> fromParams, boolean forwardOriginalToken,
      String outputPayloadToHeader, List<String> fromCookies, java.util.Map<String, String> outputClaimToHeaders) {
    public JwtRule(String issuer, List<String> audiences, String jwks, String jwksUri,
        java.util.Map<String, String> fromHeaders, List<String> fromParams, boolean forwardOriginalToken,
        String outputPayloadToHeader) {
      this(issuer, audiences, jwks, jwksUri, fromHeaders, fromParams, forwardOriginalToken, outputPayloadToHeader,
          List.of(), java.util.Map.of());
    }
  }

  /** {@code key} e.g. {@code request.headers[x-token]}, {@code source.ip}, {@code source.namespace}. */
  public record Condition(String key, List<String> values, List<String> notValues) {
    public boolean usesHttpFields() {
      return key.startsWith("request.");
    }
  }
}
