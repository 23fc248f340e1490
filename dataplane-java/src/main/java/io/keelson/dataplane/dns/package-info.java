/**
 * The sidecar's DNS proxy (Istio's DNS proxying, {@code ISTIO_META_DNS_CAPTURE}): iptables sends the app's
 * port-53 traffic to {@link io.keelson.dataplane.dns.DnsServer} (UDP and TCP, 127.0.0.1:15053 by default), which
 * answers the mesh's service names from the control plane's {@link io.keelson.dataplane.dns.NameTable} (delivered
 * in the {@code virtualOutbound} listener's metadata, see {@link io.keelson.dataplane.dns.NameTable#METADATA_KEY})
 * and forwards every other query to the upstream resolver of {@code /etc/resolv.conf}. {@link
 * io.keelson.dataplane.dns.DnsWire} is the message layout, {@link io.keelson.dataplane.dns.DnsAnswerer} the pure
 * answering logic, {@link io.keelson.dataplane.dns.Edns} EDNS(0) in the proxy's own answers, {@link
 * io.keelson.dataplane.dns.DnsCache} the bounded cache of forwarded answers, {@link
 * io.keelson.dataplane.dns.UpstreamForwarder} the bounded forwarding table.
 */
package io.keelson.dataplane.dns;
