/**
 * Protocol-agnostic resilience state: circuit breakers ({@link io.keelson.dataplane.resilience.CircuitBreakers}),
 * the retry state machine of one request ({@link io.keelson.dataplane.resilience.RetryState}) and
 * outlier detection ({@link io.keelson.dataplane.resilience.OutlierDetector}). Codecs (HTTP/1.1 today,
 * HTTP/2 next) drive them through small call-outs: a try starts, a response or reset arrives, a try ends.
 */
package io.keelson.dataplane.resilience;
