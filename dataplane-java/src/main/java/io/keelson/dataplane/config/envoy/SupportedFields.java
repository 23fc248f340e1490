package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Admin;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Per-message allow-lists of the Envoy fields Keelson reads. Every field that is set in the config
 * is checked against its message's list: supported fields are walked into, fields safe to ignore
 * give a warning, and any other field — including fields added to Envoy's protos later — is an
 * error naming its path. Messages without a list (Duration, wrappers) are leaves. Immutable.
 */
final class SupportedFields {
  private static final String SAFE = "ignored: Keelson does not use it, and ignoring it does not change how traffic is routed";

  /** What Keelson does with the fields of one message type. */
  private record Rules(
      Set<String> supported, Map<String, String> ignored, Map<String, String> rejected, Set<String> dynamicOnly) {}

  private static final Map<String, Rules> RULES = new HashMap<>();

  static {
    rules(Bootstrap.getDescriptor(), "static_resources", "admin", "node", "dynamic_resources", "layered_runtime",
            "typed_dns_resolver_config", "dns_resolution_config", "use_tcp_for_dns_lookups")
        .ignore("stats_sinks", "ignored: Keelson exposes stats on the admin listener (/stats/prometheus)")
        .ignore("stats_config", SAFE)
        .ignore("stats_flush_interval", SAFE)
        .ignore("watchdogs", SAFE)
        .ignore("watchdog", SAFE)
        .ignore("overload_manager", "ignored: Keelson bounds its queues itself")
        .ignore("enable_dispatcher_stats", SAFE)
        .ignore("header_prefix", SAFE)
        .ignore("stats_server_version_override", SAFE);
    rules(Bootstrap.StaticResources.getDescriptor(), "listeners", "clusters");
    // The runtime: static layers only, and of those only the premature-reset keys (SnapshotTranslator.runtime).
    rules(io.envoyproxy.envoy.config.bootstrap.v3.LayeredRuntime.getDescriptor(), "layers");
    rules(io.envoyproxy.envoy.config.bootstrap.v3.RuntimeLayer.getDescriptor(), "name", "static_layer")
        .ignore("disk_layer", "ignored: Keelson reads the runtime from static layers only")
        .ignore("admin_layer", "ignored: Keelson has no admin runtime overrides")
        .ignore("rtds_layer", "ignored: Keelson reads the runtime from static layers only");
    // The node (its locality too) is sent to the xDS server as written: the control plane orders endpoints by it.
    rules(io.envoyproxy.envoy.config.core.v3.Node.getDescriptor(), "id", "cluster", "metadata", "locality")
        .ignore("user_agent_name", SAFE)
        .ignore("user_agent_version", SAFE);
    rules(Bootstrap.DynamicResources.getDescriptor(), "ads_config", "lds_config", "cds_config");
    rules(io.envoyproxy.envoy.config.core.v3.ApiConfigSource.getDescriptor(),
            "api_type", "transport_api_version", "grpc_services")
        .ignore("set_node_on_first_message_only", SAFE);
    rules(io.envoyproxy.envoy.config.core.v3.ConfigSource.getDescriptor(), "ads", "resource_api_version")
        .ignore("initial_fetch_timeout", "honoured for SDS secrets (a cluster or listener warms until they arrive or"
            + " this passes); for lds_config/cds_config readiness waits Envoy's default 15 s for the first config");
    rules(io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource.getDescriptor());
    rules(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds.getDescriptor(),
        "config_source", "route_config_name");
    rules(Cluster.EdsClusterConfig.getDescriptor(), "eds_config", "service_name");
    rules(Admin.getDescriptor(), "address")
        .ignore("access_log", "ignored: the admin listener does not write an access log")
        .ignore("access_log_path", "ignored: the admin listener does not write an access log")
        .ignore("profile_path", SAFE);
    rules(Address.getDescriptor(), "socket_address");
    // ipv4_compat: a listener at [::] takes IPv4 connections too (one dual-stack socket, IPV6_V6ONLY off), as Envoy
    // with it. Keelson's [::] sockets are dual-stack without it as well (Linux's default), where Envoy's are IPv6 only.
    rules(SocketAddress.getDescriptor(), "address", "port_value", "protocol", "ipv4_compat");
    rules(Listener.getDescriptor(), "name", "address", "filter_chains", "listener_filters", "use_original_dst",
            "bind_to_port", "default_filter_chain", "access_log", // written for connections no filter chain matches
            "listener_filters_timeout", "continue_on_listener_filters_timeout", // the http_inspector's (the TLS inspector waits 15 s)
            "metadata", // read: filter_metadata["keelson.io/name_table"] (NameTableTranslator); other keys are free-form
            "udp_listener_config", // a UDP listener's (UdpProxyTranslator)
            "traffic_direction") // OUTBOUND: Zipkin spans are CLIENT spans (TracingTranslator)
        .ignore("stat_prefix", SAFE)
        .ignore("drain_type", SAFE)
        .ignore("per_connection_buffer_limit_bytes", "ignored: Keelson applies backpressure instead of a buffer limit")
        .ignore("enable_reuse_port", SAFE)
        .ignore("reuse_port", SAFE)
        .ignore("tcp_backlog_size", SAFE)
        .ignore("connection_balance_config", SAFE);
    // name: a chain selected by destination is served as listener "<listener>/<chain name>".
    rules(FilterChain.getDescriptor(), "filters", "transport_socket", "filter_chain_match", "name")
        .ignore("metadata", SAFE)
        .ignore("transport_socket_connect_timeout", "ignored: the TLS handshake is bounded by Netty's handshake timeout (10 s)");
    // application_protocols: the protocol envoy.filters.listener.http_inspector detects (plaintext chains).
    rules(io.envoyproxy.envoy.config.listener.v3.FilterChainMatch.getDescriptor(), "server_names", "transport_protocol",
            "destination_port", "prefix_ranges", "application_protocols")
        .reject("source_prefix_ranges", "chains are selected by destination_port, prefix_ranges, server_names,"
            + " transport_protocol and application_protocols only");
    rules(io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector.getDescriptor());
    rules(io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst.getDescriptor());
    // The upstream PROXY protocol header carries the downstream's addresses only: no TLVs, no pool key by TLV.
    rules(io.envoyproxy.envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport.getDescriptor(),
        "config", "transport_socket");
    rules(io.envoyproxy.envoy.config.core.v3.ProxyProtocolConfig.getDescriptor(), "version");
    rules(io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer.getDescriptor());
    // TLVs are skipped, not read: rules (TLVs to metadata) and pass_through_tlvs are refused by this list.
    rules(io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol.getDescriptor(),
        "allow_requests_without_proxy_protocol", "disallowed_versions", "stat_prefix");
    rules(io.envoyproxy.envoy.config.listener.v3.ListenerFilter.getDescriptor(), "name", "typed_config");
    udpProxy();
    rules(io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector.getDescriptor())
        .ignore("enable_ja3_fingerprinting", SAFE)
        .ignore("initial_read_buffer_size", SAFE);
    rules(io.envoyproxy.envoy.config.core.v3.TransportSocket.getDescriptor(), "name", "typed_config");
    rules(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.getDescriptor(),
            "common_tls_context", "require_client_certificate")
        .ignore("session_timeout", "ignored: sessions live 300 s")
        .reject("session_ticket_keys", "ticket keys are generated by the TLS library")
        .reject("session_ticket_keys_sds_secret_config", "ticket keys are generated by the TLS library");
    rules(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.getDescriptor(),
            "common_tls_context", "sni")
        .ignore("max_session_keys", "ignored: the client session cache is bounded by the TLS library");
    rules(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.getDescriptor(),
            "tls_params", "tls_certificates", "validation_context", "alpn_protocols",
            "tls_certificate_sds_secret_configs", "validation_context_sds_secret_config", "combined_validation_context");
    // SDS secrets are resolved locally from the proxy's workload identity ("default", "ROOTCA"), as Istio's agent does.
    rules(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig.getDescriptor(), "name", "sds_config");
    rules(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.CombinedCertificateValidationContext
        .getDescriptor(), "default_validation_context", "validation_context_sds_secret_config");
    rules(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate.getDescriptor(),
        "certificate_chain", "private_key");
    rules(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext.getDescriptor(),
        "trusted_ca", "match_typed_subject_alt_names", "match_subject_alt_names");
    rules(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher.getDescriptor(),
        "san_type", "matcher");
    rules(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.getDescriptor(),
        "tls_minimum_protocol_version", "tls_maximum_protocol_version", "cipher_suites", "ecdh_curves");
    rules(Filter.getDescriptor(), "name", "typed_config");
    rules(HttpConnectionManager.getDescriptor(),
            "codec_type", "stat_prefix", "route_config", "http_filters", "use_remote_address",
            "generate_request_id", "request_timeout", "common_http_protocol_options", "max_request_headers_kb",
            "access_log", "tracing", "http2_protocol_options", "stream_idle_timeout", "upgrade_configs",
            "forward_client_cert_details", "set_current_client_cert_details", "xff_num_trusted_hops", "skip_xff_append",
            "internal_address_config", "preserve_external_request_id", "normalize_path", "merge_slashes",
            "path_with_escaped_slashes_action", "local_reply_config",
            "http3_protocol_options") // on a QUIC listener only (SnapshotTranslator), and empty
        .reject("path_normalization_options", "not supported (Envoy does not implement it either); use normalize_path,"
            + " merge_slashes and path_with_escaped_slashes_action")
        .ignore("access_log_options", "ignored: access logs are flushed by their writer thread")
        .ignore("server_name", SAFE)
        .ignore("server_header_transformation", SAFE)
        .ignore("add_user_agent", SAFE)
        .dynamic("rds", "rds needs an xDS source (dynamic_resources.ads_config); use an inline route_config");
    rules(HttpConnectionManager.InternalAddressConfig.getDescriptor(), "unix_sockets", "cidr_ranges");
    rules(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.LocalReplyConfig.getDescriptor(),
        "mappers", "body_format");
    rules(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.ResponseMapper.getDescriptor(),
        "filter", "status_code", "body", "body_format_override", "headers_to_add");
    rules(HttpFilter.getDescriptor(), "name", "typed_config", "is_optional");
    rules(io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.getDescriptor(), "delay", "abort", "max_active_faults")
        .reject("headers", "fault injection applies to every request of the filter's routes; header matching is not supported")
        .reject("upstream_cluster", "fault injection by upstream cluster is not supported")
        .reject("downstream_nodes", "fault injection by downstream node is not supported")
        .reject("response_rate_limit", "response rate limiting is not supported")
        .ignore("delay_percent_runtime", "ignored: Keelson has no runtime")
        .ignore("abort_percent_runtime", "ignored: Keelson has no runtime")
        .ignore("delay_duration_runtime", "ignored: Keelson has no runtime")
        .ignore("abort_http_status_runtime", "ignored: Keelson has no runtime")
        .ignore("abort_grpc_status_runtime", "ignored: Keelson has no runtime")
        .ignore("max_active_faults_runtime", "ignored: Keelson has no runtime")
        .ignore("disable_downstream_cluster_stats", SAFE);
    rules(io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay.getDescriptor(), "fixed_delay", "header_delay", "percentage");
    rules(io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay.HeaderDelay.getDescriptor());
    rules(io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort.getDescriptor(), "http_status", "grpc_status", "header_abort", "percentage");
    rules(io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort.HeaderAbort.getDescriptor());
    rules(io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit.getDescriptor(),
            "stat_prefix", "status", "token_bucket", "filter_enabled", "filter_enforced", "response_headers_to_add",
            "enable_x_ratelimit_headers")
        .reject("descriptors", "rate limit descriptors are not supported; use token_bucket")
        .reject("request_headers_to_add_when_not_enforced", "not supported yet")
        .reject("local_rate_limit_per_downstream_connection", "the bucket is always shared by the whole process")
        .reject("rate_limits", "rate limit actions are not supported; use token_bucket")
        .ignore("stage", SAFE)
        .ignore("vh_rate_limits", SAFE)
        .ignore("always_consume_default_token_bucket", SAFE);
    rules(io.envoyproxy.envoy.type.v3.HttpStatus.getDescriptor(), "code");
    jwtAuthn();
    cors();
    rules(io.envoyproxy.envoy.extensions.filters.http.grpc_web.v3.GrpcWeb.getDescriptor()); // no fields
    rules(io.envoyproxy.envoy.extensions.filters.http.csrf.v3.CsrfPolicy.getDescriptor(), "filter_enabled", "shadow_enabled",
        "additional_origins");
    rules(io.envoyproxy.envoy.extensions.filters.http.basic_auth.v3.BasicAuth.getDescriptor(), "users",
        "forward_username_header", "authentication_header");
    rules(io.envoyproxy.envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute.getDescriptor(), "users");
    rules(io.envoyproxy.envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit.getDescriptor(), "stat_prefix",
        "enable_mode", "limit_kbps", "fill_interval", "runtime_enabled", "enable_response_trailers")
        .reject("response_trailer_prefix", "delay trailers are not supported; expected none");
    grpcJsonTranscoder();
    rules(io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer.getDescriptor(), "max_request_bytes");
    rules(io.envoyproxy.envoy.extensions.filters.http.buffer.v3.BufferPerRoute.getDescriptor(), "disabled", "buffer");
    // session_state (a TypedExtensionConfig, not walked) is read by filter/statefulsession, which names what it refuses
    rules(io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.getDescriptor(), "session_state", "strict");
    rules(io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute.getDescriptor(),
        "disabled", "stateful_session");
    rules(io.envoyproxy.envoy.extensions.filters.http.health_check.v3.HealthCheck.getDescriptor(), "pass_through_mode",
            "headers")
        .reject("cache_time", "caching pass-through health check answers is not supported; every health check is"
            + " forwarded (remove cache_time)")
        .reject("cluster_min_healthy_percentages", "answering from upstream clusters' healthy share is not supported;"
            + " expected none");
    compression();
    extAuthz();
    extProc();
    rateLimit();
    rules(io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit.getDescriptor(),
        "stat_prefix", "token_bucket", "runtime_enabled", "share_key");
    rules(io.envoyproxy.envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit.getDescriptor(),
        "stat_prefix", "max_connections", "delay", "runtime_enabled");
    rules(io.envoyproxy.envoy.config.core.v3.RuntimeFeatureFlag.getDescriptor(), "default_value", "runtime_key");
    rules(io.envoyproxy.envoy.type.v3.TokenBucket.getDescriptor(), "max_tokens", "tokens_per_fill", "fill_interval");
    rules(HttpConnectionManager.SetCurrentClientCertDetails.getDescriptor(), "uri")
        .reject("subject", "only uri is added to x-forwarded-client-cert (with By and Hash)")
        .reject("cert", "only uri is added to x-forwarded-client-cert (with By and Hash)")
        .reject("chain", "only uri is added to x-forwarded-client-cert (with By and Hash)")
        .reject("dns", "only uri is added to x-forwarded-client-cert (with By and Hash)");
    rules(HttpConnectionManager.UpgradeConfig.getDescriptor(), "upgrade_type", "enabled")
        .reject("filters", "upgrades run the connection manager's own filter chain");
    rules(RouteAction.UpgradeConfig.getDescriptor(), "upgrade_type", "enabled", "connect_config");
    rules(RouteAction.UpgradeConfig.ConnectConfig.getDescriptor())
        .reject("proxy_protocol_config", "a PROXY protocol header before the CONNECT payload is not supported")
        .reject("allow_post", "only CONNECT is terminated; POST is not turned into a TCP tunnel");
    rules(HttpConnectionManager.Tracing.getDescriptor(), "provider", "random_sampling",
            "max_path_tag_length") // the Zipkin tracer's http.url tag; OpenTelemetry's url.path is not cut
        .ignore("custom_tags", "ignored: spans carry the tracer's own HTTP attributes or tags only")
        .ignore("verbose", SAFE)
        .reject("client_sampling", "only random_sampling is supported")
        .reject("overall_sampling", "only random_sampling is supported");
    rules(io.envoyproxy.envoy.config.trace.v3.Tracing.Http.getDescriptor(), "name", "typed_config");
    // collector_endpoint_version: HTTP_JSON or HTTP_PROTO (GRPC and the deprecated default refused by TracingTranslator).
    rules(io.envoyproxy.envoy.config.trace.v3.ZipkinConfig.getDescriptor(), "collector_cluster", "collector_endpoint",
            "trace_id_128bit", "shared_span_context", "collector_endpoint_version", "collector_hostname")
        .reject("split_spans_for_request", "not supported: a hop reports one span (its CLIENT or SERVER span), as with"
            + " split_spans_for_request false");
    rules(io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.getDescriptor(), "grpc_service", "service_name")
        .reject("http_service", "only OTLP over gRPC (grpc_service) is supported");
    // timeout and authority are read by ext_authz's grpc_service (the OTLP exporter does not use them).
    rules(io.envoyproxy.envoy.config.core.v3.GrpcService.getDescriptor(), "envoy_grpc", "timeout")
        .ignore("initial_metadata", SAFE)
        .reject("google_grpc", "use envoy_grpc with a cluster");
    rules(io.envoyproxy.envoy.config.core.v3.GrpcService.EnvoyGrpc.getDescriptor(), "cluster_name", "authority");
    rules(AccessLog.getDescriptor(), "name", "typed_config", "filter");
    accessLogFilters();
    rules(FileAccessLog.getDescriptor(), "path", "log_format")
        .reject("format", "deprecated; use log_format.text_format_source")
        .reject("json_format", "deprecated; use log_format.json_format")
        .reject("typed_json_format", "deprecated; use log_format.json_format");
    rules(StdoutAccessLog.getDescriptor(), "log_format");
    rules(SubstitutionFormatString.getDescriptor(), "text_format_source", "text_format", "json_format", "content_type")
        .reject("omit_empty_values", "empty values are written as Envoy's \"-\"")
        .reject("formatters", "formatter extensions are not supported");
    rules(Router.getDescriptor(), "suppress_envoy_headers")
        .ignore("dynamic_stats", SAFE)
        .ignore("start_child_span", SAFE)
        .ignore("upstream_log", "ignored: upstream access logs are not written yet");
    rules(HttpProtocolOptions.getDescriptor(), "idle_timeout", "max_headers_count", "max_connection_duration",
        "max_requests_per_connection"); // the last on clusters only: SnapshotTranslator refuses it on a connection manager
    rules(Http1ProtocolOptions.getDescriptor());
    rules(io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions.getDescriptor(),
            "max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size", "connection_keepalive",
            "allow_connect")
        .ignore("hpack_table_size", SAFE)
        .ignore("override_stream_error_on_invalid_http_message", SAFE)
        .ignore("max_outbound_frames", "ignored: Netty bounds queued control frames itself (10000)")
        .ignore("max_outbound_control_frames", "ignored: Netty bounds queued control frames itself (10000)");
    rules(io.envoyproxy.envoy.config.core.v3.KeepaliveSettings.getDescriptor(), "interval", "timeout")
        .ignore("interval_jitter", "ignored: PINGs are sent at the exact interval")
        .ignore("connection_idle_interval", "ignored: no PING before reusing an idle connection");
    rules(RouteConfiguration.getDescriptor(),
            "name", "virtual_hosts", "request_headers_to_add", "request_headers_to_remove",
            "response_headers_to_add", "response_headers_to_remove")
        .ignore("validate_clusters", "ignored: Keelson always rejects routes to clusters that do not exist")
        .ignore("metadata", SAFE);
    rules(VirtualHost.getDescriptor(),
            "name", "domains", "routes", "request_headers_to_add", "request_headers_to_remove",
            "response_headers_to_add", "response_headers_to_remove", "retry_policy", "per_request_buffer_limit_bytes",
            "include_request_attempt_count", "include_attempt_count_in_response", "rate_limits")
        .ignore("virtual_clusters", "ignored: virtual clusters only add stats")
        .supportAlso("typed_per_filter_config")
        .supportAlso("cors")
        .ignore("metadata", SAFE);
    rules(Route.getDescriptor(),
            "name", "match", "route", "redirect", "direct_response", "request_headers_to_add",
            "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove",
            "per_request_buffer_limit_bytes", "typed_per_filter_config")
        .ignore("metadata", SAFE)
        .ignore("decorator", "ignored: tracing is not implemented yet")
        .ignore("tracing", "ignored: tracing is not implemented yet")
        .ignore("stat_prefix", SAFE);
    rules(RouteMatch.getDescriptor(),
        "prefix", "path", "safe_regex", "path_separated_prefix", "connect_matcher", "case_sensitive", "headers",
        "query_parameters", "grpc", "dynamic_metadata");
    rules(RouteMatch.GrpcRouteMatchOptions.getDescriptor());
    rules(RouteMatch.ConnectMatcher.getDescriptor());
    rules(HeaderMatcher.getDescriptor(),
        "name", "exact_match", "safe_regex_match", "present_match", "prefix_match", "suffix_match",
        "contains_match", "string_match", "invert_match", "treat_missing_header_as_empty");
    rules(StringMatcher.getDescriptor(), "exact", "prefix", "suffix", "safe_regex", "contains", "ignore_case");
    rules(RegexMatcher.getDescriptor(), "regex").ignore("google_re2", SAFE);
    rules(io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute.getDescriptor(), "pattern", "substitution");
    rules(QueryParameterMatcher.getDescriptor(), "name", "string_match", "present_match");
    rules(RouteAction.getDescriptor(), "cluster", "weighted_clusters", "prefix_rewrite", "regex_rewrite",
            "host_rewrite_literal", "timeout", "retry_policy", "priority", "request_mirror_policies", "upgrade_configs",
            "rate_limits", "include_vh_rate_limits")
        .supportAlso("hash_policy")
        .supportAlso("cors")
        .ignore("cluster_not_found_response_code", "ignored: Keelson rejects routes to clusters that do not exist at start-up");
    rules(io.envoyproxy.envoy.config.route.v3.RetryPolicy.getDescriptor(),
            "retry_on", "num_retries", "per_try_timeout", "retry_back_off", "retriable_status_codes",
            "retry_host_predicate", "host_selection_retry_max_attempts")
        .reject("retry_priority", "retry priorities are not supported; retries use the route's priority")
        .reject("rate_limited_retry_back_off", "rate-limited backoff is not supported; use retry_back_off")
        .reject("retriable_headers", "retriable_headers are not supported; use retry_on and retriable_status_codes")
        .reject("retriable_request_headers", "retriable_request_headers are not supported")
        .reject("per_try_idle_timeout", "per_try_idle_timeout is not supported; use per_try_timeout");
    rules(io.envoyproxy.envoy.config.route.v3.RetryPolicy.RetryBackOff.getDescriptor(), "base_interval", "max_interval");
    rules(io.envoyproxy.envoy.config.route.v3.RetryPolicy.RetryHostPredicate.getDescriptor(), "name", "typed_config");
    rules(io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate.getDescriptor());
    rules(RouteAction.RequestMirrorPolicy.getDescriptor(), "cluster", "runtime_fraction")
        .ignore("trace_sampled", SAFE);
    rules(io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent.getDescriptor(), "default_value")
        .ignore("runtime_key", "ignored: Keelson has no runtime layer; default_value applies");
    rules(io.envoyproxy.envoy.type.v3.FractionalPercent.getDescriptor(), "numerator", "denominator");
    rules(WeightedCluster.getDescriptor(), "clusters", "total_weight").ignore("runtime_key_prefix", SAFE);
    rules(WeightedCluster.ClusterWeight.getDescriptor(),
        "name", "weight", "request_headers_to_add", "request_headers_to_remove",
        "response_headers_to_add", "response_headers_to_remove");
    rules(RouteAction.HashPolicy.getDescriptor(), "header", "cookie", "connection_properties", "query_parameter", "terminal")
        .reject("filter_state", "filter state is not supported");
    rules(RouteAction.HashPolicy.Header.getDescriptor(), "header_name")
        .reject("regex_rewrite", "not supported yet");
    rules(RouteAction.HashPolicy.Cookie.getDescriptor(), "name", "ttl", "path")
        .reject("attributes", "cookie attributes are not supported");
    rules(RouteAction.HashPolicy.ConnectionProperties.getDescriptor(), "source_ip");
    rules(RouteAction.HashPolicy.QueryParameter.getDescriptor(), "name");
    rules(RedirectAction.getDescriptor(),
        "https_redirect", "scheme_redirect", "host_redirect", "port_redirect", "path_redirect",
        "prefix_rewrite", "response_code", "strip_query");
    rules(DirectResponseAction.getDescriptor(), "status", "body");
    rules(DataSource.getDescriptor(), "inline_string", "inline_bytes", "filename");
    rules(HeaderValueOption.getDescriptor(), "header", "append", "append_action");
    rules(HeaderValue.getDescriptor(), "key", "value");
    rules(Cluster.getDescriptor(),
            "name", "type", "connect_timeout", "lb_policy", "load_assignment", "typed_extension_protocol_options",
            "http2_protocol_options", "circuit_breakers", "outlier_detection", "health_checks", "common_lb_config",
            "round_robin_lb_config", "least_request_lb_config", "transport_socket", "original_dst_lb_config",
            "cleanup_interval", "upstream_bind_config", "upstream_connection_options", "transport_socket_matches", "filters",
            "dns_lookup_family", "dns_refresh_rate", "dns_failure_refresh_rate", "respect_dns_ttl", "dns_jitter",
            "typed_dns_resolver_config", "dns_resolvers", "dns_resolution_config", "use_tcp_for_dns_lookups")
        .ignore("alt_stat_name", SAFE)
        .ignore("metadata", SAFE)
        .ignore("per_connection_buffer_limit_bytes", "ignored: Keelson applies backpressure instead of a buffer limit")
        .supportAlso("maglev_lb_config")
        .supportAlso("ring_hash_lb_config")
        .dynamic("eds_cluster_config", "EDS needs an xDS source (dynamic_resources.ads_config)");
    rules(Cluster.RefreshRate.getDescriptor(), "base_interval", "max_interval");
    // The DNS resolver config: typed_dns_resolver_config is a leaf here, DnsResolverTranslator checks its typed_config.
    rules(io.envoyproxy.envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig.getDescriptor(),
            "resolvers", "dns_resolver_options", "query_timeout_seconds", "rotate_nameservers", "query_tries",
            "use_resolvers_as_fallback")
        .ignore("udp_max_queries", "ignored: every lookup asks over UDP from a socket of its own")
        .reject("filter_unroutable_families", "use dns_lookup_family to choose the address families");
    rules(io.envoyproxy.envoy.config.core.v3.DnsResolutionConfig.getDescriptor(), "resolvers", "dns_resolver_options");
    rules(io.envoyproxy.envoy.config.core.v3.DnsResolverOptions.getDescriptor(),
        "use_tcp_for_dns_lookups", "no_default_search_domain");
    rules(io.envoyproxy.envoy.config.cluster.v3.UpstreamConnectionOptions.getDescriptor(), "tcp_keepalive")
        .reject("set_local_interface_name_on_upstream_connections", "not supported")
        .reject("happy_eyeballs_config", "not supported: endpoints are connected by the address they name");
    rules(io.envoyproxy.envoy.config.core.v3.TcpKeepalive.getDescriptor(), "keepalive_probes", "keepalive_time",
        "keepalive_interval");
    rules(io.envoyproxy.envoy.config.core.v3.BindConfig.getDescriptor(), "source_address", "extra_source_addresses")
        .reject("freebind", "IP_FREEBIND on upstream sockets is not supported; the source_address must be local")
        .reject("socket_options", "socket options on upstream sockets are not supported")
        .reject("additional_source_addresses", "deprecated in Envoy; use extra_source_addresses")
        .reject("local_address_selector", "a local address selector is not supported; use source_address");
    rules(io.envoyproxy.envoy.config.core.v3.ExtraSourceAddress.getDescriptor(), "address")
        .reject("socket_options", "socket options on upstream sockets are not supported");
    rules(io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.getDescriptor(), "thresholds")
        .reject("per_host_thresholds", "per-host circuit breakers are not supported; use thresholds");
    rules(io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.Thresholds.getDescriptor(),
            "priority", "max_connections", "max_pending_requests", "max_requests", "max_retries", "retry_budget",
            "track_remaining") // remaining_* gauges are always published (istiod sets it on every cluster)
        .reject("max_connection_pools", "max_connection_pools is not supported");
    rules(io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.Thresholds.RetryBudget.getDescriptor(),
        "budget_percent", "min_retry_concurrency");
    rules(io.envoyproxy.envoy.config.cluster.v3.OutlierDetection.getDescriptor(),
        "consecutive_5xx", "consecutive_gateway_failure", "interval", "base_ejection_time", "max_ejection_time",
        "max_ejection_percent", "enforcing_consecutive_5xx", "enforcing_consecutive_gateway_failure",
        "enforcing_success_rate", "success_rate_minimum_hosts", "success_rate_request_volume",
        "success_rate_stdev_factor", "failure_percentage_threshold", "enforcing_failure_percentage",
        "failure_percentage_minimum_hosts", "failure_percentage_request_volume", "split_external_local_origin_errors",
        "consecutive_local_origin_failure", "enforcing_consecutive_local_origin_failure");
    rules(io.envoyproxy.envoy.config.core.v3.HealthCheck.getDescriptor(),
            "timeout", "interval", "interval_jitter", "unhealthy_threshold", "healthy_threshold",
            "http_health_check", "tcp_health_check", "grpc_health_check", "no_traffic_interval",
            "no_traffic_healthy_interval", "unhealthy_interval", "unhealthy_edge_interval", "healthy_edge_interval")
        .ignore("initial_jitter", SAFE)
        .ignore("reuse_connection", "ignored: each check opens its own connection")
        .ignore("event_log_path", SAFE)
        .ignore("always_log_health_check_failures", SAFE)
        .ignore("always_log_health_check_success", SAFE)
        .reject("interval_jitter_percent", "use interval_jitter")
        .reject("alt_port", "checks go to the endpoint's own port")
        .reject("custom_health_check", "only http, tcp and grpc health checks are supported")
        .reject("tls_options", "health checks are plaintext");
    rules(io.envoyproxy.envoy.config.core.v3.HealthCheck.HttpHealthCheck.getDescriptor(), "path", "host", "expected_statuses")
        .ignore("codec_client_type", "ignored: checks use HTTP/1.1")
        .reject("send", "request bodies are not supported")
        .reject("receive", "response body matching is not supported")
        .reject("request_headers_to_add", "not supported yet")
        .reject("retriable_statuses", "not supported yet")
        .reject("method", "checks use GET");
    rules(io.envoyproxy.envoy.type.v3.Int64Range.getDescriptor(), "start", "end");
    rules(io.envoyproxy.envoy.config.core.v3.HealthCheck.TcpHealthCheck.getDescriptor())
        .reject("send", "only connect checks (empty send and receive) are supported")
        .reject("receive", "only connect checks (empty send and receive) are supported");
    rules(io.envoyproxy.envoy.config.core.v3.HealthCheck.GrpcHealthCheck.getDescriptor(), "service_name", "authority")
        .reject("initial_metadata", "not supported yet");
    rules(Cluster.CommonLbConfig.getDescriptor(), "healthy_panic_threshold")
        .ignore("update_merge_window", SAFE)
        .ignore("close_connections_on_host_set_change", SAFE)
        .ignore("ignore_new_hosts_until_first_hc", "ignored: new endpoints are healthy until a check fails")
        .reject("zone_aware_lb_config", "zone-aware balancing is not supported")
        .supportAlso("locality_weighted_lb_config")
        .supportAlso("override_host_status")
        .reject("consistent_hashing_lb_config", "not supported yet");
    rules(io.envoyproxy.envoy.type.v3.Percent.getDescriptor(), "value");
    rules(Cluster.CommonLbConfig.LocalityWeightedLbConfig.getDescriptor());
    rules(Cluster.RoundRobinLbConfig.getDescriptor(), "slow_start_config");
    rules(Cluster.OriginalDstLbConfig.getDescriptor(), "use_http_header", "http_header_name")
        .reject("upstream_port_override", "not supported yet")
        .reject("metadata_key", "not supported yet");
    rules(Cluster.LeastRequestLbConfig.getDescriptor(), "slow_start_config")
        .reject("choice_count", "least request compares two endpoints (power of two choices)")
        .reject("active_request_bias", "the active request bias is 1.0");
    rules(Cluster.SlowStartConfig.getDescriptor(), "slow_start_window", "aggression", "min_weight_percent");
    rules(io.envoyproxy.envoy.config.core.v3.RuntimeDouble.getDescriptor(), "default_value")
        .ignore("runtime_key", "ignored: Keelson has no runtime");
    rules(Cluster.TransportSocketMatch.getDescriptor(), "name", "match", "transport_socket");
    rules(Cluster.RingHashLbConfig.getDescriptor(), "minimum_ring_size", "maximum_ring_size", "hash_function");
    rules(Cluster.MaglevLbConfig.getDescriptor(), "table_size");
    rules(ClusterLoadAssignment.getDescriptor(), "cluster_name", "endpoints").ignore("policy", SAFE);
    // metadata: filter_metadata["envoy.transport_socket_match"] is read (TransportSocketMatches); other keys are free-form
    rules(LocalityLbEndpoints.getDescriptor(), "lb_endpoints", "locality", "load_balancing_weight", "priority",
        "metadata");
    rules(io.envoyproxy.envoy.config.core.v3.Locality.getDescriptor(), "region", "zone", "sub_zone");
    rules(LbEndpoint.getDescriptor(), "endpoint", "load_balancing_weight", "metadata");
    rules(Endpoint.getDescriptor(), "address").ignore("hostname", SAFE);
    rules(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.getDescriptor(), "explicit_http_config",
        "common_http_protocol_options");
    rules(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig.getDescriptor(),
        "http_protocol_options", "http2_protocol_options");
    rules(TcpProxy.getDescriptor(), "stat_prefix", "cluster", "weighted_clusters", "idle_timeout", "access_log",
        "access_log_options", "tunneling_config", "hash_policy");
    rules(TcpProxy.TunnelingConfig.getDescriptor(), "hostname", "use_post", "post_path", "headers_to_add")
        // Envoy stores them in the connection's filter state (envoy.tcp_proxy.propagate_response_headers /
        // _trailers), read only by other filters and %FILTER_STATE(...)%: Keelson has neither, so they would be dropped.
        .reject("propagate_response_headers", "Keelson keeps no connection filter state and its access logs have no"
            + " %FILTER_STATE(...)% operator, so nothing could read the tunnel's response headers; expected the field unset")
        .reject("propagate_response_trailers", "Keelson keeps no connection filter state and its access logs have no"
            + " %FILTER_STATE(...)% operator, so nothing could read the tunnel's response trailers; expected the field unset");
    rules(io.envoyproxy.envoy.type.v3.HashPolicy.getDescriptor(), "source_ip")
        .reject("filter_state", "filter_state hashing is not supported; expected source_ip");
    rules(io.envoyproxy.envoy.type.v3.HashPolicy.SourceIp.getDescriptor());
    rules(TcpProxy.TcpAccessLogOptions.getDescriptor(), "flush_access_log_on_connected", "access_log_flush_interval");
    rules(TcpProxy.WeightedCluster.getDescriptor(), "clusters");
    rules(TcpProxy.WeightedCluster.ClusterWeight.getDescriptor(), "name", "weight");
  }

