package io.keelson.bench.e2e;

import java.io.IOException;
import java.net.URI;
import java.util.List;

/**
 * Drives load at one target for one run and reports what it measured (wrk today; h2load for
 * h2c/gRPC scenarios later). Stateless between runs.
 */
interface LoadGenerator {
  /** Programs it needs (installed from Debian when missing). */
  List<Tools.Tool> tools();

  /** The exact command line for a run, for the results and the summary. */
  List<String> command(Tools tools, URI target, RunSpec spec);

  Measurement run(Tools tools, URI target, RunSpec spec) throws IOException, InterruptedException;
}
