package io.keelson.dataplane.http1.codec;

/**
 * Parses a chunk-size line (RFC 9112 §7.1): {@code 1*HEXDIG *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )}.
 * Extensions are checked for forbidden bytes and otherwise ignored. Stateless.
 */
final class Http1ChunkLine {
  private Http1ChunkLine() {}

  /** The chunk size of b[from, to) (CRLF excluded). */
  static long parseSize(byte[] b, int from, int to) throws Http1ParseException {
    long size = 0;
    int i = from;
    while (i < to) {
      int digit = Character.digit(b[i], 16);
      if (digit < 0 || b[i] > 'f') {
        break;
      }
      if (size > (Long.MAX_VALUE >> 4)) {
        throw Http1ParseException.badRequest("chunk size overflows 63 bits");
      }
      size = (size << 4) | digit;
      i++;
    }
    if (i == from) {
      throw Http1ParseException.badRequest(
          i == to ? "empty chunk size" : "chunk size starts with non-hex byte " + Http1Bytes.hex(b[i]));
    }
    if (i == to) {
      return size;
    }
    int ext = i;
    while (ext < to && Http1Bytes.isOws(b[ext])) {
      ext++;
    }
    if (ext == to || b[ext] != ';') {
      throw Http1ParseException.badRequest("invalid byte " + Http1Bytes.hex(b[i]) + " after chunk size");
    }
    int bad = Http1Bytes.firstNonFieldChar(b, ext, to);
    if (bad < to) {
      throw Http1ParseException.badRequest("chunk extension contains invalid byte " + Http1Bytes.hex(b[bad]));
    }
    return size;
  }
}
