package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.dataplane.config.HttpFilterConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Istio's usual gzip recipe, an EnvoyFilter inserting {@code envoy.filters.http.compressor} before the router, is
 * applied to a sidecar's connection managers and is what the data plane runs (memory_level and window_bits too,
 * which Deflater does not apply); a recipe with zlib knobs outside Envoy's ranges is not applied, and says why.
 */
class GzipEnvoyFilterTest {
  private static String recipe(String gzipFields) {
    return """
        configPatches:
        - applyTo: HTTP_FILTER
          match:
            context: SIDECAR_OUTBOUND
            listener:
              filterChain:
                filter:
                  name: envoy.filters.network.http_connection_manager
                  subFilter: { name: envoy.filters.http.router }
          patch:
            operation: INSERT_BEFORE
            value:
              name: envoy.filters.http.compressor
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor
                response_direction_config:
                  common_config:
                    min_content_length: 100
                    content_type: [ application/json, text/html ]
                compressor_library:
                  name: text_optimized
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip
                    compression_level: BEST_COMPRESSION
        %s""".formatted(gzipFields.indent(12));
  }

  private static List<String> httpFilters(MeshResources r) throws Exception {
    Listener l = r.listeners().stream().filter(x -> x.getName().equals(MeshTranslator.OUTBOUND)).findFirst().orElseThrow();
    HttpConnectionManager hcm = l.getFilterChains(0).getFiltersList().stream().filter(f -> f.getName().equals(EnvoyFilterPatches.HCM))
        .findFirst().orElseThrow().getTypedConfig().unpack(HttpConnectionManager.class);
    return hcm.getHttpFiltersList().stream().map(HttpFilter::getName).toList();
  }

  @Test
  void theGzipRecipeIsAppliedAndTheDataPlaneRunsTheCompressor() throws Exception {
    MeshResources r = Mesh.translateWithRegistry("");
    EnvoyFilterPatches.Patched p = EnvoyFilterPatches.applyChecked(r,
        List.of(EnvoyFilterPatchesTest.filter("gzip", "shop", recipe("compression_strategy: DEFAULT_STRATEGY"))), false);
    assertThat(p.refused()).isEmpty();
    assertThat(p.applied()).containsExactly("EnvoyFilter/shop/gzip");
    List<String> names = httpFilters(p.resources());
    assertThat(names.indexOf("envoy.filters.http.compressor")).isEqualTo(names.indexOf("envoy.filters.http.router") - 1);
    var snapshot = Mesh.dataPlane(p.resources());
    assertThat(snapshot.listeners()).anySatisfy(l -> assertThat(l.http() == null ? List.<String>of()
        : l.http().httpFilters().stream().map(HttpFilterConfig::name).toList()).contains("envoy.filters.http.compressor"));
  }

  @Test
  void theUsualRecipeWithZlibMemoryAndWindowSettingsIsApplied() throws Exception {
    MeshResources r = Mesh.translateWithRegistry("");
    EnvoyFilterPatches.Patched p = EnvoyFilterPatches.applyChecked(r,
        List.of(EnvoyFilterPatchesTest.filter("gzip", "shop", recipe("memory_level: 3\nwindow_bits: 10"))), false);
    assertThat(p.refused()).isEmpty();
    assertThat(p.applied()).containsExactly("EnvoyFilter/shop/gzip");
    assertThat(httpFilters(p.resources())).contains("envoy.filters.http.compressor");
  }

  @Test
  void aRecipeWithZlibSettingsOutsideEnvoysRangesIsNotAppliedAndSaysWhichField() throws Exception {
    MeshResources r = Mesh.translateWithRegistry("");
    EnvoyFilterPatches.Patched p = EnvoyFilterPatches.applyChecked(r,
        List.of(EnvoyFilterPatchesTest.filter("gzip", "shop", recipe("memory_level: 12\nwindow_bits: 16"))), false);
    assertThat(p.applied()).isEmpty();
    assertThat(p.refused()).singleElement().asString().startsWith("EnvoyFilter/shop/gzip is not applied")
        .contains("compressor_library.typed_config.window_bits").contains("compressor_library.typed_config.memory_level");
    assertThat(httpFilters(p.resources())).doesNotContain("envoy.filters.http.compressor");
  }
}
