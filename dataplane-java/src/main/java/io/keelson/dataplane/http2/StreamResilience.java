package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.http1.RequestReplay;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.resilience.ConnectionWait;
import io.keelson.dataplane.resilience.OutlierDetector;
import io.keelson.dataplane.resilience.RetryHeaders;
import io.keelson.dataplane.resilience.RetryState;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.SplittableRandom;

/**
 * The resilience bookkeeping of one HTTP/2 stream, over the protocol-independent state machines of the
 * resilience package: the cluster's max_requests, max_pending_requests and max_connections breakers
 * (a try waits as pending for a connection slot, as on HTTP/1.1), the retry policy
 * ({@link RetryState}), the request body kept for a retry (bounded by per_request_buffer_limit_bytes,
 * trailers included) and outlier detection reports. {@link StreamProxy} decides when; this class keeps
 * the counts straight. Event-loop confined; {@link #end} must run when the stream ends.
 */
final class StreamResilience {
  final RetryState retry = new RetryState(new SplittableRandom());
  private final RequestReplay replay = new RequestReplay();
  private boolean recording;
  private boolean lastRecorded;
  private HttpHeaders trailers;
  private ServingCluster cluster;
  private CircuitBreakers.Resources breaker;
  private CircuitBreakerConfig.Thresholds thresholds;
  private boolean requestAdmitted;
  private boolean pendingAdmitted;
  private boolean exhausted;
  private ConnectionWait<Void> connectionWait;

  /**
   * Takes the request's max_requests slot and starts its retry policy (the route's, or the
   * x-envoy-retry-on / x-envoy-max-retries headers). False, counted, when the breaker is open.
   */
  boolean admit(ServingCluster cluster, RouteAction.Forward forward, RequestHead head) {
    this.cluster = cluster;
    thresholds = cluster.config().circuitBreakers().of(forward.highPriority());
    breaker = cluster.resilience().breakers().of(forward.highPriority());
    if (!breaker.tryAcquireRequest(thresholds)) {
      cluster.stats().rqPendingOverflow.increment();
      return false;
    }
    requestAdmitted = true;
    exhausted = false;
    retry.begin(RetryHeaders.apply(forward.retryPolicy(), head.header(RetryHeaders.RETRY_ON),
        head.header(RetryHeaders.MAX_RETRIES)), breaker, thresholds, cluster.stats());
    if (retry.enabled()) {
      replay.start(retry.policy().perRequestBufferLimitBytes());
      recording = true;
    }
    return true;
  }

  /** Asks for one more try after a retriable outcome; remembers when num_retries ran out (flag URX). */
  boolean grantRetry() {
    RetryState.Decision d = retry.tryRetry();
    exhausted |= d == RetryState.Decision.LIMIT_EXCEEDED;
    return d == RetryState.Decision.RETRY;
  }

  /** True once a retriable outcome found num_retries used up. */
  boolean exhausted() {
    return exhausted;
  }

  /** One try waits for an upstream connection or stream: max_pending_requests. False, counted, when full. */
  boolean acquirePending() {
    if (!breaker.tryAcquirePending(thresholds)) {
      cluster.stats().rqPendingOverflow.increment();
      return false;
    }
    pendingAdmitted = true;
    return true;
  }

  /**
   * The try found {@code max_connections} reached: counted in upstream_cx_overflow, it waits as pending
   * (its pending slot is kept) until a connection closes, then {@code resume} runs on {@code loop}.
   * The waiter is made on the first wait only: streams that never wait allocate nothing for it.
   */
  void awaitConnection(io.netty.channel.EventLoop loop, Runnable resume) {
    cluster.stats().cxOverflow.increment();
    if (connectionWait == null) {
      connectionWait = new ConnectionWait<>(x -> resume.run());
    }
    connectionWait.await(loop, breaker, thresholds, null);
  }

  /** The cluster priority's breaker and thresholds of the admitted request. */
  CircuitBreakers.Resources breaker() {
    return breaker;
  }

  CircuitBreakerConfig.Thresholds thresholds() {
    return thresholds;
  }

  /** Gives back the pending slot, and stops waiting for a connection slot if the try was. */
  void releasePending() {
    if (connectionWait != null) {
      connectionWait.cancel();
    }
    if (pendingAdmitted) {
      pendingAdmitted = false;
      breaker.releasePending();
    }
  }

  /** A request body piece about to be written upstream (before the write releases it). */
  void record(HttpContent c) {
    if (!recording) {
      return;
    }
    replay.record(c.content());
    if (c instanceof LastHttpContent last) {
      lastRecorded = true;
      trailers = last.trailingHeaders();
    }
  }

  /** False once the body outgrew the buffer limit. */
  boolean replayable() {
    return replay.replayable();
  }

  /** Writes again, on a retry's upstream channel, the body the earlier tries sent. */
  void replayTo(Channel up) {
    int n = replay.chunkCount();
    for (int i = 0; i < n; i++) {
      ByteBuf b = replay.chunk(i);
      up.write(lastRecorded && i == n - 1 ? new DefaultLastHttpContent(b, trailers) : new DefaultHttpContent(b),
          up.voidPromise());
    }
    if (lastRecorded && n == 0) {
      up.write(new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, trailers), up.voidPromise());
    }
  }

  /** Outlier detection: a response from {@code endpoint}; {@code startNanos}, the stream's start, is the clock hint. */
  void onResponse(int endpoint, int status, long startNanos) {
    OutlierDetector d = cluster == null ? null : cluster.resilience().detector();
    if (d != null) {
      d.onResponse(endpoint, status, startNanos);
    }
  }

  /** Outlier detection: the try on {@code endpoint} failed without a response (connect failure, reset, timeout). */
  void onLocalFailure(int endpoint) {
    OutlierDetector d = cluster == null ? null : cluster.resilience().detector();
    if (d != null) {
      d.onLocalFailure(endpoint);
    }
  }

  /** The stream is over: gives back its breaker slots and the kept body. Idempotent. */
  void end() {
    retry.end();
    replay.release();
    recording = false;
    lastRecorded = false;
    trailers = null;
    releasePending();
    if (requestAdmitted) {
      requestAdmitted = false;
      breaker.releaseRequest();
    }
  }
}
