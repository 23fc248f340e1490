package io.keelson.dataplane.filter;

import io.keelson.dataplane.edge.HeaderAccess;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The body stages one request or response goes through: a request's chosen on its head from the filters'
 * {@link RequestCoding}s in filter order, a response's from their {@link ResponseCoding}s in reverse filter order
 * (Envoy runs encoder filters last to first). Created only for a body some coding transforms. One per exchange and
 * direction; confined to its connection's event loop.
 */
public final class CodedBody {
  private final BodyStage[] stages;
  private final int count;

  private CodedBody(BodyStage[] stages, int count) {
    this.stages = stages;
    this.count = count;
  }

  /** The forwarded request's header changes of every coding, in filter order. */
  public static <H> void onForwardedRequest(FilterContext policy, HeaderAccess<H> access, H headers) {
    for (int i = 0; i < policy.responseCodings(); i++) {
      policy.responseCoding(i).onForwardedRequest(access, headers);
    }
  }

  /**
   * Decides on the forwarded request's head (before the router's header changes) when a body follows; null when no
   * coding transforms it (the common case: nothing allocated).
   */
  public static <H> CodedBody request(FilterContext policy, HeaderAccess<H> access, H headers) {
    BodyStage[] stages = null;
    int count = 0;
    for (int i = 0, n = policy.requestCodings(); i < n; i++) {
      BodyStage s = policy.requestCoding(i).onRequestHead(access, headers);
      if (s != null) {
        if (stages == null) {
          stages = new BodyStage[n - i];
        }
        stages[count++] = s;
      }
    }
    return stages == null ? null : new CodedBody(stages, count);
  }

  /**
   * Decides on a final response head with a body to come (not a HEAD request's, not 1xx/204/304, not ended by its
   * headers); null when no coding transforms it (the common case: nothing allocated).
   */
  public static <H> CodedBody start(FilterContext policy, HeaderAccess<H> access, H headers, int status) {
    int n = policy.responseCodings();
    if (n == 0) {
      return null;
    }
    BodyStage[] stages = null;
    int count = 0;
    for (int i = n - 1; i >= 0; i--) {
      BodyStage s = policy.responseCoding(i).onResponseHead(access, headers, status);
      if (s != null) {
        if (stages == null) {
          stages = new BodyStage[i + 1];
        }
        stages[count++] = s;
      }
    }
    return stages == null ? null : new CodedBody(stages, count);
  }

  /** The next body chunk through every stage; see {@link BodyStage#apply}. On failure every stage is released. */
  public ByteBuf apply(ByteBuf in, boolean last, ByteBufAllocator alloc) {
    ByteBuf b = in;
    try {
      for (int i = 0; i < count; i++) {
        b = stages[i].apply(b, last, alloc);
      }
    } catch (RuntimeException e) {
      release();
      throw e;
    }
    if (last) {
      release();
    }
    return b;
  }

  /** Gives every stage's native state back; idempotent. */
  public void release() {
    for (int i = 0; i < count; i++) {
      stages[i].release();
    }
  }
}
