package io.keelson.dataplane.filter.grpcjson;

import com.google.protobuf.Descriptors.FieldDescriptor;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.stats.ResponseFlag;
import java.util.ArrayList;
import java.util.List;

/**
 * Envoy's gRPC-JSON transcoder, request side: a request that is not already gRPC and whose method and path match a
 * binding ({@link HttpRuleBindings}), with every query parameter naming a bindable field (or ignored), is marked for
 * transcoding ({@link FilterContext#transcode}), or answered 400 when a bound value does not fit its field; the
 * filters after it and, unless match_incoming_request_route, the route chosen again see
 * {@code POST /pkg.Service/Method}. The body is read whole (bounded: else 413) and turned into
 * the protobuf message before routing ({@link RequestBodyCheck}: a bad body is 400), which the upstream stream's
 * {@link GrpcJsonUpstreamCodec} sends. Other requests pass untouched, or get 404
 * (reject_unknown_method) or 400 (reject_unknown_query_parameters) as Envoy answers them. Immutable; thread-safe.
 */
final class GrpcJsonFilter implements HttpFilter {
  private final TranscoderSettings settings;

  GrpcJsonFilter(TranscoderSettings settings) {
    this.settings = settings;
  }

  @Override
  public void onRequest(FilterContext context) {
    RequestHead head = context.head;
    String ct = head.header("content-type");
    if (head.path() == null || (ct != null && ct.regionMatches(true, 0, "application/grpc", 0, 16))) {
      return;
    }
    MethodBinding binding = null;
    String[] pathValues = null;
    for (MethodBinding b : settings.bindings()) {
      if (b.httpMethod().equals(head.method()) && (pathValues = b.template().match(head.path())) != null) {
        binding = b;
        break;
      }
    }
    if (binding == null) {
      if (settings.rejectUnknownMethod()) {
        context.localReply(404, "Could not resolve " + head.path() + " to a method.", null, ResponseFlag.NONE);
      }
      return;
    }
    List<FieldDescriptor[]> fields = new ArrayList<>(List.of(binding.variableFields()));
    List<String> values = new ArrayList<>(List.of(pathValues));
    String unknown = bindQuery(head.query(), binding, fields, values);
    if (unknown != null) {
      if (settings.rejectUnknownQueryParameters()) {
        context.localReply(400, "Could not find field \"" + unknown + "\" in the type \""
            + binding.method().getInputType().getFullName() + "\".", null, ResponseFlag.NONE);
      }
      return; // Envoy does not transcode a request with a query parameter it cannot bind
    }
    com.google.protobuf.DynamicMessage bound;
    try {
      bound = RequestMessages.bound(binding, fields.toArray(new FieldDescriptor[0][]), values.toArray(new String[0]));
    } catch (IllegalArgumentException e) {
      context.localReply(400, e.getMessage(), null, ResponseFlag.NONE);
      return;
    }
    String original = head.query() == null ? head.path() : head.path() + "?" + head.query();
    TranscodedCall call = new TranscodedCall(settings, binding, bound, original);
    context.transcode(call);
    context.head = new TranscodedHead(head, binding.grpcPath());
    long limit = context.bufferLimit();
    context.bufferBody(limit > 0 ? Math.min(limit, settings.maxBodyBytes()) : settings.maxBodyBytes());
    // One body check per request: an earlier filter's (ext_proc before the transcoder) keeps its place and the
    // codec then makes the message from the body that check leaves.
    io.keelson.dataplane.filter.BodyCheck earlier = context.takeRequestBodyCheck();
    context.checkRequestBody(earlier != null || binding.body() == null ? earlier : new RequestBodyCheck(call));
    if (!settings.matchIncomingRequestRoute()) {
      context.clearRouteCache();
    }
  }

  /** Adds each query parameter's field and value; returns the first parameter that names no bindable field, else null. */
  private String bindQuery(String query, MethodBinding binding, List<FieldDescriptor[]> fields, List<String> values) {
    if (query == null || query.isEmpty()) {
      return null;
    }
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = PercentDecoding.all(eq < 0 ? pair : pair.substring(0, eq));
      if (settings.ignoredQueryParameters().contains(name)) {
        continue;
      }
      FieldDescriptor[] path = FieldPaths.resolve(binding.method().getInputType(), name);
      if (path == null) {
        if (settings.ignoreUnknownQueryParameters()) {
          continue;
        }
        return name;
      }
      fields.add(path);
      values.add(eq < 0 ? "" : PercentDecoding.all(pair.substring(eq + 1)));
    }
    return null;
  }
}