  /** envoy.filters.http.cors (filter/cors): the filter's CorsPolicy and the deprecated route/virtual host cors. */
  private static void accessLogFilters() {
    String noRuntime = "Keelson has no runtime to read access-log filter values from; expected a default_value only";
    rules(io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter.getDescriptor(), "status_code_filter",
        "duration_filter", "not_health_check_filter", "traceable_filter", "header_filter", "response_flag_filter",
        "grpc_status_filter", "log_type_filter", "and_filter", "or_filter", "extension_filter")
        .reject("runtime_filter", "runtime sampling is not supported: Keelson has no runtime; expected another filter")
        .reject("metadata_filter", "dynamic metadata is not kept for the access log; expected another filter");
    rules(io.envoyproxy.envoy.config.accesslog.v3.StatusCodeFilter.getDescriptor(), "comparison");
    rules(io.envoyproxy.envoy.config.accesslog.v3.DurationFilter.getDescriptor(), "comparison");
    rules(io.envoyproxy.envoy.config.accesslog.v3.ComparisonFilter.getDescriptor(), "op", "value");
    rules(io.envoyproxy.envoy.config.core.v3.RuntimeUInt32.getDescriptor(), "default_value")
        .reject("runtime_key", noRuntime);
    rules(io.envoyproxy.envoy.config.accesslog.v3.NotHealthCheckFilter.getDescriptor());
    rules(io.envoyproxy.envoy.config.accesslog.v3.TraceableFilter.getDescriptor());
    rules(io.envoyproxy.envoy.config.accesslog.v3.HeaderFilter.getDescriptor(), "header");
    rules(io.envoyproxy.envoy.config.accesslog.v3.ResponseFlagFilter.getDescriptor(), "flags");
    rules(io.envoyproxy.envoy.config.accesslog.v3.GrpcStatusFilter.getDescriptor(), "statuses", "exclude");
    rules(io.envoyproxy.envoy.config.accesslog.v3.LogTypeFilter.getDescriptor(), "types", "exclude");
    rules(io.envoyproxy.envoy.config.accesslog.v3.AndFilter.getDescriptor(), "filters");
    rules(io.envoyproxy.envoy.config.accesslog.v3.OrFilter.getDescriptor(), "filters");
    rules(io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter.getDescriptor(), "name", "typed_config");
    rules(io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter.getDescriptor(), "expression");
  }

