/**
 * Strict, incremental HTTP/1.1 wire codec over Netty {@code ByteBuf}s (RFC 9110/9112): request and
 * response heads, body framing (fixed length, chunked, until close), trailers, and the rejection of
 * every request-smuggling shape with a precise {@link io.keelson.dataplane.http1.codec.Http1ParseException}.
 *
 * <p>Entry points: {@link io.keelson.dataplane.http1.codec.Http1RequestParser},
 * {@link io.keelson.dataplane.http1.codec.Http1ResponseParser} and the head types
 * {@link io.keelson.dataplane.http1.codec.Http1Request}, {@link io.keelson.dataplane.http1.codec.Http1Response},
 * {@link io.keelson.dataplane.http1.codec.Http1Headers}. Everything here is single-threaded: one
 * connection's event loop owns a parser and the heads it delivers.
 */
package io.keelson.dataplane.http1.codec;
