package io.keelson.dataplane.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.hw.HardwareProfiles;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway JVM's flags file ({@link GatewayCommand#JVM_FLAGS_FILE}): every compile command names a
 * method that exists (a renamed stage would otherwise silently lose its compile root), a real JVM
 * accepts the file, and both launchers pass it.
 */
class GatewayJvmFlagsTest {
  private static final Pattern DONT_INLINE = Pattern.compile("-XX:CompileCommand=dontinline,([\\w.$]+)::(\\w+)");

  private static Path home() {
    return HardwareProfiles.directory().getParent();
  }

  private static List<String> flagLines() throws IOException {
    List<String> flags = new ArrayList<>();
    for (String line : Files.readAllLines(home().resolve(GatewayCommand.JVM_FLAGS_FILE))) {
      String flag = line.strip();
      if (!flag.isEmpty() && !flag.startsWith("#")) {
        flags.add(flag);
      }
    }
    return flags;
  }

  @Test
  void everyCompileRootNamesAMethodThatExists() throws Exception {
    List<String> roots = new ArrayList<>();
    for (String flag : flagLines()) {
      Matcher m = DONT_INLINE.matcher(flag);
      if (!m.matches()) {
        continue;
      }
      Class<?> type = Class.forName(m.group(1));
      boolean declared = Arrays.stream(type.getDeclaredMethods()).map(Method::getName).anyMatch(m.group(2)::equals);
      assertThat(declared).as("%s declares %s (named in %s)", type.getName(), m.group(2), GatewayCommand.JVM_FLAGS_FILE)
          .isTrue();
      roots.add(type.getSimpleName() + "::" + m.group(2));
    }
    assertThat(roots).containsExactlyInAnyOrder("ParseStage::onEvent", "ClassifyStage::onEvent",
        "ForwardStage::onEvent", "TransmitStage::onEvent");
  }

  @Test
  void aRealJvmTakesTheFileAndSetsItsBudgets() throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(GatewayCommand.jvmFlags(home()));
    cmd.addAll(List.of("-XX:+PrintFlagsFinal", "-version"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("java -version returned").isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).containsPattern("MaxInlineLevel\\s+= 20\\s+\\{C2 product\\} \\{command line\\}")
        .containsPattern("FreqInlineSize\\s+= 800\\s+\\{C2 pd product\\} \\{command line\\}")
        .doesNotContain("CompileCommand: dontinline"); // "quiet" comes first
    // The heap on transparent huge pages, where the kernel offers them (elsewhere the JVM turns the flag off).
    Path thp = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
    boolean offered = Files.isReadable(thp) && !Files.readString(thp).contains("[never]");
    assertThat(out).containsPattern("UseTransparentHugePages\\s+= " + offered + "\\s+\\{product\\}");
  }

  @Test
  void bothLaunchersPassTheFile() throws IOException {
    assertThat(Files.readString(home().resolve("bin/keelson"))).contains("\"@$KEELSON_ROOT/" + GatewayCommand.JVM_FLAGS_FILE + "\"");
    assertThat(GatewayCommand.jvmFlags(home())).containsExactly("@" + home().resolve(GatewayCommand.JVM_FLAGS_FILE));
  }

  @Test
  void aMissingFileIsNamed(@TempDir Path elsewhere) {
    assertThatThrownBy(() -> GatewayCommand.jvmFlags(elsewhere)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(elsewhere.resolve(GatewayCommand.JVM_FLAGS_FILE).toString());
  }
}
