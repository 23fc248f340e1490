package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Istio's {@code exportTo}: which namespaces' proxies see a Service, ServiceEntry, VirtualService or DestinationRule.
 * {@value #PRIVATE} is the document's own namespace, {@value #PUBLIC} every namespace, {@value #NONE} none (Services
 * and ServiceEntries only), else namespace names; empty: the mesh's default for the kind. Validated as istiod's
 * {@code validateExportTo} (no duplicates, {@code .} and the own namespace count as one, {@code *} and {@code ~} alone,
 * names DNS-1123 labels); visibility as istiod's {@code IsServiceVisible}. Stateless.
 */
public final class ExportTo {
  public static final String PUBLIC = "*";
  public static final String PRIVATE = ".";
  public static final String NONE = "~";
  /** The Kubernetes Service annotation istiod reads a registry Service's exportTo from (comma-separated). */
  public static final String ANNOTATION = "networking.istio.io/exportTo";
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  /** Whether {@code namespace} is a Kubernetes namespace name (a DNS-1123 label: lower case alnum and '-', ≤ 63). */
  static boolean namespaceName(String namespace) {
    return LABEL.matcher(namespace).matches();
  }

  private ExportTo() {}

  /**
   * True when a document of {@code namespace} exported to {@code exportTo} ({@code defaults} when empty) is visible to
   * proxies of namespace {@code client}.
   */
  public static boolean visible(List<String> exportTo, List<String> defaults, String namespace, String client) {
    List<String> to = exportTo.isEmpty() ? defaults : exportTo;
    if (to.contains(NONE)) {
      return false;
    }
    return to.contains(PUBLIC) || (to.contains(PRIVATE) && namespace.equals(client)) || to.contains(client);
  }

  /** True when {@code exportTo} ({@code defaults} when empty) shows the document to every namespace. */
  public static boolean everywhere(List<String> exportTo, List<String> defaults) {
    return (exportTo.isEmpty() ? defaults : exportTo).contains(PUBLIC);
  }

  /** {@code spec.exportTo} of a document of {@code namespace}, checked; {@code none}: whether {@code ~} is allowed. */
  static List<String> of(Fields spec, String namespace, boolean none) {
    List<String> values = spec.strings("exportTo", false);
    for (String problem : problems(values, namespace, none)) {
      spec.error("exportTo", problem);
    }
    return values;
  }

  /** A registry Service's {@value #ANNOTATION} annotation (comma-separated, as istiod splits it), checked. */
  static List<String> ofAnnotation(Fields metadata, String namespace) {
    String written = metadata.stringMap("annotations").get(ANNOTATION);
    if (written == null) {
      return List.of();
    }
    List<String> values = new ArrayList<>();
    for (String v : written.split(",")) {
      values.add(v.trim());
    }
    for (String problem : problems(values, namespace, true)) {
      metadata.error("annotations." + ANNOTATION, problem);
    }
    return values;
  }

  /**
   * What is wrong with {@code values} (empty: nothing), each naming the entry, as istiod's {@code validateExportTo}
   * for a document of {@code namespace}; {@code none}: {@code ~} is allowed (Services and ServiceEntries).
   */
  public static List<String> problems(List<String> values, String namespace, boolean none) {
    List<String> out = new ArrayList<>();
    Map<String, String> seen = new HashMap<>(); // '.' counts as the own namespace
    for (int i = 0; i < values.size(); i++) {
      String v = values.get(i);
      String at = "entry " + i + " '" + v + "' ";
      String first = seen.putIfAbsent(v.equals(PRIVATE) ? namespace : v, v);
      if (first != null) {
        out.add(at + (first.equals(v) ? "is listed twice" : "repeats the document's own namespace " + namespace)
            + "; expected each namespace once");
      } else if (v.equals(NONE) && !none) {
        out.add(at + "(no namespace) is for Services and ServiceEntries only; expected '.', '*' or namespace names");
      } else if (!v.equals(PRIVATE) && !v.equals(PUBLIC) && !v.equals(NONE) && !LABEL.matcher(v).matches()) {
        out.add(at + "is not a namespace name; expected '.', '*'" + (none ? ", '~'" : "")
            + " or a namespace (a DNS-1123 label: lower case letters, digits and '-', at most 63)");
      }
    }
    if (values.size() > 1 && values.contains(PUBLIC)) {
      out.add(values + " mixes '*' (every namespace) with other values; expected '*' alone");
    }
    if (values.size() > 1 && values.contains(NONE)) {
      out.add(values + " mixes '~' (no namespace) with other values; expected '~' alone");
    }
    return out;
  }
}
