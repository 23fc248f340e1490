package io.keelson.dataplane.filter.grpcjson;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;

/**
 * One HTTP mapping of a gRPC method (a {@code google.api.http} rule, one of its additional_bindings, or the
 * auto_mapping {@code POST /pkg.Service/Method}): the HTTP method, the path template, the fields its variables bind,
 * and where the body goes. Immutable.
 *
 * @param httpMethod upper-case HTTP method (a custom rule's kind as written)
 * @param variableFields the field path of each template variable, in {@link PathTemplate#variables()} order
 * @param body null when the request body is not read; {@code "*"} for the whole message; else the top-level field
 * @param grpcPath {@code /pkg.Service/Method}
 */
record MethodBinding(String httpMethod, PathTemplate template, FieldDescriptor[][] variableFields, String body,
    MethodDescriptor method, String grpcPath) {

  /** How many literal segments the template has: the more, the more specific (a literal beats a variable). */
  int literals() {
    String t = template.toString();
    int n = 0;
    for (String s : t.split("/")) {
      if (!s.isEmpty() && s.indexOf('{') < 0 && s.indexOf('}') < 0 && !s.equals("*") && !s.equals("**") && s.indexOf('=') < 0) {
        n++;
      }
    }
    return n;
  }
}
