package io.keelson.dataplane.filter.compressor;

import io.keelson.dataplane.edge.HeaderAccess;
import io.keelson.dataplane.filter.BodyStage;
import io.keelson.dataplane.filter.ResponseCoding;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * The compressor's response half for one accept-encoding decision (compressor.cc {@code encodeHeaders}): a response
 * is gzipped when the filter is enabled, its length is unknown or at least min_content_length, its status is not
 * listed as uncompressible, its content-type is in the list (or absent), it has no {@code cache-control: no-transform},
 * no etag when disable_on_etag_header, no content-encoding and no gzip/deflate transfer-encoding, and the request
 * accepted gzip. Then content-length goes, {@code content-encoding: gzip} is set, a strong etag becomes weak and
 * {@code vary} gets Accept-Encoding (also on a response that only the request's accept-encoding kept uncompressed).
 * One instance per filter config and decision, so a request allocates nothing. Immutable; thread-safe.
 */
final class GzipResponseCoding implements ResponseCoding {
  private final CompressorConfig config;
  private final int decision;

  GzipResponseCoding(CompressorConfig config, int decision) {
    this.config = config;
    this.decision = decision;
  }

  @Override
  public <H> void onForwardedRequest(HeaderAccess<H> access, H headers) {
    if (config.settings().removeAcceptEncoding() && config.settings().enabled()) {
      access.remove(headers, "accept-encoding");
    }
  }

  @Override
  public <H> BodyStage onResponseHead(HeaderAccess<H> access, H headers, int status) {
    CompressorSettings s = config.settings();
    CompressorStats stats = config.stats();
    boolean compressible = s.enabled() && longEnough(access, headers, s.minLength(), stats.contentLengthTooSmall())
        && !s.uncompressibleStatus().contains(status) && contentTypeAllowed(s.contentTypes(), access.getAll(headers, "content-type"))
        && !ResponseCoding.listContains(access.getAll(headers, "cache-control"), "no-transform") && etagAllowed(access, headers)
        && !access.contains(headers, "content-encoding");
    if (!compressible) {
      stats.notCompressed().increment();
      return null;
    }
    stats.header(decision).increment();
    insertVary(access, headers);
    String te = access.getAll(headers, "transfer-encoding");
    if (!AcceptEncoding.compresses(decision) || ResponseCoding.listContains(te, "gzip") || ResponseCoding.listContains(te, "deflate")) {
      stats.notCompressed().increment();
      return null;
    }
    weakenEtag(access, headers);
    access.remove(headers, "content-length");
    access.set(headers, "content-encoding", "gzip");
    stats.compressed().increment();
    return new GzipDeflate(config, stats.totalUncompressedBytes(), stats.totalCompressedBytes());
  }

  /** Whether the message's length is unknown or at least {@code minLength} (else counted too small). */
  static <H> boolean longEnough(HeaderAccess<H> access, H headers, int minLength, LongAdder tooSmall) {
    String cl = access.getAll(headers, "content-length");
    if (cl == null) {
      return true; // chunked, HTTP/2 without content-length, until close: the length is not known
    }
    long length;
    try {
      length = Long.parseLong(cl.strip());
    } catch (NumberFormatException e) {
      length = -1;
    }
    if (length < minLength) {
      tooSmall.increment();
      return false;
    }
    return true;
  }

  /** Whether the media type of {@code contentType} (null: absent, allowed) is one of {@code types}. */
  static boolean contentTypeAllowed(Set<String> types, String contentType) {
    if (contentType == null) {
      return true;
    }
    int semi = contentType.indexOf(';');
    String media = (semi < 0 ? contentType : contentType.substring(0, semi)).strip();
    for (String t : types) {
      if (t.equalsIgnoreCase(media)) {
        return true;
      }
    }
    return false;
  }

  private <H> boolean etagAllowed(HeaderAccess<H> access, H headers) {
    if (config.settings().disableOnEtag() && access.contains(headers, "etag")) {
      config.stats().notCompressedEtag().increment();
      return false;
    }
    return true;
  }

  /** A strong entity tag no longer names these bytes once they are gzipped: it becomes weak, as Envoy marks it. */
  private static <H> void weakenEtag(HeaderAccess<H> access, H headers) {
    String etag = access.getAll(headers, "etag");
    if (etag != null && etag.length() > 2 && !((etag.charAt(0) == 'W' || etag.charAt(0) == 'w') && etag.charAt(1) == '/')) {
      access.set(headers, "etag", "W/" + etag);
    }
  }

  private static <H> void insertVary(HeaderAccess<H> access, H headers) {
    String vary = access.getAll(headers, "vary");
    if (vary == null) {
      access.set(headers, "vary", "Accept-Encoding");
    } else if (!ResponseCoding.listContains(vary, "accept-encoding")) {
      access.set(headers, "vary", vary + ", Accept-Encoding");
    }
  }
}
