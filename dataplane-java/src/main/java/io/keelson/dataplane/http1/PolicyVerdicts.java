package io.keelson.dataplane.http1;

import io.keelson.dataplane.filter.ExchangeEndHook;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.netty.channel.EventLoop;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** How a connection (HTTP/1.1) or stream (HTTP/2) acts on the filters' verdict. Stateless; called on its event loop. */
public final class PolicyVerdicts {
  private PolicyVerdicts() {}

  /** Resumes the exchange of {@code request} after {@code nanos}, on the connection's event loop (never blocking it). */
  static void delay(EventLoop loop, long nanos, Http1Request request, Consumer<Http1Request> resume) {
    loop.schedule(() -> resume.accept(request), nanos, TimeUnit.NANOSECONDS);
  }

  /** Adds the filters' response header lines ({@code name: value\r\n} each); null adds nothing. */
  static void addResponseHeaders(Http1Headers headers, String lines) {
    if (lines != null) {
      addResponseHeaders(lines, headers::add);
    }
  }

  /** Sets the filters' response header lines ({@code name: value\r\n} each), replacing fields of the same names; null sets nothing. */
  static void setResponseHeaders(Http1Headers headers, String lines) {
    if (lines != null) {
      addResponseHeaders(lines, headers::set);
    }
  }

  /** Passes each of the filters' response header lines ({@code name: value\r\n} each) to {@code add}; null passes none. */
  public static void addResponseHeaders(String lines, java.util.function.BiConsumer<String, String> add) {
    if (lines == null) {
      return;
    }
    int at = 0;
    while (at < lines.length()) {
      int end = lines.indexOf("\r\n", at);
      if (end < 0) {
        end = lines.length();
      }
      int colon = lines.indexOf(':', at);
      if (colon > at && colon < end) {
        add.accept(lines.substring(at, colon), lines.substring(colon + 1, end).trim());
      }
      at = end + 2;
    }
  }

  /** A field a gRPC-form (trailers-only) local reply sets itself, so a filter's copy is dropped: content-type, grpc-*. */
  public static boolean grpcReplyField(String name) {
    return name.equalsIgnoreCase("content-type") || name.regionMatches(true, 0, "grpc-", 0, 5);
  }

  /** The filters' response header lines without the fields a gRPC-form reply sets itself; null stays null. */
  public static String withoutGrpcReplyFields(String lines) {
    return without(lines, PolicyVerdicts::grpcReplyField);
  }

  /** The filters' response header lines without content-type (a local_reply_config body's type replaces it); null stays null. */
  public static String withoutContentType(String lines) {
    return without(lines, name -> name.equalsIgnoreCase("content-type"));
  }

  /**
   * The filters' response header lines with a local_reply_config mapper's added: its OVERWRITE_IF_EXISTS_OR_ADD
   * entries replace the filters' fields of that name (as Envoy), the others add to them; null when there are none.
   */
  public static String withLocalReplyHeaders(String lines, io.keelson.dataplane.accesslog.LocalReplyRenderer.Reply reply) {
    if (reply.headerLines == null) {
      return lines;
    }
    String kept = reply.overwrites.isEmpty() ? lines
        : without(lines, name -> reply.overwrites.contains(name.toLowerCase(java.util.Locale.ROOT)));
    return kept == null ? reply.headerLines : kept + reply.headerLines;
  }

  private static String without(String lines, java.util.function.Predicate<String> dropped) {
    if (lines == null) {
      return null;
    }
    StringBuilder kept = new StringBuilder(lines.length());
    addResponseHeaders(lines, (name, value) -> {
      if (!dropped.test(name)) {
        kept.append(name).append(": ").append(value).append("\r\n");
      }
    });
    return kept.isEmpty() ? null : kept.toString();
  }

  /**
   * Puts the filters' response header lines on a local reply as Envoy does: each name's fields replace the reply's
   * own (never a second content-type); with {@code grpcForm} the fields a gRPC-form reply sets itself are dropped.
   */
  public static void replaceResponseHeaders(String lines, io.netty.handler.codec.http.HttpHeaders headers, boolean grpcForm) {
    if (lines == null) {
      return;
    }
    addResponseHeaders(lines, (name, value) -> {
      if (!grpcForm || !grpcReplyField(name)) {
        headers.remove(name);
      }
    });
    addResponseHeaders(lines, (name, value) -> {
      if (!grpcForm || !grpcReplyField(name)) {
        headers.add(name, value);
      }
    });
  }

  /** Whether header lines ({@code name: value\r\n} each, or null) carry a content-type. */
  public static boolean hasContentType(String lines) {
    return lines != null && (lines.regionMatches(true, 0, "content-type:", 0, 13)
        || lines.toLowerCase(java.util.Locale.ROOT).contains("\r\ncontent-type:"));
  }

  /** Runs the filters' end-of-exchange hook once. */
  public static void end(FilterContext policy) {
    ExchangeEndHook hook = policy.takeEndHook();
    if (hook != null) {
      hook.onExchangeEnd();
    }
  }
}
