package io.keelson.dataplane.filter.jwt;

import java.util.List;

/**
 * A compiled {@code JwtRequirement}: which verified tokens a request needs. Evaluated against one
 * request's {@link Attempt}, which verifies each provider's token at most once. Immutable.
 */
sealed interface Requirement {
  JwtStatus evaluate(Attempt a);

  /** {@code provider_name} / {@code provider_and_audiences}: {@code audiences} null = the provider's own. */
  record ForProvider(int provider, List<String> audiences) implements Requirement {
    @Override
    public JwtStatus evaluate(Attempt a) {
      return a.provider(provider, audiences);
    }
  }

  /** {@code requires_any}: OK when one is; otherwise the first failure that is not a missing token. */
  record AnyOf(List<Requirement> any) implements Requirement {
    @Override
    public JwtStatus evaluate(Attempt a) {
      JwtStatus failure = null;
      for (Requirement r : any) {
        JwtStatus s = r.evaluate(a);
        if (s == JwtStatus.OK) {
          return s;
        }
        if (failure == null || (failure == JwtStatus.MISSING && s != JwtStatus.MISSING)) {
          failure = s;
        }
      }
      return failure == null ? JwtStatus.MISSING : failure;
    }
  }

  /** {@code requires_all}: every one must be OK; the first failure otherwise. */
  record AllOf(List<Requirement> all) implements Requirement {
    @Override
    public JwtStatus evaluate(Attempt a) {
      for (Requirement r : all) {
        JwtStatus s = r.evaluate(a);
        if (s != JwtStatus.OK) {
          return s;
        }
      }
      return JwtStatus.OK;
    }
  }

  /** {@code allow_missing}: OK without any token; a token that is there must verify with some provider. */
  record AllowMissing() implements Requirement {
    @Override
    public JwtStatus evaluate(Attempt a) {
      return a.anyToken() ? a.anyProvider() : JwtStatus.OK;
    }
  }

  /** {@code allow_missing_or_failed}: always OK; tokens that verify still become metadata. */
  record AllowMissingOrFailed() implements Requirement {
    @Override
    public JwtStatus evaluate(Attempt a) {
      a.anyProvider();
      return JwtStatus.OK;
    }
  }
}
