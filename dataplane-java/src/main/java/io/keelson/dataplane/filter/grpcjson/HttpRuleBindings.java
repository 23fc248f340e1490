package io.keelson.dataplane.filter.grpcjson;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.keelson.dataplane.filter.ConfigErrors;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The HTTP mappings of the configured services' methods: each {@code google.api.http} rule and its
 * additional_bindings, and with auto_mapping {@code POST /pkg.Service/Method} (body {@code *}) for a method without
 * a rule, as Envoy maps them. A rule Keelson cannot serve (response_body, a body or variable naming no field) is a
 * config error naming the method. Ordered most specific first (more literal segments), so the first match wins as a
 * literal beats a variable in Envoy's path matcher. Stateless.
 */
final class HttpRuleBindings {
  private HttpRuleBindings() {}

  /** The bindings, or null after reporting errors under {@code path}. */
  static List<MethodBinding> of(List<FileDescriptor> files, List<String> services, boolean autoMapping, String path,
      ConfigErrors errors) {
    List<MethodBinding> out = new ArrayList<>();
    boolean ok = true;
    for (int i = 0; i < services.size(); i++) {
      ServiceDescriptor service = find(files, services.get(i));
      if (service == null) {
        errors.error(path + ".services[" + i + "]", "service '" + services.get(i) + "' is not in the proto descriptor set");
        ok = false;
        continue;
      }
      for (MethodDescriptor m : service.getMethods()) {
        String where = path + ".services[" + i + "] method " + m.getFullName();
        if (m.getOptions().hasExtension(AnnotationsProto.http)) {
          HttpRule rule = m.getOptions().getExtension(AnnotationsProto.http);
          ok &= add(rule, m, where, out, errors);
          for (HttpRule extra : rule.getAdditionalBindingsList()) {
            ok &= add(extra, m, where + " additional_bindings", out, errors);
          }
        } else if (autoMapping) {
          String grpcPath = grpcPath(m);
          out.add(new MethodBinding("POST", PathTemplate.parse(grpcPath), new FieldDescriptor[0][], "*", m, grpcPath));
        }
      }
    }
    out.sort(Comparator.comparingInt(MethodBinding::literals).reversed());
    return ok ? List.copyOf(out) : null;
  }

  static String grpcPath(MethodDescriptor m) {
    return "/" + m.getService().getFullName() + "/" + m.getName();
  }

  private static ServiceDescriptor find(List<FileDescriptor> files, String name) {
    for (FileDescriptor f : files) {
      for (ServiceDescriptor s : f.getServices()) {
        if (s.getFullName().equals(name)) {
          return s;
        }
      }
    }
    return null;
  }

  private static boolean add(HttpRule rule, MethodDescriptor m, String where, List<MethodBinding> out, ConfigErrors errors) {
    String method;
    String template;
    switch (rule.getPatternCase()) {
      case GET -> { method = "GET"; template = rule.getGet(); }
      case PUT -> { method = "PUT"; template = rule.getPut(); }
      case POST -> { method = "POST"; template = rule.getPost(); }
      case DELETE -> { method = "DELETE"; template = rule.getDelete(); }
      case PATCH -> { method = "PATCH"; template = rule.getPatch(); }
      case CUSTOM -> { method = rule.getCustom().getKind(); template = rule.getCustom().getPath(); }
      default -> {
        errors.error(where, "its google.api.http rule has no pattern (get, put, post, delete, patch or custom)");
        return false;
      }
    }
    if (!rule.getResponseBody().isEmpty()) {
      errors.error(where, "google.api.http response_body is not supported by Keelson's gRPC-JSON transcoder");
      return false;
    }
    PathTemplate t;
    try {
      t = PathTemplate.parse(template);
    } catch (IllegalArgumentException e) {
      errors.error(where, e.getMessage());
      return false;
    }
    PathTemplate.Variable[] vars = t.variables();
    FieldDescriptor[][] fields = new FieldDescriptor[vars.length][];
    for (int v = 0; v < vars.length; v++) {
      fields[v] = FieldPaths.resolve(m.getInputType(), vars[v].fieldPath());
      if (fields[v] == null) {
        errors.error(where, "path variable '" + vars[v].fieldPath() + "' names no primitive field of " + m.getInputType().getFullName());
        return false;
      }
    }
    String body = rule.getBody().isEmpty() ? null : rule.getBody();
    if (body != null && !body.equals("*") && m.getInputType().findFieldByName(body) == null) {
      errors.error(where, "body '" + body + "' names no field of " + m.getInputType().getFullName());
      return false;
    }
    out.add(new MethodBinding(method, t, fields, body, m, grpcPath(m)));
    return true;
  }
}
