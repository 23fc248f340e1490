package io.keelson.dataplane.accesslog;

/**
 * A compiled access log {@code filter}: whether one finished request or connection is written. Built once per logger
 * from its {@link io.keelson.dataplane.config.AccessLogFilterConfig}; {@link #test} runs on the access-log writer
 * thread and allocates nothing for the common forms. Immutable and thread-safe.
 */
@FunctionalInterface
public interface AccessLogFilter {
  boolean test(AccessLogRecord r);
}
