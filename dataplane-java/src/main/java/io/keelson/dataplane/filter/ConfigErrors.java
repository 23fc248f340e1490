package io.keelson.dataplane.filter;

/** Where a filter factory reports bad config, by field path. Not thread-safe (one translation). */
public interface ConfigErrors {
  void error(String path, String message);

  void warn(String path, String message);
}
