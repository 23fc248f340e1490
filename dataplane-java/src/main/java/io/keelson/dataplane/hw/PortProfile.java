package io.keelson.dataplane.hw;

/**
 * One DPDK port of a profile: a virtual device ({@code vdev}) or a PCI device ({@code pci}), with its
 * device arguments. Immutable.
 *
 * @param name     the port's role in the gateway: "wire", "exception", "sink", ...
 * @param optional a port the gateway may run without (the exception port when no tap is wanted)
 */
public record PortProfile(String name, String vdev, String pci, String args, boolean optional) {

  /** The EAL device name DPDK gives the port: the vdev name, or the PCI address. */
  public String deviceName() {
    return vdev != null ? vdev : pci;
  }

  /** The EAL arguments that create this port ({@code --vdev name,args} or {@code -a pci,args}). */
  public java.util.List<String> ealArguments() {
    String spec = args == null || args.isEmpty() ? deviceName() : deviceName() + "," + args;
    return java.util.List.of(vdev != null ? "--vdev" : "-a", spec);
  }
}
