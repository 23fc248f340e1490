package io.keelson.dataplane.filter.decompressor;

import io.keelson.dataplane.filter.BodyStage;
import io.keelson.dataplane.filter.ZlibPool;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Inflates one gzip request or response body as it streams: the header ({@link GzipHeader}), raw inflate chunk by chunk, then
 * the CRC-32 and length trailer checked. Bounded like Envoy's gzip decompressor: once the output passes
 * {@code max_inflate_ratio} times the input consumed so far (a decompression bomb), or the input is not gzip, it
 * refuses the body ({@link BodyCodingException}: 413 for a bomb, 400 when corrupt); the output of one chunk
 * is at most that ratio times the chunk. Bytes after the first member are dropped. One per body; confined to
 * its event loop.
 */
final class GzipInflate implements BodyStage {
  /** Raw-inflate Inflaters per event loop, at most 32 idle each. */
  static final ZlibPool<Inflater> INFLATERS = new ZlibPool<>(32, () -> new Inflater(true), Inflater::reset, Inflater::end);
  private final DecompressorConfig config;
  private final DecompressorStats stats;
  private final GzipHeader header = new GzipHeader();
  private final CRC32 crc = new CRC32();
  private final byte[] trailer = new byte[8];
  private int trailerRead;
  private Inflater inflater;
  private long inputBytes;
  private long outputBytes;

  /** A body stage counting into one direction's {@code stats}. */
  GzipInflate(DecompressorConfig config, DecompressorStats stats) {
    this.config = config;
    this.stats = stats;
    this.inflater = INFLATERS.take();
  }

  @Override
  public ByteBuf apply(ByteBuf in, boolean last, ByteBufAllocator alloc) {
    ByteBuf out = alloc.buffer(Math.min(config.chunkSize(), Math.max(64, in.readableBytes() * 4)));
    try {
      int n = in.readableBytes();
      inputBytes += n;
      stats.totalCompressedBytes().add(n);
      if (!header.done()) {
        header.read(in);
      }
      if (header.done() && in.isReadable() && trailerRead == 0 && !inflater.finished()) {
        inflate(in, out);
      }
      if (inflater.finished()) {
        while (trailerRead < 8 && in.isReadable()) {
          trailer[trailerRead++] = in.readByte();
        }
      }
      if (last) {
        checkEnd();
      }
      stats.totalUncompressedBytes().add(out.readableBytes());
      return out;
    } catch (RuntimeException e) {
      out.release();
      release();
      stats.decompressionError().increment();
      throw e;
    } finally {
      in.release();
    }
  }

  private void inflate(ByteBuf in, ByteBuf out) {
    int chunk = config.chunkSize();
    for (ByteBuffer b : in.nioBuffers()) {
      int before = b.remaining();
      inflater.setInput(b);
      try {
        while (!inflater.finished() && !inflater.needsInput()) {
          out.ensureWritable(chunk);
          ByteBuffer dst = out.nioBuffer(out.writerIndex(), out.writableBytes());
          int w = inflater.inflate(dst);
          crc.update(dst.flip());
          out.writerIndex(out.writerIndex() + w);
          outputBytes += w;
          if (outputBytes > config.maxInflateRatio() * inputBytes) {
            throw new BodyCodingException("gzip body inflates past max_inflate_ratio " + config.maxInflateRatio(), 413);
          }
          if (w == 0 && inflater.needsDictionary()) {
            throw new BodyCodingException("gzip body needs a preset dictionary");
          }
        }
      } catch (DataFormatException e) {
        throw new BodyCodingException("corrupt gzip body: " + e.getMessage());
      }
      int consumed = before - b.remaining();
      in.skipBytes(consumed);
      if (inflater.finished()) {
        return; // the rest of this chunk is the trailer (and anything after the member)
      }
    }
  }

  /** The body ended: empty, or one whole member whose trailer matches what was inflated. */
  private void checkEnd() {
    if (inputBytes == 0) {
      release(); // an empty body labelled gzip: nothing to inflate, passed as it is
      return;
    }
    if (!header.done() || !inflater.finished() || trailerRead < 8) {
      throw new BodyCodingException("gzip body ends before its trailer");
    }
    long crcSent = (trailer[0] & 0xffL) | (trailer[1] & 0xffL) << 8 | (trailer[2] & 0xffL) << 16 | (trailer[3] & 0xffL) << 24;
    long sizeSent = (trailer[4] & 0xffL) | (trailer[5] & 0xffL) << 8 | (trailer[6] & 0xffL) << 16 | (trailer[7] & 0xffL) << 24;
    if (crcSent != crc.getValue() || sizeSent != (outputBytes & 0xffffffffL)) {
      throw new BodyCodingException("gzip trailer does not match the inflated body");
    }
    release();
  }

  @Override
  public void release() {
    Inflater i = inflater;
    if (i != null) {
      inflater = null;
      INFLATERS.give(i);
    }
  }
}
