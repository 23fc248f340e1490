package io.keelson.dataplane.filter.extproc;

/**
 * Which phases an ext_proc filter sends its processor (processing_mode): request headers and response headers, each
 * SEND (or DEFAULT, which is SEND) or SKIP, the request and response bodies, BUFFERED, STREAMED or NONE (both
 * false), and the request and response trailers, SEND or SKIP (DEFAULT is SKIP for trailers). Immutable.
 */
record ProcessingModes(boolean requestHeaders, boolean responseHeaders, boolean requestBody, boolean responseBody,
    boolean requestStreamed, boolean responseStreamed, boolean requestTrailers, boolean responseTrailers) {

  /** Whether any phase is sent at all. */
  boolean any() {
    return requestHeaders || responseHeaders || requestBody || responseBody || requestStreamed || responseStreamed
        || requestTrailers || responseTrailers;
  }
}
