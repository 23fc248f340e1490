package io.keelson.dataplane.http1.codec;

import static io.keelson.dataplane.http1.codec.Http1Bytes.CR;
import static io.keelson.dataplane.http1.codec.Http1Bytes.LF;

import io.keelson.dataplane.config.HttpLimits;
import io.netty.buffer.ByteBuf;

/**
 * The incremental HTTP/1.1 message state machine shared by {@link Http1RequestParser} and
 * {@link Http1ResponseParser}: head lines, body framing (fixed, chunked, until close), trailers,
 * pause/resume and raw (tunnel) mode. Not thread-safe: one connection's event loop owns it.
 *
 * <p>Head, chunk-size and trailer lines are copied into one reusable byte array and parsed there
 * (a memcpy, then plain array access); body bytes are never copied: they are handed to the
 * listener as retained slices of the input, as soon as they arrive.
 *
 * <p>Pausing: after {@code onComplete} the parser pauses by itself (pipelined messages wait in its
 * buffer); {@link #pause()} pauses it at any time (backpressure). While paused, no callback is made
 * and {@link #feed} only buffers, up to {@code maxBufferedBytes}; beyond that the input is rejected
 * (the owner should stop reading from the socket while it keeps a parser paused).
 *
 * @param <H> the head type delivered to the listener
 */
public abstract sealed class Http1MessageParser<H> permits Http1RequestParser, Http1ResponseParser {
  /** Default bound on bytes buffered while paused: several socket reads. */
  public static final int DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024;
  /** Longest chunk-size line (size plus extensions) accepted. */
  static final int MAX_CHUNK_LINE_BYTES = 4096;

  static final long BODY_CHUNKED = -2;
  static final long BODY_UNTIL_CLOSE = -3;

  /** How many bytes to copy into the line buffer at a time, per kind of line block. */
  private static final int HEAD_COPY_STEP = 4096;
  private static final int CHUNK_LINE_COPY_STEP = 32;
  private static final int TRAILER_COPY_STEP = 512;

  private enum State {
    HEAD, FIXED_BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, TRAILERS, COMPLETE_PENDING, UNTIL_CLOSE, RAW, DEAD
  }

  final Http1Listener<H> listener;
  final HttpLimits limits;
  private final int maxBufferedBytes;
  private final int lineBufferCap;
  private final Http1Headers trailers = new Http1Headers(4);
  final Http1FieldParser fields = new Http1FieldParser();

  private final Http1Cumulation cumulation = new Http1Cumulation();
  private State state = State.HEAD;
  private boolean paused;
  private boolean inProcess;
  private boolean inputClosed;
  private long remaining;

  private byte[] lines = new byte[1024];
  private int linesLen;
  private int lineStart;
  private int scanPos;
  private boolean startLineSeen;
  private int fieldsStart;
  private int fieldCount;
  private long chunkSize;

  Http1MessageParser(Http1Listener<H> listener, HttpLimits limits, int maxBufferedBytes) {
    if (listener == null || limits == null) {
      throw new NullPointerException("listener and limits are required");
    }
    if (limits.maxRequestLineBytes() <= 0 || limits.maxHeaderBytes() <= 0 || limits.maxHeaderCount() <= 0) {
      throw new IllegalArgumentException("HTTP limits must be positive: " + limits);
    }
    this.listener = listener;
    this.limits = limits;
    this.maxBufferedBytes = maxBufferedBytes;
    this.lineBufferCap = Math.max(limits.maxRequestLineBytes() + 2 + limits.maxHeaderBytes(), MAX_CHUNK_LINE_BYTES) + 8;
  }

  // ---- what a subclass supplies --------------------------------------------------------------

  /** "request line" or "status line", for error messages. */
  abstract String startLineName();

  /** Parses the start line b[from, to) (CRLF excluded) into the head, clearing the previous one. */
  abstract void parseStartLine(byte[] b, int from, int to) throws Http1ParseException;

  /** The header list of the head being parsed. */
  abstract Http1Headers headHeaders();

  /** Validates the complete head and returns its body length, {@link #BODY_CHUNKED} or {@link #BODY_UNTIL_CLOSE}. */
  abstract long finishHead() throws Http1ParseException;

