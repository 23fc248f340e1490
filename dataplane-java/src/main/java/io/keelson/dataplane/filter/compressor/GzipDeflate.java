package io.keelson.dataplane.filter.compressor;

import io.keelson.dataplane.filter.BodyStage;
import io.keelson.dataplane.filter.ZlibPool;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Gzips one request or response body as it streams (RFC 1952: a 10-byte header, raw deflate, CRC-32 and length trailer): each
 * chunk is deflated and SYNC_FLUSHed so the client can inflate it at once (Envoy's compressor flushes every data
 * frame the same way), the last one finished. Output grows in {@code chunk_size} steps. One per body; confined
 * to its event loop.
 */
final class GzipDeflate implements BodyStage {
  /** Magic, CM=8 (deflate), no flags, no mtime, no extra flags, OS=3 (Unix, as zlib on Linux writes it). */
  private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  /** Raw-deflate Deflaters per event loop, at most 32 idle each. */
  static final ZlibPool<Deflater> DEFLATERS =
      new ZlibPool<>(32, () -> new Deflater(Deflater.DEFAULT_COMPRESSION, true), Deflater::reset, Deflater::end);

  private final CompressorConfig config;
  private final LongAdder uncompressedBytes;
  private final LongAdder compressedBytes;
  private final CRC32 crc = new CRC32();
  private Deflater deflater;
  private boolean headerWritten;
  private long inputBytes;

  /** A body stage counting into one direction's total_uncompressed_bytes and total_compressed_bytes. */
  GzipDeflate(CompressorConfig config, LongAdder uncompressedBytes, LongAdder compressedBytes) {
    this.config = config;
    this.uncompressedBytes = uncompressedBytes;
    this.compressedBytes = compressedBytes;
    this.deflater = DEFLATERS.take();
    deflater.setLevel(config.level()); // a reset Deflater takes these before its first input
    deflater.setStrategy(config.strategy());
  }

  @Override
  public ByteBuf apply(ByteBuf in, boolean last, ByteBufAllocator alloc) {
    int chunk = config.chunkSize();
    ByteBuf out = alloc.buffer(Math.min(chunk, in.readableBytes() + 64) + (headerWritten ? 0 : HEADER.length));
    try {
      if (!headerWritten) {
        out.writeBytes(HEADER);
        headerWritten = true;
      }
      int n = in.readableBytes();
      uncompressedBytes.add(n);
      inputBytes += n;
      if (n > 0) {
        for (ByteBuffer b : in.nioBuffers()) {
          crc.update(b.duplicate());
          deflater.setInput(b);
          drain(out, Deflater.NO_FLUSH, chunk); // consumes b: NO_FLUSH returns once the input is taken
        }
      }
      if (last) {
        deflater.finish();
        while (!deflater.finished()) {
          out.ensureWritable(chunk);
          out.writerIndex(out.writerIndex() + deflater.deflate(out.nioBuffer(out.writerIndex(), out.writableBytes())));
        }
        out.writeIntLE((int) crc.getValue());
        out.writeIntLE((int) inputBytes);
        release();
      } else if (n > 0) {
        drain(out, Deflater.SYNC_FLUSH, chunk);
      }
      compressedBytes.add(out.readableBytes());
      return out;
    } catch (RuntimeException e) {
      out.release();
      release();
      throw e;
    } finally {
      in.release();
    }
  }

  /** Deflates with {@code flush} until the Deflater wants more input (for a flush: until it no longer fills the room). */
  private void drain(ByteBuf out, int flush, int chunk) {
    while (true) {
      out.ensureWritable(chunk);
      int room = out.writableBytes();
      int w = deflater.deflate(out.nioBuffer(out.writerIndex(), room), flush);
      out.writerIndex(out.writerIndex() + w);
      if (flush == Deflater.NO_FLUSH ? deflater.needsInput() : w < room) {
        return;
      }
    }
  }

  @Override
  public void release() {
    Deflater d = deflater;
    if (d != null) {
      deflater = null;
      DEFLATERS.give(d);
    }
  }
}
