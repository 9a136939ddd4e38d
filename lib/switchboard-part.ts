/**
 * `SwitchboardPart`: the base of the sub-constructs `SwitchboardApi` is composed of
 * (`SwitchboardState`, `SwitchboardWebSocket`, `SwitchboardHandlers`, `SwitchboardTokenExchange`,
 * `SwitchboardPublishing`, `SwitchboardSweep`).
 *
 * A part builds its resources in its parent's scope, beside itself, not under itself. They were
 * built there before the constructor was split (issue 11), and a resource's logical id is derived
 * from its construct path: under the part, every id would change, and CloudFormation would
 * replace the table (deleting every connection and subscription), the queues (dropping queued
 * events), the WebSocket API (a new endpoint URL) and the secret (a new HS256 key).
 * `test/infra/logical-ids.test.ts` holds every id to its recorded value.
 *
 * The part still stands for its resources where the construct tree is used for ordering:
 * `node.addDependency(part)` depends on every resource it built (its dependency roots, the
 * `IDependable` contract of `constructs`). Aspects applied to a part do not reach them; apply them
 * to the `SwitchboardApi`.
 */
import { Construct, Dependable, type IConstruct } from 'constructs';

export abstract class SwitchboardPart extends Construct {
  /** The constructs this part built in `scope`, beside itself. */
  private readonly built: IConstruct[] = [];
  /** Where the part's resources go: the scope it was created in (the `SwitchboardApi`). */
  protected readonly home: Construct;

  protected constructor(scope: Construct, id: string) {
    super(scope, id);
    this.home = scope;
    const built = this.built;
    Dependable.implement(this, {
      get dependencyRoots() {
        return [...built];
      },
    });
  }

  /** Records a construct this part built in `home`, so depending on the part depends on it; returns it. */
  protected own<T extends IConstruct>(construct: T): T {
    this.built.push(construct);
    return construct;
  }
}

/** A handler entry or route key as a construct id: `connect` → `Connect`, `$default` → `$default`. */
export const pascal = (entry: string) =>
  entry.replace(/(^|[-_])(\w)/g, (_, __, c: string) => c.toUpperCase());
