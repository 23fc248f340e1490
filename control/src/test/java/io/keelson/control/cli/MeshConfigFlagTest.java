package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bin/keelson control --mesh-config FILE}: a bad file stops start-up naming the file and the field. */
class MeshConfigFlagTest {
  @TempDir
  Path dir;

  @Test
  void aBadMeshConfigStopsStartUpNamingTheFileAndField() throws Exception {
    Path mesh = dir.resolve("mesh.yaml");
    Files.writeString(mesh, """
        extensionProviders:
        - name: authz
          envoyExtAuthzHttp: { service: authz.example, port: 0 }
        """);
    CliRun.Result r = cli("control", "--xds-port", "0", "--api-port", "0", "--xds-tls-port", "-1", "--mesh-config",
        mesh.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains(mesh + ": extensionProviders[0].envoyExtAuthzHttp.port: expected a port 1-65535");
    CliRun.Result missing = cli("control", "--mesh-config", dir.resolve("nope.yaml").toString());
    assertThat(missing.code()).isEqualTo(2);
    assertThat(missing.err()).contains("--mesh-config " + dir.resolve("nope.yaml") + ": cannot read it");
  }

  @Test
  void aBadPathNormalizationStopsStartUpNamingTheFileFieldOrFlag() throws Exception {
    Path mesh = dir.resolve("paths.yaml");
    Files.writeString(mesh, "pathNormalization:\n  normalization: MERGE\n");
    CliRun.Result r = cli("control", "--xds-port", "0", "--api-port", "0", "--xds-tls-port", "-1", "--mesh-config",
        mesh.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains(mesh + ": pathNormalization.normalization: 'MERGE' is not a path normalization;"
        + " expected NONE, BASE (the default), MERGE_SLASHES or DECODE_AND_MERGE_SLASHES");
    CliRun.Result flag = cli("control", "--xds-port", "0", "--api-port", "0", "--xds-tls-port", "-1",
        "--path-normalization", "merge_slashes");
    assertThat(flag.code()).isEqualTo(2);
    assertThat(flag.err()).contains("--path-normalization 'merge_slashes' is not a path normalization");
  }
}
