package io.keelson.dataplane.filter.grpcjson;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Splits a gRPC response body that arrives in chunks into its length-prefixed messages ({@code flags(1) length(4)
 * message}); a message may span chunks. Holds at most {@code maxBytes} of a message not yet whole. One instance per
 * stream; event-loop confined.
 */
final class GrpcFrameReader {
  private final ByteBuf pending;

  GrpcFrameReader(ByteBufAllocator alloc, long maxBytes) {
    pending = alloc.buffer(256, (int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 5));
  }

  /** Appends {@code data} (consumed, not released); throws {@link IllegalStateException} when a message is over the limit. */
  void add(ByteBuf data) {
    if (data.readableBytes() > pending.maxWritableBytes()) {
      pending.discardReadBytes();
      if (data.readableBytes() > pending.maxWritableBytes()) {
        throw new IllegalStateException("gRPC response message over " + (pending.maxCapacity() - 5) + " bytes");
      }
    }
    pending.writeBytes(data);
  }

  /**
   * The next whole message's bytes, or null until one is whole; throws {@link IllegalStateException} for a compressed
   * one (the transcoder asks for none: it sends no grpc-accept-encoding).
   */
  byte[] next() {
    if (pending.readableBytes() < 5) {
      return null;
    }
    int at = pending.readerIndex();
    long length = pending.getUnsignedInt(at + 1);
    if (pending.getByte(at) != 0) {
      throw new IllegalStateException("compressed gRPC response message");
    }
    if (length > pending.maxCapacity() - 5) {
      throw new IllegalStateException("gRPC response message over " + (pending.maxCapacity() - 5) + " bytes");
    }
    if (pending.readableBytes() < 5 + length) {
      return null;
    }
    byte[] m = new byte[(int) length];
    pending.skipBytes(5).readBytes(m);
    return m;
  }

  void release() {
    pending.release();
  }
}
