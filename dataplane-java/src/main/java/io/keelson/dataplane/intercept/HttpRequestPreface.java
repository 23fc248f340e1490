package io.keelson.dataplane.intercept;

import io.keelson.dataplane.config.ProtocolChains;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * What the first bytes of a connection say about its application protocol, as Envoy's
 * {@code envoy.filters.listener.http_inspector} reads them: the HTTP/2 prior-knowledge preface is {@code h2c}; an
 * HTTP/1.x request line ({@code METHOD SP request-target SP HTTP/1.0|1.1 CRLF}) is {@code http/1.0} or
 * {@code http/1.1}; any byte that cannot continue either is {@linkplain #NONE none}. Reads at most
 * {@value #MAX_INSPECT_BYTES} bytes (Envoy's bound): a longer request line is none.
 *
 * <p>Incremental: {@link #scan} is given the connection's bytes so far (the same cumulation, grown at its end, never
 * consumed) and examines only those it has not seen, keeping both parsers' state between calls, so a client that sends
 * one byte at a time costs one examined byte per byte ({@link #examined}), not a rescan of all of them. Reads the buffer
 * in place without moving its indexes or allocating. One per connection, confined to its event loop.
 */
final class HttpRequestPreface {
  /** Envoy's http_inspector inspects at most this many bytes. */
  static final int MAX_INSPECT_BYTES = 8192;

  static final String HTTP10 = ProtocolChains.HTTP10;
  static final String HTTP11 = ProtocolChains.HTTP11;
  static final String H2C = ProtocolChains.H2C;
  /** The bytes cannot be HTTP: no application protocol. */
  static final String NONE = "";
  /** The bytes so far could still be HTTP: read more. */
  static final String NEED_MORE = null;

  private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] HTTP1 = "HTTP/1.".getBytes(StandardCharsets.US_ASCII);

  /** Where the HTTP/1.x request-line parser is. */
  private enum Step { METHOD, TARGET_START, TARGET, VERSION, MINOR, END, LF, DONE }

  /** Bytes of the connection examined so far (relative to the reader index, which the caller never moves). */
  private int seen;
  /** Whether every byte so far matched the HTTP/2 preface. */
  private boolean h2 = true;
  private Step step = Step.METHOD;
  /** The request-line parser's position in its step: method or target length, or index into {@code HTTP/1.}. */
  private int inStep;
  /** The request line's verdict once {@link Step#DONE}: a version or {@link #NONE}. */
  private String line;
  private byte minor;
  /** What a previous call decided, or null. */
  private String decided;

  /**
   * The protocol the readable bytes of {@code in} show: one of the constants, {@link #NEED_MORE} when they do not tell
   * yet. {@code in} must hold the bytes of the previous calls, unconsumed, followed by any new ones.
   */
  String scan(ByteBuf in) {
    if (decided != null) {
      return decided;
    }
    String found = scan0(in);
    decided = found;
    return found;
  }

  private String scan0(ByteBuf in) {
    int start = in.readerIndex();
    int n = Math.min(in.readableBytes(), MAX_INSPECT_BYTES);
    for (; seen < n; seen++) {
      byte b = in.getByte(start + seen);
      if (h2) {
        h2 = b == H2_PREFACE[seen];
        if (h2 && seen + 1 == H2_PREFACE.length) {
          seen++;
          return H2C;
        }
      }
      if (step != Step.DONE) {
        requestLine(b);
      }
      if (!h2 && step == Step.DONE) {
        seen++;
        return line;
      }
    }
    return !h2 && step == Step.DONE ? line : n >= MAX_INSPECT_BYTES ? NONE : NEED_MORE;
  }

  /** Bytes examined since this preface was created: at most one per byte of the connection. */
  int examined() {
    return seen;
  }

  /** Feeds one byte to the HTTP/1.x request-line parser. */
  private void requestLine(byte b) {
    switch (step) {
      case METHOD -> {
        if (isTokenChar(b)) {
          inStep++;
        } else if (b == ' ' && inStep > 0) {
          next(Step.TARGET_START);
        } else {
          done(NONE);
        }
      }
      case TARGET_START, TARGET -> {
        if (isTargetChar(b)) {
          step = Step.TARGET;
        } else if (b == ' ' && step == Step.TARGET) {
          next(Step.VERSION);
        } else {
          done(NONE);
        }
      }
      case VERSION -> {
        if (b != HTTP1[inStep]) {
          done(NONE);
        } else if (++inStep == HTTP1.length) {
          next(Step.MINOR);
        }
      }
      case MINOR -> {
        if (b == '0' || b == '1') {
          minor = b;
          next(Step.END);
        } else {
          done(NONE);
        }
      }
      case END -> {
        if (b == '\r') {
          next(Step.LF);
        } else {
          lineFeed(b);
        }
      }
      case LF -> lineFeed(b);
      case DONE -> { }
    }
  }

  private void lineFeed(byte b) {
    done(b != '\n' ? NONE : minor == '0' ? HTTP10 : HTTP11);
  }

  private void next(Step s) {
    step = s;
    inStep = 0;
  }

  private void done(String verdict) {
    step = Step.DONE;
    line = verdict;
  }

  /** RFC 9110 tchar: a method's characters. */
  private static boolean isTokenChar(byte b) {
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || "!#$%&'*+-.^_`|~".indexOf(b) >= 0;
  }

  /** A request-target's characters: visible ASCII (no space, no control, nothing above 0x7E). */
  private static boolean isTargetChar(byte b) {
    return b > 0x20 && b < 0x7F;
  }
}
