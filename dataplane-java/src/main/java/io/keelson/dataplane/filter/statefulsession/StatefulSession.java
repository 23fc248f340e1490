package io.keelson.dataplane.filter.statefulsession;

/**
 * One compiled {@code envoy.filters.http.stateful_session} config: where the session keeps its host, or null for
 * Istio's empty filter (a StatefulSession without session_state: nothing unless a route overrides it), and
 * {@code strict} (a request whose host is unavailable gets 503 instead of a balanced pick). Immutable.
 */
public record StatefulSession(SessionState state, boolean strict) {}