  abstract H head();

  // ---- public control ------------------------------------------------------------------------

  /**
   * Takes ownership of {@code in} (it is released, now or once its bytes are consumed) and
   * delivers whatever complete pieces it and earlier input make up.
   */
  public final void feed(ByteBuf in) {
    if (state == State.DEAD) {
      in.release();
      return;
    }
    cumulation.append(in);
    if (paused) {
      checkBufferedBound();
      return;
    }
    process();
  }

  /** Stops callbacks (backpressure); {@link #feed} only buffers until {@link #resume()}. */
  public final void pause() {
    if (state != State.DEAD) {
      paused = true;
    }
  }

  /** Continues with buffered bytes: after {@code onComplete} this starts the next message. */
  public final void resume() {
    if (state == State.DEAD) {
      return;
    }
    paused = false;
    process();
  }

  /**
   * From now on every byte goes to {@code onBody} untouched (after the head of an Upgrade or
   * CONNECT exchange, or after a 101 / 2xx-to-CONNECT response). Call it from {@code onHead} or
   * while paused after {@code onComplete}; then resume() if paused.
   */
  public final void switchToRaw() {
    if (state == State.DEAD) {
      return;
    }
    state = State.RAW;
    resetLines();
  }

  /** The peer closed its sending side: completes a read-until-close body, else reports truncation. */
  public final void onInputClosed() {
    if (state == State.DEAD) {
      return;
    }
    inputClosed = true;
    process();
  }

  /** Releases the buffers; the parser is dead afterwards (no callback). Idempotent. */
  public final void close() {
    state = State.DEAD;
    cumulation.release();
  }

  public final boolean isPaused() {
    return paused;
  }

  /** True after an error or {@link #close()}: input is ignored. */
  public final boolean isDead() {
    return state == State.DEAD;
  }

  /** True once {@link #switchToRaw()} was called. */
  public final boolean isRaw() {
    return state == State.RAW;
  }

  /** Bytes received but not yet delivered nor parsed (pipelined input, input while paused). */
  public final int bufferedBytes() {
    return cumulation.readableBytes();
  }

  // ---- the state machine ---------------------------------------------------------------------

  private void process() {
    if (inProcess) {
      return; // called from a callback: the running loop picks the change up
    }
    inProcess = true;
    try {
      while (!paused && state != State.DEAD && step()) {
        // each step consumes input or delivers a callback
      }
      if (state != State.DEAD && inputClosed && !paused) {
        checkTruncation();
      }
    } catch (Http1ParseException e) {
      fail(e);
    } finally {
      inProcess = false;
    }
    if (state != State.DEAD) {
      cumulation.releaseIfEmpty();
      if (paused) {
        checkBufferedBound();
      }
    }
  }

  /** One unit of work; false when more input is needed. */
  private boolean step() throws Http1ParseException {
    ByteBuf buf = cumulation.buf();
    switch (state) {
      case HEAD:
        return buf != null && buf.isReadable() && stepLines(buf, HEAD_COPY_STEP);
      case CHUNK_SIZE:
        return buf != null && buf.isReadable() && stepLines(buf, CHUNK_LINE_COPY_STEP);
      case TRAILERS:
        return buf != null && buf.isReadable() && stepLines(buf, TRAILER_COPY_STEP);
      case FIXED_BODY: {
        if (buf == null || !buf.isReadable()) {
          return false;
        }
        int n = (int) Math.min(buf.readableBytes(), remaining);
        remaining -= n;
        if (remaining == 0) {
          state = State.COMPLETE_PENDING;
        }
        listener.onBody(buf.readRetainedSlice(n));
        return true;
      }
      case CHUNK_DATA: {
        if (buf == null || !buf.isReadable()) {
          return false;
        }
        int n = (int) Math.min(buf.readableBytes(), remaining);
        remaining -= n;
        if (remaining == 0) {
          state = State.CHUNK_DATA_END;
        }
        listener.onBody(buf.readRetainedSlice(n));
        return true;
      }
      case CHUNK_DATA_END:
        return stepChunkDataEnd(buf);
      case COMPLETE_PENDING:
        complete();
        return true;
      case UNTIL_CLOSE:
        if (buf == null || !buf.isReadable()) {
          if (inputClosed) {
            state = State.COMPLETE_PENDING;
            return true;
          }
          return false;
        }
        listener.onBody(buf.readRetainedSlice(buf.readableBytes()));
        return true;
      case RAW:
        if (buf == null || !buf.isReadable()) {
          return false;
        }
        listener.onBody(buf.readRetainedSlice(buf.readableBytes()));
        return true;
      default:
        return false;
    }
  }

