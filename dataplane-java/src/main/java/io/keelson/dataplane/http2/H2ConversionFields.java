package io.keelson.dataplane.http2;

/**
 * The header fields Netty's HTTP/2-to-HTTP/1 conversion adds to a request the client never sent as fields: its
 * {@code x-http2-*} extension fields (scheme, stream id), {@code host} (from {@code :authority}, which a check is given
 * on its own) and {@code transfer-encoding: chunked} (a body without content-length follows). An external check
 * (ext_authz, ext_proc) sees the request without them, as Envoy's HTTP/2 codec never makes them. Stateless.
 */
final class H2ConversionFields {
  private static final String EXTENSION_PREFIX = "x-http2-"; // HttpConversionUtil.ExtensionHeaderNames

  private H2ConversionFields() {}

  /** Whether {@code name} (any case) is one the conversion added. */
  static boolean added(String name) {
    return name.regionMatches(true, 0, EXTENSION_PREFIX, 0, EXTENSION_PREFIX.length())
        || name.equalsIgnoreCase("host") || name.equalsIgnoreCase("transfer-encoding");
  }
}
