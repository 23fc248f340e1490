package io.keelson.control.store.etcd;

/** etcd could not be reached or refused a request; the message names the endpoint(s) and the request. */
public final class EtcdException extends Exception {
  private final boolean maybeDone;

  public EtcdException(String message, Throwable cause) {
    super(message, cause);
    this.maybeDone = false;
  }

  public EtcdException(String message) {
    this(message, false);
  }

  /** @param maybeDone a request was sent but not answered in time: etcd may have carried it out */
  public EtcdException(String message, boolean maybeDone) {
    super(message);
    this.maybeDone = maybeDone;
  }

  /** True when a request went unanswered in time, so etcd may have carried it out all the same. */
  public boolean maybeDone() {
    return maybeDone;
  }
}