  private static void cors() {
    rules(io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors.getDescriptor());
    String[] policy = {"allow_origin_string_match", "allow_methods", "allow_headers", "expose_headers", "max_age",
        "allow_credentials", "filter_enabled", "shadow_enabled", "allow_private_network_access",
        "forward_not_matching_preflights"};
    rules(io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy.getDescriptor(), policy);
    rules(io.envoyproxy.envoy.config.route.v3.CorsPolicy.getDescriptor(), policy);
  }

  /**
   * envoy.filters.http.compressor and decompressor (filter/compressor, filter/decompressor). The library's Any is not
   * walked here (TypedExtensionConfig is a leaf): the factories read it and refuse other libraries by type.
   */
  private static void compression() {
    rules(io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor.getDescriptor(), "compressor_library",
        "request_direction_config", "response_direction_config", "choose_first", "content_length", "content_type",
        "disable_on_etag_header", "remove_accept_encoding_header", "runtime_enabled");
    rules(io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor.CommonDirectionConfig.getDescriptor(),
        "enabled", "min_content_length", "content_type");
    rules(io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor.RequestDirectionConfig.getDescriptor(),
        "common_config");
    rules(io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor.ResponseDirectionConfig.getDescriptor(),
        "common_config", "disable_on_etag_header", "remove_accept_encoding_header", "uncompressible_response_codes");
    rules(io.envoyproxy.envoy.extensions.filters.http.compressor.v3.CompressorPerRoute.getDescriptor(), "disabled", "overrides");
    rules(io.envoyproxy.envoy.extensions.filters.http.compressor.v3.CompressorOverrides.getDescriptor(),
        "response_direction_config");
    rules(io.envoyproxy.envoy.extensions.filters.http.compressor.v3.ResponseDirectionOverrides.getDescriptor(),
        "remove_accept_encoding_header");
    rules(io.envoyproxy.envoy.extensions.filters.http.decompressor.v3.Decompressor.getDescriptor(), "decompressor_library",
        "request_direction_config", "response_direction_config");
    rules(io.envoyproxy.envoy.extensions.filters.http.decompressor.v3.Decompressor.CommonDirectionConfig.getDescriptor(),
        "enabled", "ignore_no_transform_header");
    rules(io.envoyproxy.envoy.extensions.filters.http.decompressor.v3.Decompressor.RequestDirectionConfig.getDescriptor(),
        "common_config", "advertise_accept_encoding");
    rules(io.envoyproxy.envoy.extensions.filters.http.decompressor.v3.Decompressor.ResponseDirectionConfig.getDescriptor(),
        "common_config");
  }

