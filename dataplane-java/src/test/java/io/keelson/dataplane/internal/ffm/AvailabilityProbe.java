package io.keelson.dataplane.internal.ffm;

/** Run in a child JVM by {@link DpdkAvailabilityTest}: prints whether DPDK is available and why not. */
public final class AvailabilityProbe {
  private AvailabilityProbe() {}

  public static void main(String[] args) {
    System.out.println("available=" + Dpdk.isAvailable());
    System.out.println("cause=" + Dpdk.unavailabilityCause());
  }
}