  private boolean stepChunkDataEnd(ByteBuf buf) throws Http1ParseException {
    if (buf == null || !buf.isReadable()) {
      return false;
    }
    int r = buf.readerIndex();
    if (buf.getByte(r) != CR) {
      throw Http1ParseException.badRequest("chunk data not followed by CRLF");
    }
    if (buf.readableBytes() < 2) {
      return false;
    }
    if (buf.getByte(r + 1) != LF) {
      throw Http1ParseException.badRequest("chunk data not followed by CRLF");
    }
    buf.skipBytes(2);
    state = State.CHUNK_SIZE;
    return true;
  }

  private void complete() {
    state = State.HEAD;
    paused = true; // before the callback, so that resume() inside onComplete works
    listener.onComplete(trailers);
  }

  /**
   * Copies up to {@code copyStep} bytes into the line buffer and parses the lines that are
   * complete; on the end of the line block (head, chunk-size line, trailers) gives back to
   * {@code buf} the bytes copied past it and moves to the next state.
   */
  private boolean stepLines(ByteBuf buf, int copyStep) throws Http1ParseException {
    int n = Math.min(buf.readableBytes(), Math.min(copyStep, lineBufferCap - linesLen));
    if (n <= 0) {
      throw Http1ParseException.badRequest("message head larger than " + lineBufferCap + " bytes");
    }
    if (linesLen + n > lines.length) {
      byte[] bigger = new byte[Math.min(lineBufferCap, Math.max(lines.length * 2, linesLen + n))];
      System.arraycopy(lines, 0, bigger, 0, linesLen);
      lines = bigger;
    }
    int before = linesLen;
    buf.getBytes(buf.readerIndex(), lines, linesLen, n);
    linesLen += n;
    State block = state;
    int blockEnd = scanLines(block);
    if (blockEnd < 0) {
      buf.skipBytes(n);
      return true;
    }
    buf.skipBytes(blockEnd - before);
    resetLines();
    switch (block) {
      case HEAD -> endOfHead();
      case CHUNK_SIZE -> state = chunkSize == 0 ? State.TRAILERS : State.CHUNK_DATA;
      case TRAILERS -> state = State.COMPLETE_PENDING;
      default -> throw new IllegalStateException(block.name());
    }
    return true;
  }

  /** Returns the index just past the block's last CRLF, or -1 when the block is not complete yet. */
  private int scanLines(State block) throws Http1ParseException {
    byte[] b = lines;
    int end = linesLen;
    while (true) {
      int i = Http1Bytes.findCrOrLf(b, scanPos, end);
      if (i == end || (b[i] == CR && i + 1 == end)) {
        scanPos = i;
        checkPartialLine(block, i);
        return -1;
      }
      if (b[i] == LF) {
        throw Http1ParseException.badRequest("bare LF at offset " + i + " (lines must end with CRLF)");
      }
      if (b[i + 1] != LF) {
        throw Http1ParseException.badRequest("bare CR at offset " + i + " (CR not followed by LF)");
      }
      int from = lineStart;
      int next = i + 2;
      lineStart = next;
      scanPos = next;
      if (onLine(block, from, i, next)) {
        return next;
      }
    }
  }

