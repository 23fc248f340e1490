package io.keelson.dataplane.filter;

/**
 * Whether a header field an external server sent (ext_authz's answer, an ext_proc processor's mutation) may go on a
 * request or reply as is: a plain token name (no pseudo-header, no space or colon), a value without CR, LF or NUL,
 * so no server can smuggle a line. Stateless.
 */
public final class ServerHeaderField {
  private ServerHeaderField() {}

  public static boolean valid(String name, String value) {
    if (name.isEmpty() || name.startsWith(":")) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c <= ' ' || c == ':' || c >= 0x7f) {
        return false;
      }
    }
    return value.indexOf('\r') < 0 && value.indexOf('\n') < 0 && value.indexOf('\0') < 0;
  }

  /**
   * Whether {@code lowerName} frames the message body (Content-Length, Transfer-Encoding): no external server may set,
   * append or remove one, since the proxy forwards the body it read under the framing it parsed.
   */
  public static boolean framing(String lowerName) {
    return lowerName.equals("content-length") || lowerName.equals("transfer-encoding");
  }
}
