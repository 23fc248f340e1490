package io.keelson.dataplane.accesslog;

import io.keelson.dataplane.config.AccessLogConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The access logs of one HTTP connection manager: their compiled formats and outputs, and the header
 * names the event loop must copy for them. Immutable and thread-safe.
 */
public final class AccessLogger {
  final List<AccessLogFormat> formats = new ArrayList<>();
  /** Output of each format: a file path, or null for standard output. */
  final List<String> paths = new ArrayList<>();
  /** Each format's filter; null where every entry is written. */
  final List<AccessLogFilter> filters = new ArrayList<>();
  private final boolean grpcStatus;
  private final String[] requestHeaders;
  private final String[] responseHeaders;
  final AccessLogService service;
  private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();

  AccessLogger(List<AccessLogConfig> configs, AccessLogService service) {
    this.service = service;
    LogFields fields = new LogFields();
    for (AccessLogConfig c : configs) {
      formats.add(AccessLogFormat.compile(c, fields.requestHeaders, fields.responseHeaders));
      filters.add(AccessLogFilters.compile(c.filter(), fields));
      paths.add(c.path());
    }
    this.requestHeaders = fields.requestHeaders.toArray(String[]::new);
    this.responseHeaders = fields.responseHeaders.toArray(String[]::new);
    this.grpcStatus = fields.grpcStatus;
  }

  /** The distinct file paths this logger writes to (standard output is not one). */
  java.util.Set<String> files() {
    java.util.Set<String> out = new java.util.LinkedHashSet<>();
    for (String p : paths) {
      if (p != null) {
        out.add(p);
      }
    }
    return out;
  }

  /**
   * This logger's config is no longer in service (replaced or removed): its files are closed once no live logger names
   * them, after the lines already logged. Lines logged after this (a connection still on the old config) are still
   * written, each batch reopening and closing the file. Idempotent; thread-safe.
   */
  public void release() {
    if (released.compareAndSet(false, true)) {
      service.release(this);
    }
  }

  /** Whether the event loop notes the response's grpc-status ({@link AccessLogRecord#grpcStatus}) for a filter. */
  public boolean readsGrpcStatus() {
    return grpcStatus;
  }

  /** Lower-case request header names to copy (":method", ":path", ":authority" and ":scheme" included). */
  public String[] requestHeaders() {
    return requestHeaders;
  }

  /** Lower-case response header names to copy. */
  public String[] responseHeaders() {
    return responseHeaders;
  }

  /**
   * Claims a ring slot for one record, or returns null when the ring is full (the record is dropped
   * and counted). The caller fills it and must then call {@link #publish}.
   */
  public AccessLogRecord claim() {
    return service.claim(this);
  }

  public void publish(AccessLogRecord r) {
    service.publish(r);
  }
}
