package io.keelson.dataplane.pipeline;

import java.util.Locale;

/** How a pipeline's stages are wired. */
public enum PipelineMode {
  /** Run to completion on the publishing thread (the event loop). */
  INLINE,
  /** An LMAX Disruptor ring, one thread per stage. */
  DISRUPTOR;

  /** Parses "inline" or "disruptor" (any case), naming the accepted values when it is neither. */
  public static PipelineMode parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "pipeline mode '" + value + "' is not one of: inline, disruptor", e);
    }
  }
}
