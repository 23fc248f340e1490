package io.keelson.dataplane.accesslog;

import java.util.ArrayList;
import java.util.List;

/**
 * What one logger's formats and filters read beyond the record's fixed fields, gathered while they compile: the request
 * and response header names the event loop copies (in slot order) and whether it notes the gRPC status. Used by one
 * thread while a logger is built.
 */
final class LogFields {
  final List<String> requestHeaders;
  final List<String> responseHeaders;
  boolean grpcStatus;

  LogFields(List<String> requestHeaders, List<String> responseHeaders) {
    this.requestHeaders = requestHeaders;
    this.responseHeaders = responseHeaders;
  }

  LogFields() {
    this(new ArrayList<>(), new ArrayList<>());
  }
}
