package io.keelson.control.policy;

/**
 * Istio's gateway host matching between a server's (listener's) host and a route's: {@code *} covers every name,
 * {@code *.example.com} every name ending {@code .example.com}. Stateless.
 */
public final class GatewayHosts {
  private GatewayHosts() {}

  /** The host both names cover, the more specific one, or null when they share none. */
  public static String intersection(String serverHost, String routeHost) {
    if (covers(serverHost, routeHost)) {
      return routeHost;
    }
    if (covers(routeHost, serverHost)) {
      return serverHost;
    }
    return null;
  }

  private static boolean covers(String wide, String narrow) {
    if (wide.equals("*") || wide.equals(narrow)) {
      return true;
    }
    return wide.startsWith("*.") && narrow.endsWith(wide.substring(1)) && !narrow.equals("*");
  }
}
