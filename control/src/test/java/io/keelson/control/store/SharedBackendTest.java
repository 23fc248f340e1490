package io.keelson.control.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link PolicyStore} over a shared {@link PolicyStore.Backend}: conflicts are validated again, failures apply nothing. */
class SharedBackendTest {
  private static final String SERVICE = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: NAME }
      spec:
        ports: [ { name: http, port: 80 } ]
      """;

  /** A shared state another writer changes under the store: the first {@code conflicts} saves lose. */
  private static final class FakeBackend implements PolicyStore.Backend {
    PolicySet shared = PolicySet.EMPTY;
    int conflicts;
    boolean down;
    final List<PolicySet> saved = new ArrayList<>();

    @Override
    public void save(PolicySet before, PolicySet after) throws PolicyException, PolicyStore.ConcurrentChangeException {
      if (down) {
        throw new PolicyException(List.of(new PolicyError("etcd", "state", "", "etcd unavailable")));
      }
      if (conflicts > 0) {
        conflicts--;
        shared = shared.with(service("other-" + conflicts));
        throw new PolicyStore.ConcurrentChangeException("changed after revision 1");
      }
      saved.add(after);
      shared = after;
    }

    @Override
    public PolicySet reload(PolicySet current) {
      return shared;
    }
  }

  private static List<io.keelson.control.policy.Policy> service(String name) {
    try {
      return PolicyParser.parse("s.yaml", SERVICE.replace("NAME", name)).policies();
    } catch (PolicyException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aChangeThatLostARaceIsValidatedAgainAndKeepsTheOtherWritersChange() throws Exception {
    FakeBackend backend = new FakeBackend();
    backend.conflicts = 2;
    PolicyStore store = new PolicyStore(backend, PolicySet.EMPTY);
    store.apply(service("mine"), false);
    assertThat(backend.saved).hasSize(1);
    assertThat(store.current().byKey()).containsOnlyKeys("Service/mine", "Service/other-1", "Service/other-0");
  }

  @Test
  void aChangeThatKeepsLosingIsRefusedSayingSoAndNothingIsApplied() {
    FakeBackend backend = new FakeBackend();
    backend.conflicts = 100;
    PolicyStore store = new PolicyStore(backend, PolicySet.EMPTY);
    assertThatThrownBy(() -> store.apply(service("mine"), false)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("changed after revision 1")
        .hasMessageContaining("refused after " + PolicyStore.ATTEMPTS + " attempts, nothing was applied");
    assertThat(backend.saved).isEmpty();
    assertThat(store.current().byKey()).doesNotContainKey("Service/mine");
  }

  @Test
  void aBackendThatCannotWriteLeavesTheStateAsItWas() throws Exception {
    FakeBackend backend = new FakeBackend();
    PolicyStore store = new PolicyStore(backend, PolicySet.EMPTY);
    store.apply(service("a"), false);
    PolicySet before = store.current();
    List<PolicySet> seen = new ArrayList<>();
    store.onChange(seen::add);
    backend.down = true;
    assertThatThrownBy(() -> store.delete("Service", "a", false)).hasMessageContaining("etcd unavailable");
    assertThat(store.current()).isSameAs(before);
    assertThat(seen).isEmpty();
  }

  @Test
  void aReplacedStateReachesListenersOnlyWhenItsDocumentsDiffer() throws Exception {
    PolicyStore store = new PolicyStore(new FakeBackend(), PolicySet.EMPTY);
    List<PolicySet> seen = new ArrayList<>();
    store.onChange(seen::add);
    PolicySet next = PolicySet.EMPTY.with(service("a"));
    store.replace(old -> next);
    store.replace(old -> PolicySet.EMPTY.with(service("a")));
    assertThat(seen).containsExactly(next);
    assertThat(store.current()).isSameAs(next);
  }
}
