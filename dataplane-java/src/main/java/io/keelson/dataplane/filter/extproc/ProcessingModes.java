package io.keelson.dataplane.filter.extproc;

/**
 * Which phases an ext_proc filter sends its processor (processing_mode): request headers and response headers, each
 * SEND (or DEFAULT, which is SEND) or SKIP, and the request and response bodies, BUFFERED, STREAMED or NONE (both
 * false). Immutable.
 */
record ProcessingModes(boolean requestHeaders, boolean responseHeaders, boolean requestBody, boolean responseBody,
    boolean requestStreamed, boolean responseStreamed) {}
