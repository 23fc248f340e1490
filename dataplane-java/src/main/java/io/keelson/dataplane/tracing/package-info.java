/**
 * Span export over OTLP/gRPC with the OpenTelemetry SDK: spans are started only for sampled requests,
 * with the ids the proxy already propagated, and exported in batches by the SDK's BatchSpanProcessor thread.
 */
package io.keelson.dataplane.tracing;
