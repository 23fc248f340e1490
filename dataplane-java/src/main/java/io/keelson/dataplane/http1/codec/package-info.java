/**
 * Strict, incremental HTTP/1.1 wire codec over Netty {@code ByteBuf}s (RFC 9110/9112): request and
 * response heads, body framing (fixed length, chunked, until close), trailers, and the rejection of
 * every request-smuggling shape with a precise {@link io.keelson.dataplane.http1.codec.Http1ParseException}.
 * Everything here is single-threaded: one connection's event loop owns a parser and the heads it
 * delivers.
 *
 * <h2>Use</h2>
 * {@code new Http1RequestParser(listener, limits)}; {@code feed(buf)} for every socket read (the
 * parser takes ownership of the buffer); the listener gets {@code onHead}, {@code onBody} (retained
 * slices, the listener releases them), {@code onComplete(trailers)}, or {@code onError}. After
 * {@code onComplete} the parser pauses until {@code resume()} (pipelined requests wait in its
 * buffer). {@code pause()} / {@code resume()} at any time for backpressure; while paused no callback
 * is made. {@code switchToRaw()} after an Upgrade / CONNECT head turns the rest of the stream into
 * {@code onBody} calls. {@code Http1ResponseParser} is the same plus {@code expectResponseTo(method)}
 * before each exchange and {@code onInputClosed()} to end a read-until-close body.
 *
 * <h2>Object reuse</h2>
 * A parser owns one head object ({@code Http1Request} / {@code Http1Response}) and one trailer list
 * and overwrites them for the next message. They stay valid and unchanged from {@code onHead} until
 * the listener calls {@code resume()} after that message's {@code onComplete} (the next head is
 * only parsed then). A listener that must keep one longer calls {@code copy()}. The listener may
 * mutate the head (headers, {@code setPath}) before encoding it for the other side.
 *
 * <h2>Decisions where the RFC leaves a choice</h2>
 * <ul>
 *   <li>Duplicate Content-Length fields (or a list {@code 5, 5}) with one identical value are merged
 *       into one field, as RFC 9110 §8.6 allows; different values are rejected.</li>
 *   <li>Only the {@code chunked} transfer coding is implemented: another coding before it is 501,
 *       chunked not last (or absent) is 400 — for responses too (no read-until-close fallback).</li>
 *   <li>Empty lines before a request line are ignored (RFC 9112 §2.2); they count against the
 *       request-line limit.</li>
 *   <li>An absolute-form target ({@code GET http://h/p}) replaces the Host header with its authority
 *       (RFC 9112 §3.2.2) and is encoded upstream in origin-form.</li>
 *   <li>Request targets may hold only VCHAR except {@code #}; header values may hold obs-text
 *       (bytes 0x80-0xFF, kept as Latin-1 chars); Host may hold only host[:port] characters.</li>
 *   <li>A status line without a reason phrase ({@code HTTP/1.1 200}) is accepted; status codes
 *       must be 100-599.</li>
 *   <li>Request-line and header-block limits are answered with 400 (not 414/431), as Keelson's
 *       issue 2 asks; a chunk-size line is limited to 4 KiB.</li>
 * </ul>
 */
package io.keelson.dataplane.http1.codec;
