package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gateway API {@code GRPCRoute} ({@code gateway.networking.k8s.io/v1}), its parents Services (mesh/GAMMA form) and
 * Gateways (their HTTP/HTTPS listeners serve it for its {@code hostnames}; HTTP/2 upstream where the Service's port
 * is {@code grpc}/{@code GRPC}, as in the mesh). A method
 * match becomes a path match on {@code /service/method} (a prefix {@code /service/} when only the
 * service is given) limited to gRPC requests; headers, weighted backendRefs and the header
 * modifier and mirror filters are as in HTTPRoute. Stateless.
 */
final class GrpcRouteParser {
  private GrpcRouteParser() {}

  static Policy grpcRoute(Policy.Meta meta, Fields spec) {
    return GatewayParser.route(meta, spec, GrpcRouteParser::rule);
  }

  private static Policy.Rule rule(Fields r, String defaultName) {
    r.allow(Set.of("name", "matches", "filters", "backendRefs"), Map.of(
        "sessionPersistence", "session persistence is not supported yet"));
    String name = r.string("name", false);
    List<Policy.Match> matches = new ArrayList<>();
    for (Fields m : r.objects("matches", false)) {
      matches.add(match(m));
    }
    if (matches.isEmpty()) {
      // GRPCRoute: no matches = every gRPC request.
      matches.add(new Policy.Match(null, List.of(), List.of(), null, true));
    }
    List<Policy.Backend> backends = GatewayParser.backendRefs(r);
    Policy.HeaderOps req = Policy.HeaderOps.NONE;
    Policy.HeaderOps resp = Policy.HeaderOps.NONE;
    List<Policy.Mirror> mirrors = new ArrayList<>();
    for (Fields f : r.objects("filters", false)) {
      f.allow("type", "requestHeaderModifier", "responseHeaderModifier", "requestMirror", "extensionRef");
      String type = f.string("type", true);
      if (type == null) {
        continue;
      }
      switch (type) {
        case "RequestHeaderModifier" -> req = GatewayParser.headerOps(f.object("requestHeaderModifier", true));
        case "ResponseHeaderModifier" -> resp = GatewayParser.headerOps(f.object("responseHeaderModifier", true));
        case "RequestMirror" -> {
          Policy.Mirror m = GatewayParser.mirror(f.object("requestMirror", true));
          if (m != null) {
            mirrors.add(m);
          }
        }
        case "ExtensionRef" -> f.error("type", "ExtensionRef is not supported");
        default -> f.error("type", "'" + type + "' is not a GRPCRoute filter type; expected one of "
            + "RequestHeaderModifier, ResponseHeaderModifier, RequestMirror");
      }
    }
    if (backends.isEmpty()) {
      r.error("backendRefs", "is required");
    } else if (backends.stream().mapToLong(Policy.Backend::weight).sum() == 0) {
      r.error("backendRefs", "the weights add up to 0; expected at least one backend with a weight above 0");
    }
    return new Policy.Rule(name == null ? defaultName : name, List.copyOf(matches), List.copyOf(backends), null,
        null, req, resp, null, null, mirrors, null);
  }

  /** GRPCRouteMatch: method {type, service, method} and headers; always limited to gRPC requests. */
  private static Policy.Match match(Fields m) {
    m.allow("method", "headers");
    Policy.StringMatch path = null;
    Fields method = m.object("method", false);
    if (method != null) {
      method.allow("type", "service", "method");
      String type = method.string("type", false);
      String service = method.string("service", false);
      String rpc = method.string("method", false);
      if (service == null && rpc == null) {
        method.error("service", "one of service and method is required");
      } else if (type == null || type.equals("Exact")) {
        path = exact(method, service, rpc);
      } else if (type.equals("RegularExpression")) {
        if (service != null) {
          PolicyParser.checkRegex(method, "service", service);
        }
        if (rpc != null) {
          PolicyParser.checkRegex(method, "method", rpc);
        }
        path = new Policy.StringMatch(Policy.MatchType.REGEX,
            "/(" + (service == null ? "[^/]+" : service) + ")/(" + (rpc == null ? "[^/]+" : rpc) + ")");
      } else {
        method.error("type", "'" + type + "' is not a method match type; expected Exact or RegularExpression");
      }
    }
    return new Policy.Match(path, GatewayParser.keyMatches(m, "headers"), List.of(), null, true);
  }

  private static Policy.StringMatch exact(Fields method, String service, String rpc) {
    // Exact names: no '/' (it separates service and method in the path); Gateway API's own pattern.
    if (service != null && (service.isEmpty() || service.contains("/"))) {
      method.error("service", "'" + service + "' is not a gRPC service name; expected a name without '/'");
      return null;
    }
    if (rpc != null && (rpc.isEmpty() || rpc.contains("/"))) {
      method.error("method", "'" + rpc + "' is not a gRPC method name; expected a name without '/'");
      return null;
    }
    if (rpc == null) {
      return new Policy.StringMatch(Policy.MatchType.PREFIX, "/" + service + "/");
    }
    if (service == null) {
      return new Policy.StringMatch(Policy.MatchType.REGEX, "/[^/]+/" + java.util.regex.Pattern.quote(rpc));
    }
    return new Policy.StringMatch(Policy.MatchType.EXACT, "/" + service + "/" + rpc);
  }
}