  /** envoy.filters.http.ext_authz (filter/extauthz): the HTTP authorization service. */
  private static void extAuthz() {
    String notYet = "not supported yet";
    rules(io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz.getDescriptor(),
            "http_service", "grpc_service", "failure_mode_allow", "failure_mode_allow_header_add", "status_on_error",
            "allowed_headers", "disallowed_headers", "filter_enabled_metadata")
        .ignore("transport_api_version", SAFE)
        .ignore("stat_prefix", "ignored: counters are http.<stat_prefix>.ext_authz.ok/denied/error/failure_mode_allowed/disabled")
        .ignore("clear_route_cache", "ignored: the check answers after the request was routed (routes are chosen again only after filters before ext_authz, e.g. jwt_authn's clear_route_cache)")
        .ignore("include_peer_certificate", "ignored: the http_service check carries no peer certificate")
        .ignore("include_tls_session", "ignored: the http_service check carries no TLS session")
        .ignore("charge_cluster_response_stats", "ignored: the authorization cluster's response stats are always charged")
        .reject("with_request_body", "request bodies are not sent to the authorization service yet")
        .reject("filter_enabled", "use per-route disabled: true")
        .reject("deny_at_disable", notYet)
        .reject("metadata_context_namespaces", notYet)
        .reject("typed_metadata_context_namespaces", notYet)
        .reject("route_metadata_context_namespaces", notYet)
        .reject("route_typed_metadata_context_namespaces", notYet)
        .reject("validate_mutations", notYet)
        .reject("decoder_header_mutation_rules", notYet)
        .reject("encode_raw_headers", notYet)
        .reject("enable_dynamic_metadata_ingestion", notYet)
        .reject("filter_metadata", notYet)
        .reject("emit_filter_state_stats", notYet)
        .reject("bootstrap_metadata_labels_key", notYet);
    rules(io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.HttpService.getDescriptor(),
        "server_uri", "path_prefix", "authorization_request", "authorization_response");
    rules(io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationRequest.getDescriptor(),
        "allowed_headers", "headers_to_add");
    rules(io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationResponse.getDescriptor(),
            "allowed_upstream_headers", "allowed_upstream_headers_to_append", "allowed_client_headers")
        .reject("allowed_client_headers_on_success", notYet)
        .reject("dynamic_metadata_from_headers", notYet);
    rules(io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute.getDescriptor(), "disabled")
        .reject("check_settings", "per-route check settings are not supported; use disabled: true");
    rules(io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher.getDescriptor(), "patterns");
    // envoy.filters.network.ext_authz (filter/extauthz NetworkAuthzCheck): one Check per tcp_proxy connection.
    rules(io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz.getDescriptor(),
            "stat_prefix", "grpc_service", "failure_mode_allow", "include_peer_certificate", "include_tls_session",
            "filter_enabled_metadata")
        .ignore("transport_api_version", SAFE)
        .reject("bootstrap_metadata_labels_key", notYet);
  }

