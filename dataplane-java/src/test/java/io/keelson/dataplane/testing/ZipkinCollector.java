package io.keelson.dataplane.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.CodedInputStream;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real Zipkin collector in the test's process: {@code POST /api/v2/spans} on 127.0.0.1 (ephemeral port) with JSON v2
 * or proto3 {@code ListOfSpans} bodies, answered 202 (or {@link #status}) as Zipkin does; every span decoded into
 * {@link #spans} and every POST recorded in {@link #reports}. Thread-safe.
 */
public final class ZipkinCollector implements AutoCloseable {
  /** One received span; ids lower-case hex, parentId null at the root. */
  public record Span(String traceId, String id, String parentId, String kind, String name, long timestamp,
      long duration, String serviceName, Map<String, String> tags, boolean shared) {}

  /** One POST: when it arrived ({@link System#nanoTime()}), its Host and Content-Type and how many spans it had. */
  public record Report(long arrivedNanos, String host, String contentType, int spans) {}

  public final List<Span> spans = new CopyOnWriteArrayList<>();
  public final List<Report> reports = new CopyOnWriteArrayList<>();
  /** The status the collector answers. */
  public volatile int status = 202;
  private final HttpServer server;

  public ZipkinCollector() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/api/v2/spans", this::receive);
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private void receive(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body = ex.getRequestBody().readAllBytes();
      String type = ex.getRequestHeaders().getFirst("content-type");
      List<Span> got = "application/x-protobuf".equals(type) ? proto(body) : json(body);
      if (!"POST".equals(ex.getRequestMethod())) {
        ex.sendResponseHeaders(405, -1);
        return;
      }
      reports.add(new Report(System.nanoTime(), ex.getRequestHeaders().getFirst("host"), type, got.size()));
      spans.addAll(got);
      ex.sendResponseHeaders(status, -1);
    }
  }

  private static List<Span> json(byte[] body) throws IOException {
    List<Span> out = new java.util.ArrayList<>();
    for (JsonNode s : new ObjectMapper().readTree(body)) {
      Map<String, String> tags = new LinkedHashMap<>();
      s.path("tags").fields().forEachRemaining(e -> tags.put(e.getKey(), e.getValue().asText()));
      out.add(new Span(s.path("traceId").asText(), s.path("id").asText(),
          s.has("parentId") ? s.path("parentId").asText() : null, s.path("kind").asText(), s.path("name").asText(),
          s.path("timestamp").asLong(), s.path("duration").asLong(),
          s.path("localEndpoint").path("serviceName").asText(null), tags, s.path("shared").asBoolean(false)));
    }
    return out;
  }

  /** zipkin2/proto3/zipkin.proto's ListOfSpans, by field number. */
  private static List<Span> proto(byte[] body) throws IOException {
    List<Span> out = new java.util.ArrayList<>();
    CodedInputStream in = CodedInputStream.newInstance(body);
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (tag >>> 3 != 1) {
        in.skipField(tag);
        continue;
      }
      CodedInputStream s = CodedInputStream.newInstance(in.readByteArray());
      String trace = null, id = null, parent = null, kind = null, name = "", service = null;
      long ts = 0, duration = 0;
      boolean shared = false;
      Map<String, String> tags = new LinkedHashMap<>();
      for (int t = s.readTag(); t != 0; t = s.readTag()) {
        switch (t >>> 3) {
          case 1 -> trace = HexFormat.of().formatHex(s.readByteArray());
          case 2 -> parent = HexFormat.of().formatHex(s.readByteArray());
          case 3 -> id = HexFormat.of().formatHex(s.readByteArray());
          case 4 -> kind = switch (s.readEnum()) {
            case 1 -> "CLIENT";
            case 2 -> "SERVER";
            default -> "?";
          };
          case 5 -> name = s.readString();
          case 6 -> ts = s.readFixed64();
          case 7 -> duration = s.readUInt64();
          case 8 -> {
            CodedInputStream e = CodedInputStream.newInstance(s.readByteArray());
            for (int et = e.readTag(); et != 0; et = e.readTag()) {
              if (et >>> 3 == 1) {
                service = e.readString();
              } else {
                e.skipField(et);
              }
            }
          }
          case 11 -> {
            CodedInputStream e = CodedInputStream.newInstance(s.readByteArray());
            String k = null, v = null;
            for (int et = e.readTag(); et != 0; et = e.readTag()) {
              if (et >>> 3 == 1) {
                k = e.readString();
              } else {
                v = e.readString();
              }
            }
            tags.put(k, v);
          }
          case 13 -> shared = s.readBool();
          default -> s.skipField(t);
        }
      }
      out.add(new Span(trace, id, parent, kind, name, ts, duration, service, tags, shared));
    }
    return out;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
