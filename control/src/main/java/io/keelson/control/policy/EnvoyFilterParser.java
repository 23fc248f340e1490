package io.keelson.control.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.control.policy.Policy.EnvoyFilterPatch;
import io.keelson.control.policy.Policy.EnvoyFilterPatch.ApplyTo;
import io.keelson.control.policy.Policy.EnvoyFilterPatch.Context;
import io.keelson.control.policy.Policy.EnvoyFilterPatch.Operation;
import io.keelson.dataplane.config.envoy.XdsSnapshotTranslator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Parses Istio's {@code EnvoyFilter} (networking.istio.io/v1alpha3): the subset Keelson applies (see
 * docs/control-plane.md). Each patch value is read as Envoy JSON into its target proto with the data plane's type
 * registry and checked against the fields the data plane runs, so a value every proxy would NACK is refused here,
 * naming the field. Stateless and thread-safe.
 */
final class EnvoyFilterParser {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What each applyTo accepts (Istio's operations for it that Keelson applies). */
  private static final Map<ApplyTo, Set<Operation>> OPERATIONS = Map.of(
      ApplyTo.LISTENER, EnumSet.of(Operation.MERGE),
      ApplyTo.NETWORK_FILTER, EnumSet.of(Operation.MERGE, Operation.ADD, Operation.REMOVE, Operation.INSERT_BEFORE,
          Operation.INSERT_AFTER, Operation.INSERT_FIRST, Operation.REPLACE),
      ApplyTo.HTTP_FILTER, EnumSet.of(Operation.MERGE, Operation.ADD, Operation.REMOVE, Operation.INSERT_BEFORE,
          Operation.INSERT_AFTER, Operation.INSERT_FIRST, Operation.REPLACE),
      ApplyTo.CLUSTER, EnumSet.of(Operation.MERGE, Operation.ADD, Operation.REMOVE),
      ApplyTo.ROUTE_CONFIGURATION, EnumSet.of(Operation.MERGE),
      ApplyTo.VIRTUAL_HOST, EnumSet.of(Operation.MERGE, Operation.ADD, Operation.REMOVE),
      ApplyTo.HTTP_ROUTE, EnumSet.of(Operation.MERGE, Operation.REMOVE));

  /** Istio's applyTo values Keelson does not apply, with what to do instead. */
  private static final Map<String, String> UNSUPPORTED_APPLY_TO = Map.of(
      "FILTER_CHAIN", "FILTER_CHAIN patches are not supported; patch its filters (NETWORK_FILTER, HTTP_FILTER)",
      "LISTENER_FILTER", "LISTENER_FILTER patches are not supported",
      "EXTENSION_CONFIG", "EXTENSION_CONFIG (ECDS) is not supported; put the filter's config in an HTTP_FILTER patch",
      "BOOTSTRAP", "BOOTSTRAP patches are not supported: Keelson proxies are not configured by istiod's bootstrap",
      "CLUSTER_ENDPOINT", "CLUSTER_ENDPOINT patches are not supported; register endpoints with a ServiceEntry",
      "WASM_PLUGIN", "Wasm is not supported by Keelson's data plane");

  private EnvoyFilterParser() {}

  static Policy envoyFilter(Policy.Meta meta, String namespace, Fields spec) {
    spec.allow(Set.of("workloadSelector", "configPatches", "priority"), Map.of(
        "targetRefs", "targetRefs is not supported; select proxies with workloadSelector.labels"));
    Map<String, String> selector = Map.of();
    Fields ws = spec.object("workloadSelector", false);
    if (ws != null) {
      ws.allow("labels");
      selector = ws.stringMap("labels");
    }
    Integer priority = spec.integer("priority", Integer.MIN_VALUE, Integer.MAX_VALUE, 0);
    List<EnvoyFilterPatch> patches = new ArrayList<>();
    List<Fields> items = spec.objects("configPatches", true);
    for (Fields p : items) {
      EnvoyFilterPatch patch = patch(p);
      if (patch != null) {
        patches.add(patch);
      }
    }
    return new Policy.EnvoyFilter(meta, namespace, selector, priority == null ? 0 : priority, patches);
  }

  private static EnvoyFilterPatch patch(Fields p) {
    p.allow("applyTo", "match", "patch");
    ApplyTo applyTo = applyTo(p);
    Fields match = p.object("match", false);
    Context context = Context.ANY;
    EnvoyFilterPatch.ListenerMatch listener = EnvoyFilterPatch.ListenerMatch.ANY;
    EnvoyFilterPatch.RouteMatch route = EnvoyFilterPatch.RouteMatch.ANY;
    EnvoyFilterPatch.ClusterMatch cluster = EnvoyFilterPatch.ClusterMatch.ANY;
    if (match != null) {
      match.allow(Set.of("context", "listener", "routeConfiguration", "cluster"), Map.of(
          "proxy", "match.proxy (proxyVersion, metadata) is not supported: Keelson proxies report no Istio version;"
              + " remove it"));
      context = enumValue(match, "context", Context.class, Context.ANY);
      int objects = (match.has("listener") ? 1 : 0) + (match.has("routeConfiguration") ? 1 : 0)
          + (match.has("cluster") ? 1 : 0);
      if (objects > 1) {
        match.error("", "set at most one of listener, routeConfiguration and cluster");
      }
      listener = listenerMatch(match.object("listener", false));
      route = routeMatch(match.object("routeConfiguration", false));
      cluster = clusterMatch(match.object("cluster", false));
      if (applyTo != null) {
        boolean routeKind = applyTo == ApplyTo.ROUTE_CONFIGURATION || applyTo == ApplyTo.VIRTUAL_HOST
            || applyTo == ApplyTo.HTTP_ROUTE;
        if (match.has("listener") && (routeKind || applyTo == ApplyTo.CLUSTER)) {
          match.error("listener", "applyTo " + applyTo + " takes match.routeConfiguration or match.cluster, not listener");
        }
        if (match.has("routeConfiguration") && !routeKind) {
          match.error("routeConfiguration", "applyTo " + applyTo + " does not take match.routeConfiguration");
        }
        if (match.has("cluster") && applyTo != ApplyTo.CLUSTER) {
          match.error("cluster", "applyTo " + applyTo + " does not take match.cluster");
        }
      }
    }
    Fields patch = p.object("patch", true);
    if (applyTo == null || patch == null) {
      return null;
    }
    patch.allow(Set.of("operation", "value"), Map.of("filterClass",
        "filterClass is not supported; place the filter with INSERT_BEFORE/INSERT_AFTER and match.listener.filterChain"
            + ".filter.subFilter.name"));
    Operation op = enumValue(patch, "operation", Operation.class, null);
    if (op == null) {
      if (!patch.has("operation")) {
        patch.error("operation", "is required; expected one of " + names(OPERATIONS.get(applyTo)));
      }
      return null;
    }
    if (!OPERATIONS.get(applyTo).contains(op)) {
      patch.error("operation", op + " is not supported for applyTo " + applyTo + "; expected one of "
          + names(OPERATIONS.get(applyTo)));
      return null;
    }
    boolean relative = op == Operation.INSERT_BEFORE || op == Operation.INSERT_AFTER || op == Operation.REPLACE;
    if (relative && (applyTo == ApplyTo.HTTP_FILTER ? listener.subFilter() : listener.filter()) == null) {
      p.error(applyTo == ApplyTo.HTTP_FILTER ? "match.listener.filterChain.filter.subFilter.name"
          : "match.listener.filterChain.filter.name", "is required for " + op + " (the filter to place it against)");
    }
    Message value = null;
    if (op != Operation.REMOVE) {
      value = value(patch, applyTo, op);
      if (value == null) {
        return null;
      }
    } else if (patch.has("value")) {
      patch.error("value", "REMOVE takes no value");
    }
    return new EnvoyFilterPatch(p.path, applyTo, context, listener, route, cluster, op, value);
  }

  private static ApplyTo applyTo(Fields p) {
    String s = p.string("applyTo", true);
    if (s == null) {
      return null;
    }
    String why = UNSUPPORTED_APPLY_TO.get(s);
    if (why != null) {
      p.error("applyTo", why);
      return null;
    }
    try {
      return ApplyTo.valueOf(s);
    } catch (IllegalArgumentException e) {
      p.error("applyTo", "'" + s + "' is not an applyTo; expected one of " + names(EnumSet.allOf(ApplyTo.class)));
      return null;
    }
  }

  private static <E extends Enum<E>> E enumValue(Fields f, String field, Class<E> type, E fallback) {
    String s = f.string(field, false);
    if (s == null) {
      return fallback;
    }
    try {
      return Enum.valueOf(type, s);
    } catch (IllegalArgumentException e) {
      f.error(field, "'" + s + "' is not supported; expected one of " + names(EnumSet.allOf(type)));
      return null;
    }
  }

  private static String names(Set<? extends Enum<?>> values) {
    return values.stream().map(Enum::name).collect(Collectors.joining(", "));
  }

  private static EnvoyFilterPatch.ListenerMatch listenerMatch(Fields l) {
    if (l == null) {
      return EnvoyFilterPatch.ListenerMatch.ANY;
    }
    l.allow(Set.of("portNumber", "name", "filterChain"), Map.of(
        "portName", "listener.portName is deprecated in Istio and not supported; use portNumber",
        "listenerFilter", "listener.listenerFilter is not supported"));
    int port = l.integer("portNumber", 1, 65535, 0) instanceof Integer n ? n : 0;
    String name = l.string("name", false);
    String chain = null;
    String filter = null;
    String subFilter = null;
    Fields fc = l.object("filterChain", false);
    if (fc != null) {
      fc.allow(Set.of("name", "filter"), Map.of(
          "sni", "filterChain.sni is not supported", "transportProtocol", "filterChain.transportProtocol is not supported",
          "applicationProtocols", "filterChain.applicationProtocols is not supported",
          "destinationPort", "filterChain.destinationPort is not supported; use listener.portNumber"));
      chain = fc.string("name", false);
      Fields f = fc.object("filter", false);
      if (f != null) {
        f.allow("name", "subFilter");
        filter = f.string("name", false);
        Fields sub = f.object("subFilter", false);
        if (sub != null) {
          sub.allow("name");
          subFilter = sub.string("name", false);
        }
      }
    }
    return new EnvoyFilterPatch.ListenerMatch(port, name, chain, filter, subFilter);
  }

  private static EnvoyFilterPatch.RouteMatch routeMatch(Fields r) {
    if (r == null) {
      return EnvoyFilterPatch.RouteMatch.ANY;
    }
    r.allow(Set.of("portNumber", "name", "vhost"), Map.of(
        "portName", "routeConfiguration.portName is not supported; use portNumber",
        "gateway", "routeConfiguration.gateway is not supported; select the gateway with workloadSelector"));
    int port = r.integer("portNumber", 1, 65535, 0) instanceof Integer n ? n : 0;
    String name = r.string("name", false);
    String vhost = null;
    String routeName = null;
    String action = null;
    Fields vh = r.object("vhost", false);
    if (vh != null) {
      vh.allow("name", "route");
      vhost = vh.string("name", false);
      Fields route = vh.object("route", false);
      if (route != null) {
        route.allow("name", "action");
        routeName = route.string("name", false);
        action = route.string("action", false);
        if (action != null && !Set.of("ANY", "ROUTE", "REDIRECT", "DIRECT_RESPONSE").contains(action)) {
          route.error("action", "'" + action + "' is not supported; expected one of ANY, ROUTE, REDIRECT, DIRECT_RESPONSE");
        }
      }
    }
    // Istio's vhost name "" means any (its recipe writes name: "")
    return new EnvoyFilterPatch.RouteMatch(port, name, vhost == null || vhost.isEmpty() ? null : vhost,
        routeName == null || routeName.isEmpty() ? null : routeName, action);
  }

  private static EnvoyFilterPatch.ClusterMatch clusterMatch(Fields c) {
    if (c == null) {
      return EnvoyFilterPatch.ClusterMatch.ANY;
    }
    c.allow("service", "portNumber", "subset", "name");
    // Kept whole: a ServiceEntry host (api.example.com) is its cluster's host; NAME.NS.svc.cluster.local is resolved
    // against registry Services when patches apply (EnvoyFilterPatches.registryService).
    String service = c.string("service", false);
    return new EnvoyFilterPatch.ClusterMatch(service, c.integer("portNumber", 1, 65535, 0) instanceof Integer n ? n : 0, c.string("subset", false),
        c.string("name", false));
  }

  /** The target proto of each applyTo. */
  private static Message.Builder builder(ApplyTo applyTo) {
    return switch (applyTo) {
      case LISTENER -> Listener.newBuilder();
      case NETWORK_FILTER -> Filter.newBuilder();
      case HTTP_FILTER -> HttpFilter.newBuilder();
      case CLUSTER -> Cluster.newBuilder();
      case ROUTE_CONFIGURATION -> RouteConfiguration.newBuilder();
      case VIRTUAL_HOST -> VirtualHost.newBuilder();
      case HTTP_ROUTE -> Route.newBuilder();
    };
  }

  /** {@code patch.value} as applyTo's proto, checked as the data plane checks it; null after reporting. */
  private static Message value(Fields patch, ApplyTo applyTo, Operation op) {
    JsonNode raw = patch.raw("value");
    if (raw == null) {
      patch.error("value", "is required for " + op);
      return null;
    }
    if (!raw.isObject()) {
      patch.error("value", "expected a mapping (Envoy " + builder(applyTo).getDescriptorForType().getName()
          + " as JSON/YAML)");
      return null;
    }
    Message.Builder b = builder(applyTo);
    String type = b.getDescriptorForType().getFullName();
    try {
      JsonFormat.parser().usingTypeRegistry(XdsSnapshotTranslator.typeRegistry()).merge(JSON.writeValueAsString(raw), b);
    } catch (InvalidProtocolBufferException | JsonProcessingException | RuntimeException e) {
      String msg = e.getMessage() == null ? e.toString() : e.getMessage();
      if (msg.startsWith("Cannot find type for url")) {
        msg += " (Keelson's data plane runs only " + String.join(", ", registered()) + ")";
      }
      patch.error("value", "is not a valid " + type + ": " + msg);
      return null;
    }
    Message value = b.build();
    boolean named = op == Operation.ADD || op == Operation.INSERT_BEFORE || op == Operation.INSERT_AFTER
        || op == Operation.INSERT_FIRST || op == Operation.REPLACE;
    if (named && Set.of(ApplyTo.HTTP_FILTER, ApplyTo.NETWORK_FILTER, ApplyTo.CLUSTER, ApplyTo.VIRTUAL_HOST)
        .contains(applyTo) && ((String) value.getField(value.getDescriptorForType().findFieldByName("name"))).isEmpty()) {
      patch.error("value.name", "is required for " + op + " of a " + applyTo);
    }
    for (String problem : XdsSnapshotTranslator.checkFields(value, "value")) {
      // "xds: HttpFilter[value].typed_config.x: why" -> "value.typed_config.x: why"
      String p = problem.replaceFirst("^" + XdsSnapshotTranslator.SOURCE + ": \\w+\\[value\\]", "value");
      patch.error("value", "Keelson's data plane would refuse this patch: " + p);
    }
    return value;
  }

  private static List<String> registered() {
    return Arrays.asList("envoy.extensions.filters.http.ratelimit.v3.RateLimit",
        "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit", "the HTTP fault, cors, rbac, jwt_authn,"
            + " ext_authz, ext_proc, grpc_web and router filters", "network rbac, ext_authz, tcp_proxy, http_connection_manager");
  }
}
