package io.keelson.control.xds;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.keelson.dataplane.config.envoy.XdsSnapshotTranslator;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * istiod's cluster names in an EnvoyFilter's patch value, named as Keelson names the cluster. istiod names every
 * outbound cluster {@code outbound|PORT|SUBSET|HOST}; Keelson does so for ServiceEntry hosts (same name, kept), and
 * names a registry Service's cluster {@code SERVICE} or {@code SERVICE|SUBSET} (one for all its ports). So a
 * {@code cluster} or {@code cluster_name} field (a rate limit or ext_authz service's {@code envoy_grpc}, a route's or
 * tcp_proxy's cluster), at any depth and inside typed configs, that holds {@code outbound|PORT|SUBSET|HOST} where
 * HOST names a registry Service ({@code NAME}, {@code NAME.NS}, {@code NAME.NS.svc.cluster.local}) with a cluster of
 * that subset is given that cluster's name. Any other name is kept (a cluster that does not exist is then refused by
 * the data plane's check, and reported by status). Stateless.
 */
final class IstioClusterNames {
  private IstioClusterNames() {}

  /** {@code value} with istiod's names of the registry Services' clusters among {@code clusters} as Keelson's. */
  static Message translate(Message value, Collection<String> clusters) {
    return rewrite(value, clusters);
  }

  /** Keelson's name for cluster {@code name} (istiod's or its own) among {@code clusters}. */
  static String keelsonName(String name, Collection<String> clusters) {
    if (!name.startsWith("outbound|") || clusters.contains(name)) {
      return name;
    }
    String[] parts = name.split("\\|", 4);
    if (parts.length < 4) {
      return name;
    }
    String subset = parts[2].isEmpty() ? null : parts[2];
    for (String c : clusters) {
      if (c.startsWith("outbound|") || c.startsWith("inbound|")) {
        continue;
      }
      int bar = c.indexOf('|');
      String service = bar < 0 ? c : c.substring(0, bar);
      if (EnvoyFilterPatches.registryService(parts[3], service)
          && Objects.equals(subset, bar < 0 ? null : c.substring(bar + 1))) {
        return c;
      }
    }
    return name;
  }

  private static <M extends Message> M rewrite(M m, Collection<String> clusters) {
    Message.Builder b = null;
    for (var e : m.getAllFields().entrySet()) {
      FieldDescriptor fd = e.getKey();
      Object before = e.getValue();
      Object after = fd.isRepeated() ? rewriteAll(fd, (List<?>) before, clusters) : rewriteOne(fd, before, clusters);
      if (after != before) {
        if (b == null) {
          b = m.toBuilder();
        }
        b.setField(fd, after);
      }
    }
    @SuppressWarnings("unchecked")
    M out = b == null ? m : (M) b.build();
    return out;
  }

  private static Object rewriteAll(FieldDescriptor fd, List<?> values, Collection<String> clusters) {
    List<Object> out = null;
    for (int i = 0; i < values.size(); i++) {
      Object after = rewriteOne(fd, values.get(i), clusters);
      if (after != values.get(i)) {
        if (out == null) {
          out = new ArrayList<>(values);
        }
        out.set(i, after);
      }
    }
    return out == null ? values : out;
  }

  private static Object rewriteOne(FieldDescriptor fd, Object value, Collection<String> clusters) {
    if (fd.getType() == FieldDescriptor.Type.STRING && (fd.getName().equals("cluster")
        || fd.getName().equals("cluster_name"))) {
      String name = keelsonName((String) value, clusters);
      return name.equals(value) ? value : name;
    }
    if (fd.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
      return value;
    }
    Message m = (Message) value;
    return m.getDescriptorForType().getFullName().equals("google.protobuf.Any") ? rewriteAny(m, clusters)
        : rewrite(m, clusters);
  }

  /** A typed config: read with the data plane's type registry, rewritten, packed again (unknown types are kept). */
  private static Message rewriteAny(Message any, Collection<String> clusters) {
    Descriptor d = any.getDescriptorForType();
    String url = (String) any.getField(d.findFieldByName("type_url"));
    ByteString bytes = (ByteString) any.getField(d.findFieldByName("value"));
    Descriptor type = XdsSnapshotTranslator.typeRegistry().find(url.substring(url.lastIndexOf('/') + 1));
    if (type == null) {
      return any;
    }
    try {
      DynamicMessage inner = DynamicMessage.parseFrom(type, bytes);
      DynamicMessage rewritten = rewrite(inner, clusters);
      return rewritten == inner ? any
          : any.toBuilder().setField(d.findFieldByName("value"), rewritten.toByteString()).build();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot read " + url, e); // it was read when the EnvoyFilter was applied
    }
  }
}
