package io.keelson.dataplane.stats;

import io.keelson.dataplane.cel.CelNode;
import io.keelson.dataplane.cel.CelParser;
import io.keelson.dataplane.cel.CelSyntaxException;
import java.util.Locale;

/**
 * The value of an Istio metric tag override ({@code Telemetry} {@code tagOverrides.*.value}, the istio.stats filter's
 * {@code dimensions}): Istio's values are CEL, of which the common forms are read here, exactly: a string literal
 * ({@code 'v1'} or {@code "v1"}), {@code request.host}, {@code request.method}, {@code request.path},
 * {@code request.url_path} (the path without its query), {@code request.headers['name']}, {@code destination.port} and
 * {@code source.address} (the downstream peer's {@code ip:port}, as Envoy's attribute). Anything else is refused by
 * {@link #parse} (null). Immutable.
 *
 * @param kind what is read
 * @param arg  the literal's text, or the header's lower-case name; empty otherwise
 */
public record IstioTagExpression(Kind kind, String arg) {
  /** The supported forms, for error messages. */
  public static final String SUPPORTED = "a string literal ('v1'), request.host, request.method, request.path, "
      + "request.url_path, request.headers['name'], destination.port or source.address";

  /** What an expression reads. */
  public enum Kind { LITERAL, HOST, METHOD, PATH, URL_PATH, HEADER, DESTINATION_PORT, SOURCE_ADDRESS }

  /** True when the value is the same for every request (no evaluation per request). */
  public boolean constant() {
    return kind == Kind.LITERAL;
  }

  /** True when the value needs the connection's addresses. */
  boolean needsAddresses() {
    return kind == Kind.DESTINATION_PORT || kind == Kind.SOURCE_ADDRESS;
  }

  /**
   * The expression {@code text} reads, or null when it is not one of the {@link #SUPPORTED} forms. Read by the CEL parser
   * the access-log filters use ({@link CelParser}), so both accept the same syntax.
   */
  public static IstioTagExpression parse(String text) {
    CelNode n;
    try {
      n = CelParser.parse(text == null ? "" : text);
    } catch (CelSyntaxException e) {
      return null;
    }
    if (n instanceof CelNode.Literal l && l.value() instanceof String literal) {
      return new IstioTagExpression(Kind.LITERAL, literal);
    }
    if (n instanceof CelNode.Index i && "request.headers".equals(CelNode.dottedName(i.operand()))
        && i.key() instanceof CelNode.Literal k && k.value() instanceof String name
        && !name.isEmpty() && name.chars().allMatch(IstioTagExpression::headerNameChar)) {
      return new IstioTagExpression(Kind.HEADER, name.toLowerCase(Locale.ROOT));
    }
    String name = CelNode.dottedName(n);
    return switch (name == null ? "" : name) {
      case "request.host" -> new IstioTagExpression(Kind.HOST, "");
      case "request.method" -> new IstioTagExpression(Kind.METHOD, "");
      case "request.path" -> new IstioTagExpression(Kind.PATH, "");
      case "request.url_path" -> new IstioTagExpression(Kind.URL_PATH, "");
      case "destination.port" -> new IstioTagExpression(Kind.DESTINATION_PORT, "");
      case "source.address" -> new IstioTagExpression(Kind.SOURCE_ADDRESS, "");
      default -> null;
    };
  }

  private static boolean headerNameChar(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  }
}
