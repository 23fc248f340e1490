/**
 * Background service discovery for STRICT_DNS and LOGICAL_DNS clusters: host names are looked up off the event loops,
 * refreshed on timers, and the answers become the clusters' endpoints the way an EDS update does.
 */
package io.keelson.dataplane.discovery;
