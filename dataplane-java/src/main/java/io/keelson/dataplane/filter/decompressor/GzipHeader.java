package io.keelson.dataplane.filter.decompressor;

import io.keelson.dataplane.filter.BodyStage.BodyCodingException;
import io.netty.buffer.ByteBuf;

/**
 * Reads a gzip member header (RFC 1952 §2.3) byte by byte, so it may arrive split over any number of chunks:
 * magic, deflate method, flags, then the optional extra field, name, comment and header CRC, which are skipped.
 * One per response; not thread-safe.
 */
final class GzipHeader {
  private static final int FHCRC = 2;
  private static final int FEXTRA = 4;
  private static final int FNAME = 8;
  private static final int FCOMMENT = 16;

  private enum Step { FIXED, EXTRA_LENGTH, EXTRA, NAME, COMMENT, CRC, DONE }

  private Step step = Step.FIXED;
  private int flags;
  /** Bytes of the current step read so far. */
  private int read;
  private int extraLength;

  boolean done() {
    return step == Step.DONE;
  }

  /** Consumes header bytes from {@code in}; {@link #done()} once the whole header is read. */
  void read(ByteBuf in) {
    while (step != Step.DONE && in.isReadable()) {
      int b = in.readUnsignedByte();
      switch (step) {
        case FIXED -> {
          if ((read == 0 && b != 0x1f) || (read == 1 && b != 0x8b) || (read == 2 && b != 8)) {
            throw new BodyCodingException("not a gzip body (bad magic or method at byte " + read + ")");
          }
          if (read == 3) {
            flags = b;
          }
          if (++read == 10) {
            next(Step.EXTRA_LENGTH);
          }
        }
        case EXTRA_LENGTH -> {
          extraLength |= b << (8 * read);
          if (++read == 2) {
            next(Step.EXTRA);
          }
        }
        case EXTRA -> {
          if (++read >= extraLength) {
            next(Step.NAME);
          }
        }
        case NAME -> {
          if (b == 0) {
            next(Step.COMMENT);
          }
        }
        case COMMENT -> {
          if (b == 0) {
            next(Step.CRC);
          }
        }
        case CRC -> {
          if (++read == 2) {
            next(Step.DONE);
          }
        }
        default -> throw new IllegalStateException(step.name());
      }
    }
  }

  /** Moves to {@code s}, or past it when its flag is not set (an absent extra field has no length either). */
  private void next(Step s) {
    read = 0;
    step = s;
    while (step != Step.DONE && !present(step)) {
      step = Step.values()[step.ordinal() + 1];
    }
    if (step == Step.EXTRA && extraLength == 0) {
      next(Step.NAME);
    }
  }

  private boolean present(Step s) {
    return switch (s) {
      case EXTRA_LENGTH, EXTRA -> (flags & FEXTRA) != 0;
      case NAME -> (flags & FNAME) != 0;
      case COMMENT -> (flags & FCOMMENT) != 0;
      case CRC -> (flags & FHCRC) != 0;
      default -> true;
    };
  }
}
