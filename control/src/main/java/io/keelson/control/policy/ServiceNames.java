package io.keelson.control.policy;

/**
 * The one resolver from a host (as a document writes it) to a registry Service's key, the string the whole control
 * plane keys the service by (clusters, VIPs, subsets, breakers, endpoints): {@code NAME} for a Service of namespace
 * {@value #DEFAULT_NAMESPACE} and {@code NAME.NS} for one of namespace {@code NS} ({@link Policy.Service#name()}).
 * Keys of namespace {@code default} are the names Keelson used before Services were namespaced, so every config
 * without namespaces keeps its cluster names and VIPs; {@code NAME.NS} is also the shortest name Kubernetes gives that
 * service outside its namespace. Stateless.
 *
 * <p>Hosts resolve as istiod resolves them: a short host ({@code reviews}) is the service of the document's own
 * namespace; {@code reviews.shop}, {@code reviews.shop.svc} and {@code reviews.shop.svc.cluster.local} are namespace
 * {@code shop}'s. Any other dotted host (a ServiceEntry host, or a Service of namespace default whose name has a dot)
 * is its own key: {@code api.example.com} is at once host {@code api.example.com} and the key of a Service
 * {@code api.example} of namespace {@code com}, which is why {@code store/References} refuses two Services with one key.
 */
public final class ServiceNames {
  public static final String DEFAULT_NAMESPACE = "default";
  private static final String SVC = ".svc";
  private static final String FQDN = ".svc.cluster.local";

  private ServiceNames() {}

  /** The key of service {@code name} of {@code namespace} (null or empty: {@value #DEFAULT_NAMESPACE}). */
  public static String key(String name, String namespace) {
    return namespace == null || namespace.isEmpty() || namespace.equals(DEFAULT_NAMESPACE) ? name
        : name + "." + namespace;
  }

  /** The key {@code host}, written in a document of {@code namespace}, names. */
  public static String resolve(String host, String namespace) {
    // NAME.NS is read before .svc is stripped, so that ratings.svc is namespace svc's ratings (as Kubernetes' DNS).
    String h = host.endsWith(FQDN) ? strip(host, FQDN)
        : host.endsWith(SVC) && host.indexOf('.') < host.length() - SVC.length() ? strip(host, SVC) : host;
    int dot = h.lastIndexOf('.');
    if (dot < 0) {
      return key(h, namespace); // a short name: the document's namespace's service, as istiod
    }
    return key(h.substring(0, dot), h.substring(dot + 1));
  }

  /**
   * Why {@code name} cannot be a Service's name, or null: Kubernetes Service names are DNS-1035 labels, and a dotted
   * one would be another namespace's key ({@code reviews.shop} in default is shop's reviews).
   */
  public static String serviceNameProblem(String name) {
    if (name.indexOf('.') >= 0) {
      return "'" + name + "' is not a Service name: a Service name has no '.' (a DNS label, as Kubernetes'); name the"
          + " Service of another namespace by its namespace field, or in a host field as NAME.NS";
    }
    return null;
  }

  /** The namespace of a document's {@code metadata.namespace} as {@link Policy.Meta} keeps it ("" for default). */
  public static String namespace(Policy.Meta meta) {
    return meta.namespace().isEmpty() ? DEFAULT_NAMESPACE : meta.namespace();
  }

  private static String strip(String host, String suffix) {
    String s = host.substring(0, host.length() - suffix.length());
    return s.isEmpty() ? host : s;
  }
}
