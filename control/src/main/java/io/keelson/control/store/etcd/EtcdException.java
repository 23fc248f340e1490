package io.keelson.control.store.etcd;

/** etcd could not be reached or refused a request; the message names the endpoint(s) and the request. */
public final class EtcdException extends Exception {
  public EtcdException(String message, Throwable cause) {
    super(message, cause);
  }

  public EtcdException(String message) {
    super(message);
  }
}
