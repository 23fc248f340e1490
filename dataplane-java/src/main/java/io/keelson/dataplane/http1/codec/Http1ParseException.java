package io.keelson.dataplane.http1.codec;

/**
 * Why a message was rejected, and the status to answer with (400 for malformed input, smuggling
 * shapes and limits; 501 for a transfer coding Keelson does not implement). Carries no stack trace:
 * it is created on bad input from the network, which must stay cheap. Immutable.
 */
public final class Http1ParseException extends Exception {
  private static final long serialVersionUID = 1L;

  private final int status;

  public Http1ParseException(int status, String reason) {
    super(reason, null, false, false);
    this.status = status;
  }

  static Http1ParseException badRequest(String reason) {
    return new Http1ParseException(400, reason);
  }

  /** The HTTP status to answer a downstream with (a proxy answers 502 for a broken upstream). */
  public int status() {
    return status;
  }

  /** Short human reason, e.g. "both Content-Length and Transfer-Encoding". */
  public String reason() {
    return getMessage();
  }

  @Override
  public String toString() {
    return "Http1ParseException(" + status + ": " + getMessage() + ")";
  }
}