  /** envoy.filters.http.ext_proc (filter/extproc): the request- and response-headers phases of an external processor. */
  private static void extProc() {
    String notYet = "not supported yet";
    String phases = "a body is sent once its headers were answered; expected false";
    rules(io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor.getDescriptor(),
            "grpc_service", "failure_mode_allow", "processing_mode", "message_timeout", "mutation_rules", "stat_prefix",
            "allow_mode_override", "max_message_timeout", "observability_mode", "deferred_close_timeout",
            "disable_clear_route_cache", "route_cache_action", "allowed_override_modes")
        .reject("http_service", "only grpc_service (envoy_grpc) processors are supported")
        .reject("request_attributes", notYet)
        .reject("response_attributes", notYet)
        .reject("forward_rules", notYet + "; every request header is sent")
        .reject("filter_metadata", notYet)
        .reject("metadata_options", notYet)
        .reject("disable_immediate_response", notYet)
        .reject("send_body_without_waiting_for_header_response", phases)
        .reject("on_processing_response", notYet);
    // BUFFERED_PARTIAL bodies and trailers SEND with a BUFFERED body are refused by ExtProcFilterFactory, naming the field.
    rules(io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.getDescriptor(),
        "request_header_mode", "response_header_mode", "request_body_mode", "response_body_mode", "request_trailer_mode",
        "response_trailer_mode");
    String rulesWhy = "only Envoy's default mutation rules are supported (no host, :authority, :scheme, :method or "
        + "x-envoy-* changes)";
    var mutationRules = rules(io.envoyproxy.envoy.config.common.mutation_rules.v3.HeaderMutationRules.getDescriptor());
    for (var f : io.envoyproxy.envoy.config.common.mutation_rules.v3.HeaderMutationRules.getDescriptor().getFields()) {
      mutationRules.reject(f.getName(), rulesWhy);
    }
    rules(io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute.getDescriptor(), "disabled", "overrides");
    rules(io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExtProcOverrides.getDescriptor(), "processing_mode",
            "grpc_service")
        .reject("async_mode", notYet)
        .reject("request_attributes", notYet)
        .reject("response_attributes", notYet)
        .reject("grpc_initial_metadata", notYet)
        .reject("metadata_options", notYet);
  }

