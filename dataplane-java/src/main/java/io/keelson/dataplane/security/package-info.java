/**
 * Workload identity on the proxy: the key pair generated locally (it never leaves the process), the
 * PKCS#10 request sent to the control plane's certificate service, and the rotating
 * {@link io.keelson.dataplane.security.CertificateSource} the TLS contexts subscribe to.
 */
package io.keelson.dataplane.security;
