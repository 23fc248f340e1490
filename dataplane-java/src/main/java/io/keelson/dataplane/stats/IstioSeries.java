package io.keelson.dataplane.stats;

import java.util.concurrent.atomic.LongAdder;

/**
 * The Istio request metrics of one (destination, peer, response code, gRPC status, response flag) label set: a count and
 * three fixed-bucket histograms. Created on the first request with that label set, then recorded into
 * without locks or allocation. Thread-safe.
 */
final class IstioSeries {
  /** Istio's default istio_request_duration_milliseconds buckets, in ms. */
  static final double[] DURATION_MS = {
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000
  };
  /** Istio's default istio_request_bytes / istio_response_bytes buckets. */
  static final double[] BYTES = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

  private static final long[] DURATION_MICROS = new long[DURATION_MS.length];

  static {
    for (int i = 0; i < DURATION_MS.length; i++) {
      DURATION_MICROS[i] = (long) (DURATION_MS[i] * 1000);
    }
  }

  final IstioPeer peer;
  final int status;
  /** The grpc-status the response carried, or -1 for none. */
  final int grpcStatus;
  final ResponseFlag flag;
  final LongAdder count = new LongAdder();
  /** Non-cumulative per-bucket counts; the last slot is +Inf. Cumulated at scrape time. */
  final LongAdder[] duration = adders(DURATION_MS.length + 1);
  final LongAdder durationMicros = new LongAdder();
  final LongAdder[] requestBytes = adders(BYTES.length + 1);
  final LongAdder requestBytesSum = new LongAdder();
  final LongAdder[] responseBytes = adders(BYTES.length + 1);
  final LongAdder responseBytesSum = new LongAdder();

  IstioSeries(IstioPeer peer, int status, int grpcStatus, ResponseFlag flag) {
    this.peer = peer;
    this.status = status;
    this.grpcStatus = grpcStatus;
    this.flag = flag;
  }

  /** One request, into the metrics whose {@link IstioMetricsConfig.Metric} ordinal bit {@code keep} has. */
  void record(int keep, long durationNanos, long reqBytes, long respBytes) {
    if ((keep & 1) != 0) {
      count.increment();
    }
    if ((keep & 2) != 0) {
      long micros = durationNanos / 1000;
      duration[durationBucket(micros)].increment();
      durationMicros.add(micros);
    }
    if ((keep & 4) != 0) {
      requestBytes[bytesBucket(reqBytes)].increment();
      requestBytesSum.add(reqBytes);
    }
    if ((keep & 8) != 0) {
      responseBytes[bytesBucket(respBytes)].increment();
      responseBytesSum.add(respBytes);
    }
  }

  static int durationBucket(long micros) {
    int i = 0;
    while (i < DURATION_MICROS.length && micros > DURATION_MICROS[i]) {
      i++;
    }
    return i;
  }

  static int bytesBucket(long bytes) {
    int i = 0;
    while (i < BYTES.length && bytes > BYTES[i]) {
      i++;
    }
    return i;
  }

  private static LongAdder[] adders(int n) {
    LongAdder[] a = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      a[i] = new LongAdder();
    }
    return a;
  }
}