  /** envoy.filters.http.ratelimit (filter/rls) and the route rate_limits it reads. */
  private static void rateLimit() {
    String notYet = "not supported yet";
    rules(io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit.getDescriptor(),
            "domain", "stage", "request_type", "timeout", "failure_mode_deny", "rate_limit_service",
            "enable_x_ratelimit_headers", "rate_limited_status", "disable_x_envoy_ratelimited_header", "status_on_error")
        .reject("rate_limited_as_resource_exhausted", notYet)
        .reject("response_headers_to_add", notYet)
        .reject("stat_prefix", "counters are cluster.<route target cluster>.ratelimit.*, as without stat_prefix")
        .reject("filter_enabled", notYet)
        .reject("filter_enforced", notYet);
    rules(io.envoyproxy.envoy.config.ratelimit.v3.RateLimitServiceConfig.getDescriptor(), "grpc_service", "transport_api_version");
    String perRoute = "per-route rate limits are not supported; use the route's rate_limits (vh_rate_limits is supported)";
    rules(io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute.getDescriptor(), "vh_rate_limits")
        .reject("override_option", perRoute)
        .reject("rate_limits", perRoute)
        .reject("domain", perRoute);
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.getDescriptor(), "stage", "disable_key", "actions", "limit")
        .reject("hits_addend", notYet)
        .reject("apply_on_stream_done", notYet);
    String action = "this rate limit action is not supported; expected one of " + RateLimitTranslator.SUPPORTED;
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Action.getDescriptor(), "destination_cluster", "request_headers",
            "remote_address", "masked_remote_address", "generic_key", "header_value_match", "query_parameters",
            "query_parameter_value_match", "metadata")
        .reject("source_cluster", "source_cluster is not supported: the filter does not see the node's service cluster;"
            + " use generic_key with the cluster's name")
        .reject("dynamic_metadata", "dynamic_metadata is deprecated in Envoy; use metadata")
        .reject("extension", action);
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Action.DestinationCluster.getDescriptor());
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Action.RemoteAddress.getDescriptor());
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Action.RequestHeaders.getDescriptor(),
        "header_name", "descriptor_key", "skip_if_absent");
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Action.GenericKey.getDescriptor(), "descriptor_value", "descriptor_key");
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Action.HeaderValueMatch.getDescriptor(),
        "descriptor_key", "descriptor_value", "expect_match", "headers");
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Action.QueryParameters.getDescriptor(),
        "query_parameter_name", "descriptor_key", "skip_if_absent");
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Action.QueryParameterValueMatch.getDescriptor(),
        "descriptor_key", "descriptor_value", "expect_match", "query_parameters");
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Action.MetaData.getDescriptor(),
        "descriptor_key", "metadata_key", "default_value", "source", "skip_if_absent");
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Override.getDescriptor(), "dynamic_metadata");
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Override.DynamicMetadata.getDescriptor(), "metadata_key");
    rules(io.envoyproxy.envoy.config.route.v3.RateLimit.Action.MaskedRemoteAddress.getDescriptor(),
        "v4_prefix_mask_len", "v6_prefix_mask_len");
  }

  /** envoy.filters.http.jwt_authn (filter/jwt). */
  private static void jwtAuthn() {
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.getDescriptor(),
            "providers", "rules", "requirement_map", "bypass_cors_preflight")
        .reject("filter_state_rules", "filter state rules are not supported; use rules")
        .reject("strip_failure_response", "not supported; failures answer Envoy's 401/403 with www-authenticate")
        .ignore("stat_prefix", "ignored: counters are http.<stat_prefix>.jwt_authn.allowed/denied");
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider.getDescriptor(),
            "issuer", "audiences", "require_expiration", "remote_jwks", "local_jwks", "forward", "from_headers",
            "from_params", "from_cookies", "forward_payload_header", "payload_in_metadata", "clock_skew_seconds",
            "claim_to_headers", "clear_route_cache")
        .reject("subjects", "subject matching is not supported; use an RBAC policy on the request principal")
        .reject("max_lifetime", "not supported")
        .reject("pad_forward_payload_header", "not supported; the payload is forwarded as sent (base64url, unpadded)")
        .reject("normalize_payload_in_metadata", "not supported")
        .reject("header_in_metadata", "not supported; use payload_in_metadata")
        .reject("failed_status_in_metadata", "not supported")
        .ignore("jwt_cache_config", "ignored: verified signatures are always cached per provider (4096 tokens)");
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader.getDescriptor(), "header_name",
        "claim_name");
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RemoteJwks.getDescriptor(), "http_uri", "cache_duration")
        .ignore("async_fetch", "ignored: remote JWKS are always fetched in the background, never on a request's path")
        .ignore("retry_policy", "ignored: failed fetches are retried with backoff (0.5 s doubling to 30 s)");
    // cluster is accepted but not used: the proxy's JWKS fetcher connects to the URI's host itself.
    rules(io.envoyproxy.envoy.config.core.v3.HttpUri.getDescriptor(), "uri", "timeout", "cluster");
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader.getDescriptor(), "name", "value_prefix");
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule.getDescriptor(),
        "match", "requires", "requirement_name");
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement.getDescriptor(),
        "provider_name", "provider_and_audiences", "requires_any", "requires_all", "allow_missing",
        "allow_missing_or_failed");
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList.getDescriptor(), "requirements");
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementAndList.getDescriptor(), "requirements");
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.ProviderWithAudiences.getDescriptor(),
        "provider_name", "audiences");
    rules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig.getDescriptor(),
        "disabled", "requirement_name");
  }

  private static final class RulesBuilder {
    private final Set<String> supported;
    private final Map<String, String> ignored = new LinkedHashMap<>();
    private final Map<String, String> rejected = new LinkedHashMap<>();
    private final Set<String> dynamicOnly = new LinkedHashSet<>();

    RulesBuilder(Descriptor type, String... supported) {
      this.supported = new LinkedHashSet<>(List.of(supported));
      for (String f : supported) {
        if (type.findFieldByName(f) == null) {
          throw new IllegalStateException(type.getFullName() + " has no field " + f);
        }
      }
      if (RULES.put(type.getFullName(), new Rules(this.supported, ignored, rejected, dynamicOnly)) != null) {
        // A second set of rules would silently replace the first (three types had two, one of them contradicting it).
        throw new IllegalStateException(type.getFullName() + " has two sets of rules; keep one");
      }
    }

    RulesBuilder supportAlso(String field) {
      supported.add(field);
      return this;
    }

    RulesBuilder ignore(String field, String why) {
      ignored.put(field, why);
      return this;
    }

    /** A field supported only in resources delivered by xDS; in a static bootstrap it is rejected with {@code why}. */
    RulesBuilder dynamic(String field, String why) {
      dynamicOnly.add(field);
      rejected.put(field, why);
      return this;
    }

    /** An unsupported field with a more specific message than the generic one. */
    RulesBuilder reject(String field, String why) {
      rejected.put(field, why);
      return this;
    }
  }

  /** A UDP listener and its udp_proxy (UdpProxyTranslator): one cluster per listener, sessions per client address. */
  private static void udpProxy() {
    rules(io.envoyproxy.envoy.config.listener.v3.UdpListenerConfig.getDescriptor(), "downstream_socket_config",
        "quic_options"); // quic_options: an HTTP/3 listener (QuicListenerTranslator)
    rules(io.envoyproxy.envoy.config.listener.v3.QuicProtocolOptions.getDescriptor(), "quic_protocol_options",
        "idle_timeout", "crypto_handshake_timeout");
    rules(io.envoyproxy.envoy.config.core.v3.QuicProtocolOptions.getDescriptor(), "max_concurrent_streams");
    rules(io.envoyproxy.envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport.getDescriptor(),
        "downstream_tls_context");
    rules(io.envoyproxy.envoy.config.core.v3.Http3ProtocolOptions.getDescriptor()); // accepted empty only
    rules(io.envoyproxy.envoy.config.core.v3.UdpSocketConfig.getDescriptor(), "max_rx_datagram_size")
        .reject("prefer_gro", "Keelson reads one datagram per read; expected the field unset");
    var udp = io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig.getDescriptor();
    rules(udp, "stat_prefix", "cluster", "matcher", "idle_timeout", "hash_policies", "use_per_packet_load_balancing",
            "upstream_socket_config", "access_log") // access_log: one entry per session, when it ends
        .reject("use_original_src_ip", "Keelson sends upstream from its own address (no IP_TRANSPARENT)")
        .reject("proxy_access_log", "Keelson writes session entries only (access_log); expected the field unset")
        .reject("access_log_options", "session entries are written when the session ends only; expected the field unset")
        .reject("session_filters", "Keelson runs no UDP session filters")
        .reject("tunneling_config", "Keelson does not tunnel UDP over HTTP (CONNECT-UDP)");
    rules(io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig.HashPolicy.getDescriptor(), "source_ip")
        .reject("key", "sessions hash on the source IP only; expected source_ip: true");
    // The matcher: its on_no_match Route only (every session of the listener goes to one cluster).
    rules(com.github.xds.type.matcher.v3.Matcher.getDescriptor(), "on_no_match")
        .reject("matcher_list", "a udp_proxy matcher takes on_no_match with a Route only")
        .reject("matcher_tree", "a udp_proxy matcher takes on_no_match with a Route only");
    rules(com.github.xds.type.matcher.v3.Matcher.OnMatch.getDescriptor(), "action")
        .reject("matcher", "expected an action with a Route")
        .reject("keep_matching", "expected the field unset");
    rules(com.github.xds.core.v3.TypedExtensionConfig.getDescriptor(), "name", "typed_config");
    rules(io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.Route.getDescriptor(), "cluster");
  }

  /** envoy.filters.http.grpc_json_transcoder: what filter/grpcjson implements; the rest refused by name. */
  private static void grpcJsonTranscoder() {
    String t = "not implemented by Keelson's gRPC-JSON transcoder";
    rules(io.envoyproxy.envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder.getDescriptor(), "proto_descriptor",
        "proto_descriptor_bin", "services", "print_options", "match_incoming_request_route", "ignored_query_parameters", "auto_mapping",
        "ignore_unknown_query_parameters", "convert_grpc_status", "request_validation_options")
        .reject("url_unescape_spec", t + ": path variables keep reserved characters encoded (ALL_CHARACTERS_EXCEPT_RESERVED)")
        .reject("query_param_unescape_plus", t + ": '+' in a query value stays '+'")
        .reject("match_unregistered_custom_verb", t)
        .reject("case_insensitive_enum_parsing", t + ": enum names match exactly")
        .reject("max_request_body_size", t + ": request bodies are bounded at 1 MiB (413)")
        .reject("max_response_body_size", t + ": response messages are bounded at 1 MiB")
        .reject("capture_unknown_query_parameters", t);
    rules(io.envoyproxy.envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder.PrintOptions.getDescriptor(),
        "add_whitespace", "always_print_primitive_fields", "always_print_enums_as_ints", "preserve_proto_field_names")
        .reject("stream_newline_delimited", t + ": a stream is sent as one JSON array");
    rules(io.envoyproxy.envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder.RequestValidationOptions.getDescriptor(),
        "reject_unknown_method", "reject_unknown_query_parameters")
        .reject("reject_binding_body_field_collisions", t + ": a body value wins over a binding");
  }

  private static RulesBuilder rules(Descriptor type, String... supported) {
    return new RulesBuilder(type, supported);
  }

  private SupportedFields() {}

  /** Checks every set field of {@code root} and below, reporting into {@code problems}. */
  static void check(Message root, Problems problems) {
    walk(root, "", problems, false);
  }

  /** Checks one resource delivered by xDS (where rds and EDS are allowed), reporting under {@code path}. */
  static void checkDynamic(Message resource, String path, Problems problems) {
    walk(resource, path, problems, true);
  }

  /** True when Keelson has rules for this message type (false for leaves such as Duration). */
  static boolean hasRules(Descriptor type) {
    return RULES.containsKey(type.getFullName());
  }

  static boolean isSupported(Descriptor type, String field) {
    Rules rules = RULES.get(type.getFullName());
    return rules == null || rules.supported().contains(field);
  }

  /** Why ignoring this field is safe, or null when it is not an ignorable field. */
  static String ignoredReason(Descriptor type, String field) {
    Rules rules = RULES.get(type.getFullName());
    return rules == null ? null : rules.ignored().get(field);
  }

  static String unsupported(Descriptor type, String field) {
    Rules rules = RULES.get(type.getFullName());
    String specific = rules.rejected().get(field);
    return "not supported by Keelson"
        + (specific != null ? " (" + specific + ")" : "")
        + (rules.supported().isEmpty()
            ? "; " + type.getName() + " takes no fields here"
            : "; supported fields of " + type.getName() + ": " + String.join(", ", rules.supported()));
  }

  private static void walk(Message message, String path, Problems problems, boolean dynamic) {
    Descriptor type = message.getDescriptorForType();
    Rules rules = RULES.get(type.getFullName());
    if (rules == null) {
      return;
    }
    for (Map.Entry<FieldDescriptor, Object> e : message.getAllFields().entrySet()) {
      FieldDescriptor field = e.getKey();
      String name = field.getName();
      String fieldPath = path.isEmpty() ? name : path + "." + name;
      String why = rules.ignored().get(name);
      if (why != null) {
        problems.warn(fieldPath, why);
        continue;
      }
      if (!rules.supported().contains(name) && !(dynamic && rules.dynamicOnly().contains(name))) {
        problems.error(fieldPath, unsupported(type, name));
        continue;
      }
      if (field.getJavaType() != FieldDescriptor.JavaType.MESSAGE || skipOptionalFilterConfig(message, name)) {
        continue;
      }
      if (field.isMapField()) {
        for (Object entry : (List<?>) e.getValue()) {
          Message m = (Message) entry;
          Descriptor entryType = m.getDescriptorForType();
          Object key = m.getField(entryType.findFieldByName("key"));
          Message value = (Message) m.getField(entryType.findFieldByName("value"));
          walkValue(value, fieldPath + "[\"" + key + "\"]", problems, dynamic);
        }
      } else if (field.isRepeated()) {
        List<?> list = (List<?>) e.getValue();
        for (int i = 0; i < list.size(); i++) {
          walkValue((Message) list.get(i), fieldPath + "[" + i + "]", problems, dynamic);
        }
      } else {
        walkValue((Message) e.getValue(), fieldPath, problems, dynamic);
      }
    }
  }

  /** An is_optional http filter of an unknown type is skipped with a warning by the translator; its config is not read. */
  private static boolean skipOptionalFilterConfig(Message message, String field) {
    Descriptor type = message.getDescriptorForType();
    if (!field.equals("typed_config") || !type.getFullName().equals(HttpFilter.getDescriptor().getFullName())) {
      return false;
    }
    FieldDescriptor optional = type.findFieldByName("is_optional");
    if (!Boolean.TRUE.equals(message.getField(optional))) {
      return false;
    }
    Message any = (Message) message.getField(type.findFieldByName("typed_config"));
    String url = (String) any.getField(any.getDescriptorForType().findFieldByName("type_url"));
    return SupportedTypes.REGISTRY.find(SupportedTypes.typeName(url)) == null;
  }

  private static void walkValue(Message value, String path, Problems problems, boolean dynamic) {
    if (value instanceof Any any) {
      try {
        Descriptor type = SupportedTypes.REGISTRY.find(SupportedTypes.typeName(any.getTypeUrl()));
        if (type == null) {
          problems.error(path, "type " + any.getTypeUrl() + " is not supported; expected one of " + SupportedTypes.NAMES);
          return;
        }
        walk(DynamicMessage.parseFrom(type, any.getValue()), path, problems, dynamic);
      } catch (InvalidProtocolBufferException e) {
        problems.error(path, "cannot read " + any.getTypeUrl() + ": " + e.getMessage());
      }
      return;
    }
    walk(value, path, problems, dynamic);
  }
}
