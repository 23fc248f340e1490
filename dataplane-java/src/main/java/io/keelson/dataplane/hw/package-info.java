/**
 * Hardware profiles: {@code hw-profiles/*.yaml} (PMD, EAL arguments, ports, queues, RSS, burst, mbuf
 * pool, offloads, idle strategy) loaded into immutable records, with errors that name the file and
 * the field. Data only: nothing here touches DPDK.
 */
package io.keelson.dataplane.hw;