  /** Handles the complete line b[from, to); returns true when it ends the block. */
  private boolean onLine(State block, int from, int to, int next) throws Http1ParseException {
    switch (block) {
      case HEAD:
        if (!startLineSeen) {
          if (to > limits.maxRequestLineBytes()) {
            throw startLineTooLong();
          }
          if (from == to) {
            return false; // RFC 9112 §2.2: empty lines before the start line are ignored
          }
          parseStartLine(lines, from, to);
          startLineSeen = true;
          fieldsStart = next;
          fieldCount = 0;
          return false;
        }
        if (next - fieldsStart > limits.maxHeaderBytes()) {
          throw Http1ParseException.badRequest("header block larger than " + limits.maxHeaderBytes() + " bytes");
        }
        if (from == to) {
          return true;
        }
        if (++fieldCount > limits.maxHeaderCount()) {
          throw Http1ParseException.badRequest("more than " + limits.maxHeaderCount() + " header fields");
        }
        fields.parseField(headHeaders(), lines, from, to, "header");
        return false;
      case TRAILERS:
        if (next > limits.maxHeaderBytes()) {
          throw Http1ParseException.badRequest("trailer block larger than " + limits.maxHeaderBytes() + " bytes");
        }
        if (from == to) {
          return true;
        }
        if (++fieldCount > limits.maxHeaderCount()) {
          throw Http1ParseException.badRequest("more than " + limits.maxHeaderCount() + " trailer fields");
        }
        fields.parseField(trailers, lines, from, to, "trailer");
        return false;
      case CHUNK_SIZE:
        chunkSize = Http1ChunkLine.parseSize(lines, from, to);
        remaining = chunkSize;
        if (chunkSize == 0) {
          fieldCount = 0;
        }
        return true;
      default:
        throw new IllegalStateException(block.name());
    }
  }

  private void checkPartialLine(State block, int scanned) throws Http1ParseException {
    switch (block) {
      case HEAD -> {
        if (!startLineSeen) {
          if (scanned > limits.maxRequestLineBytes()) {
            throw startLineTooLong();
          }
        } else if (scanned - fieldsStart > limits.maxHeaderBytes()) {
          throw Http1ParseException.badRequest("header block larger than " + limits.maxHeaderBytes() + " bytes");
        }
      }
      case TRAILERS -> {
        if (scanned > limits.maxHeaderBytes()) {
          throw Http1ParseException.badRequest("trailer block larger than " + limits.maxHeaderBytes() + " bytes");
        }
      }
      case CHUNK_SIZE -> {
        if (scanned - lineStart > MAX_CHUNK_LINE_BYTES) {
          throw Http1ParseException.badRequest("chunk-size line longer than " + MAX_CHUNK_LINE_BYTES + " bytes");
        }
      }
      default -> throw new IllegalStateException(block.name());
    }
  }

  private Http1ParseException startLineTooLong() {
    return Http1ParseException.badRequest(startLineName() + " longer than " + limits.maxRequestLineBytes() + " bytes");
  }

  private void endOfHead() throws Http1ParseException {
    long body = finishHead();
    trailers.clear();
    if (body == 0) {
      state = State.COMPLETE_PENDING;
    } else if (body > 0) {
      state = State.FIXED_BODY;
      remaining = body;
    } else if (body == BODY_CHUNKED) {
      state = State.CHUNK_SIZE;
    } else {
      state = State.UNTIL_CLOSE;
    }
    listener.onHead(head()); // may switchToRaw() or pause()
  }

  private void checkTruncation() throws Http1ParseException {
    boolean idle = state == State.HEAD && !startLineSeen && lineStart == linesLen && !hasBuffered();
    if (idle || state == State.RAW || state == State.UNTIL_CLOSE) {
      return;
    }
    if (hasBuffered() && state != State.HEAD) {
      return; // still has bytes to deliver once resumed
    }
    throw Http1ParseException.badRequest("connection closed before the end of the message");
  }

  private boolean hasBuffered() {
    return cumulation.isReadable();
  }

  private void resetLines() {
    linesLen = 0;
    lineStart = 0;
    scanPos = 0;
    startLineSeen = false;
  }

  private void fail(Http1ParseException e) {
    state = State.DEAD;
    cumulation.release();
    resetLines();
    listener.onError(e);
  }

  private void checkBufferedBound() {
    if (cumulation.readableBytes() > maxBufferedBytes) {
      fail(Http1ParseException.badRequest("more than " + maxBufferedBytes + " bytes received while paused"));
    }
  }
}
