package io.keelson.control.store.etcd;

/** etcd could not be reached or refused a request; the message names the endpoint(s) and the request. */
public final class EtcdException extends Exception {
  private final boolean maybeDone;
  private boolean refused;
  private boolean unauthenticated;

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

  /**
   * etcd (or its TLS handshake) answered and said no: a wrong password, a missing permission, a certificate it
   * does not accept. Waiting and asking again will not help, so start-up gives up at once.
   */
  static EtcdException refused(String message) {
    EtcdException e = new EtcdException(message);
    e.refused = true;
    return e;
  }

  /** etcd answered 401 to a call with a token: the token expired (or etcd restarted); a new one may work. */
  static EtcdException unauthenticated(String message) {
    EtcdException e = refused(message);
    e.unauthenticated = true;
    return e;
  }

  boolean unauthenticated() {
    return unauthenticated;
  }

  public boolean refused() {
    return refused;
  }

  /** True when a request went unanswered in time, so etcd may have carried it out all the same. */
  public boolean maybeDone() {
    return maybeDone;
  }
}
