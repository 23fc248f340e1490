package io.keelson.dataplane.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Parses Prometheus text exposition with the reference Python parser ({@code prometheus_client}, Debian's
 * python3-prometheus-client), so a format mistake fails the test instead of being read leniently.
 * Stateless.
 */
public final class PrometheusText {
  private static final String SCRIPT = """
      import json, sys
      from prometheus_client.parser import text_string_to_metric_families
      out = []
      for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
          for s in fam.samples:
              out.append({"family": fam.name, "type": fam.type, "name": s.name, "labels": s.labels, "value": s.value})
      print(json.dumps(out))
      """;

  /** One parsed sample. */
  public record Sample(String family, String type, String name, Map<String, String> labels, double value) {}

  /** Debian's interpreter, where python3-prometheus-client installs; a PATH python3 (pyenv, venv) may lack it. */
  private static final String PYTHON = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";

  private PrometheusText() {}

  /** Null when python3 or prometheus_client is missing; otherwise why it is. */
  public static String unavailableReason() {
    try {
      Process p = new ProcessBuilder(PYTHON, "-c", "import prometheus_client.parser").redirectErrorStream(true).start();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "python3 did not answer";
      }
      return p.exitValue() == 0 ? null : "python3 module prometheus_client missing (apt-get install python3-prometheus-client)";
    } catch (IOException | InterruptedException e) {
      return "python3 not runnable: " + e;
    }
  }

  public static List<Sample> parse(String text) throws Exception {
    Path file = Files.createTempFile("scrape", ".txt");
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
      Process p = new ProcessBuilder(PYTHON, "-c", SCRIPT, file.toString()).start();
      byte[] out = p.getInputStream().readAllBytes();
      byte[] err = p.getErrorStream().readAllBytes();
      if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new AssertionError("prometheus_client rejected the exposition: " + new String(err, StandardCharsets.UTF_8));
      }
      List<Sample> samples = new ArrayList<>();
      for (JsonNode n : new ObjectMapper().readTree(out)) {
        Map<String, String> labels = new LinkedHashMap<>();
        n.get("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        samples.add(new Sample(n.get("family").asText(), n.get("type").asText(), n.get("name").asText(), labels,
            n.get("value").asDouble()));
      }
      return samples;
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
