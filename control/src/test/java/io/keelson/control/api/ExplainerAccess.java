package io.keelson.control.api;

import io.keelson.control.xds.MeshResources;
import java.util.Map;

/** Opens the package-private {@link Explainer} to tests in other packages. Stateless. */
public final class ExplainerAccess {
  private ExplainerAccess() {}

  public static Map<String, Object> explain(MeshResources r, String from, String host, String path,
      Map<String, String> headers, String method) {
    return Explainer.explain(r, from, host, path, headers, method);
  }

  public static Map<String, Object> explainGateway(MeshResources r, String node, int port, String host, String path,
      Map<String, String> headers, String method) {
    return Explainer.explainGateway(r, node, port, host, path, headers, method);
  }
}
