package io.keelson.dataplane.http1.codec;

import java.nio.charset.StandardCharsets;

/** The two HTTP/1 versions Keelson speaks. Immutable. */
public enum Http1Version {
  HTTP_1_0("HTTP/1.0"),
  HTTP_1_1("HTTP/1.1");

  private final String text;
  private final byte[] bytes;

  Http1Version(String text) {
    this.text = text;
    this.bytes = text.getBytes(StandardCharsets.US_ASCII);
  }

  /** The wire form, e.g. {@code HTTP/1.1}. */
  public String text() {
    return text;
  }

  byte[] bytes() {
    return bytes;
  }

  /** The version spelled exactly (case-sensitive, RFC 9112 §2.3) at b[from, from + 8), or null. */
  static Http1Version parse(byte[] b, int from, int to) {
    if (to - from != 8
        || b[from] != 'H' || b[from + 1] != 'T' || b[from + 2] != 'T' || b[from + 3] != 'P'
        || b[from + 4] != '/' || b[from + 5] != '1' || b[from + 6] != '.') {
      return null;
    }
    return switch (b[from + 7]) {
      case '1' -> HTTP_1_1;
      case '0' -> HTTP_1_0;
      default -> null;
    };
  }

  @Override
  public String toString() {
    return text;
  }
}
