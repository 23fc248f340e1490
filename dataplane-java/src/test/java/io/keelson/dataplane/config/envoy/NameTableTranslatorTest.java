package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.dns.NameTable;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The control plane's name table in a listener's metadata: read into a {@link NameTable}, bad entries named. */
class NameTableTranslatorTest {
  private static Value ips(String... ips) {
    ListValue.Builder l = ListValue.newBuilder();
    for (String ip : ips) {
      l.addValues(Value.newBuilder().setStringValue(ip));
    }
    return Value.newBuilder().setStructValue(Struct.newBuilder().putFields("ips",
        Value.newBuilder().setListValue(l).build())).build();
  }

  private static Listener carrying(String name, Struct table) {
    return Listener.newBuilder().setName(name)
        .setMetadata(Metadata.newBuilder().putFilterMetadata(NameTable.METADATA_KEY, table)).build();
  }

  private static Struct table(String name, Value entry) {
    return Struct.newBuilder()
        .putFields("table", Value.newBuilder().setStructValue(Struct.newBuilder().putFields(name, entry)).build())
        .putFields("zones", Value.newBuilder().setListValue(ListValue.newBuilder()
            .addValues(Value.newBuilder().setStringValue("svc.cluster.local"))).build())
        .build();
  }

  @Test
  void readsTheTableAndItsZonesFromTheListenerCarryingIt() throws Exception {
    Problems problems = new Problems("xds");
    NameTable t = NameTableTranslator.fromListeners(
        List.of(Listener.newBuilder().setName("other").build(),
            carrying("virtualOutbound", table("Reviews.Default", ips("240.240.3.7", "2001:2::7")))),
        List.of("Listener[other]", "Listener[virtualOutbound]"), problems);
    problems.throwIfErrors();
    assertThat(t.addresses("reviews.default")).containsExactly("240.240.3.7", "2001:2:0:0:0:0:0:7");
    assertThat(t.zones()).containsExactly("svc.cluster.local");
    assertThat(NameTableTranslator.fromListeners(List.of(Listener.getDefaultInstance()), List.of("x"), problems))
        .isEqualTo(NameTable.EMPTY);
  }

  @Test
  void badEntriesAreErrorsNamingTheirPathSoTheUpdateIsNacked() {
    Problems problems = new Problems("xds");
    NameTableTranslator.fromListeners(List.of(
            carrying("virtualOutbound", table("reviews", ips("240.240.3.7", "reviews.example.com"))),
            carrying("second", table("bad..name", ips("1.2.3.4")))),
        List.of("Listener[virtualOutbound]", "Listener[second]"), problems);
    assertThatThrownBy(problems::throwIfErrors).isInstanceOf(ConfigException.class)
        .hasMessageContaining("Listener[virtualOutbound].metadata.filter_metadata['keelson.io/name_table']"
            + ".table['reviews'].ips[1]: 'reviews.example.com' is not an IPv4 or IPv6 address")
        .hasMessageContaining("Listener[second].metadata.filter_metadata['keelson.io/name_table']: a name table is"
            + " already carried by Listener[virtualOutbound]");
    Problems more = new Problems("xds");
    NameTableTranslator.parse(table("bad..name", ips("1.2.3.4")), "at", more);
    assertThatThrownBy(more::throwIfErrors).hasMessageContaining("at.table['bad..name']: 'bad..name' is not a DNS name");
  }
}
