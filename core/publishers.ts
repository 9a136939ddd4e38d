/**
 * Who may publish where (PROTOCOL §6): the services that publish are trusted by configuration
 * alone, the bus and the `source`s its rule accepts, and a source may be bound to tenants so that
 * it can reach only theirs. The EventBridge rule applies this policy (`adapters/event-pattern.ts`)
 * and publish applies it again (`core/publish.ts`), so an event that slips past the rule (a rule
 * edited by hand, a redrive from a dead-letter queue, a misconfigured bus) is still refused.
 */

export interface PublisherPolicy {
  /** The only `source`s whose events are delivered; absent: any source. */
  readonly sources?: readonly string[];
  /**
   * Sources bound to tenants: such a source's events are delivered only when their `tenant` is one
   * of its tenants (an event without a tenant is refused). Sources not named here are not bound.
   */
  readonly sourceTenants?: Readonly<Record<string, readonly string[]>>;
}

/**
 * A `source` a stack may list (`eventSources`) or bind to tenants (`sourceTenants`): 1-256
 * characters without spaces. The construct's props, and the handlers' variables, are checked
 * against it.
 */
export const EVENT_SOURCE_PATTERN = /^\S{1,256}$/;

/**
 * The source of events that clients publish (PROTOCOL §8). The message routes put them on the
 * publish queue themselves, past the rule, after checking the publish and channel policies and
 * taking the tenant from the token, so the publishers' policy does not apply to them. (A service
 * cannot pass the rule under this source when the stack lists its sources; without a list, any
 * source may publish anywhere anyway.)
 */
export const CLIENT_EVENT_SOURCE = 'switchboard.client';

/** Why an event from `source` to `tenant` may not be delivered, or undefined when it may. */
export function publisherRefusal(
  policy: PublisherPolicy | undefined,
  source: string,
  tenant: string | undefined,
): string | undefined {
  if (!policy || source === CLIENT_EVENT_SOURCE) return undefined;
  if (policy.sources && !policy.sources.includes(source)) return 'source not accepted';
  const bound =
    policy.sourceTenants && Object.hasOwn(policy.sourceTenants, source)
      ? policy.sourceTenants[source]
      : undefined;
  if (bound === undefined) return undefined;
  if (tenant === undefined) return 'source is bound to tenants and the event names none';
  return bound.includes(tenant) ? undefined : 'source is not bound to this tenant';
}
