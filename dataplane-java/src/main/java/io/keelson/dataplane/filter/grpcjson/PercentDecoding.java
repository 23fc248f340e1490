package io.keelson.dataplane.filter.grpcjson;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Percent-decoding of the values a request binds to fields: path variables keep RFC 6570's reserved characters
 * encoded (Envoy's default url_unescape_spec, ALL_CHARACTERS_EXCEPT_RESERVED); query values are decoded whole ('+'
 * stays '+', as query_param_unescape_plus defaults to false). A '%' not followed by two hex digits stays as it is.
 * Stateless.
 */
final class PercentDecoding {
  private static final String RESERVED = ":/?#[]@!$&'()*+,;=";

  private PercentDecoding() {}

  static String exceptReserved(String s) {
    return decode(s, true);
  }

  static String all(String s) {
    return decode(s, false);
  }

  private static String decode(String s, boolean keepReserved) {
    if (s.indexOf('%') < 0) {
      return s;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
    byte[] in = s.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < in.length; i++) {
      int hi = i + 2 < in.length && in[i] == '%' ? Character.digit(in[i + 1], 16) : -1;
      int lo = hi < 0 ? -1 : Character.digit(in[i + 2], 16);
      if (lo < 0) {
        out.write(in[i]);
        continue;
      }
      int b = (hi << 4) | lo;
      if (keepReserved && RESERVED.indexOf(b) >= 0) {
        out.write(in[i]);
        continue;
      }
      out.write(b);
      i += 2;
    }
    return out.toString(StandardCharsets.UTF_8);
  }
}
