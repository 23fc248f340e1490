package io.keelson.dataplane.filter;

import io.keelson.dataplane.edge.HeaderAccess;

/**
 * A filter's choice to transform the request body on its way upstream (Envoy's compressor and decompressor decoder
 * halves): on the forwarded request's head, when a body follows, it decides whether the body is transformed, rewrites
 * the headers (content-encoding, content-length) and returns the per-exchange body stage. Immutable and thread-safe.
 */
public interface RequestCoding {
  /** Rewrites {@code headers} and returns the body stage when the request body is transformed, else null (counted). */
  <H> BodyStage onRequestHead(HeaderAccess<H> access, H headers);
}
