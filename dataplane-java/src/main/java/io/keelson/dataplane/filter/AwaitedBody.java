package io.keelson.dataplane.filter;

/**
 * The body of a held response while the connection reads it whole for a {@link BodyCheck}: the check, once set, and
 * the bytes held, against the check's limit. Owned by one connection or stream on its event loop.
 */
public final class AwaitedBody {
  private BodyCheck check;
  private long bytes;

  /** Holds the body until the response ends, for {@code c}. */
  public void await(BodyCheck c) {
    check = c;
  }

  /** The check awaiting the whole body, or null while only the head is held. */
  public BodyCheck check() {
    return check;
  }

  public void counted(int n) {
    bytes += n;
  }

  public void cleared() {
    bytes = 0;
  }

  /** The body is awaited whole and grew over the check's limit. */
  public boolean overLimit() {
    return check != null && bytes > check.maxBytes();
  }
}
