package io.keelson.control.ca;

/** The CA refused a request or a configuration; the message says why, for an operator or a proxy. */
public final class CaException extends Exception {
  public CaException(String message) {
    super(message);
  }

  public CaException(String message, Throwable cause) {
    super(message, cause);
  }
}
