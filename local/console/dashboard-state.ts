/**
 * The JSON the local dashboard reads: `GET /admin/api/state`, and each `state` message of the
 * `GET /admin/api/stream` Server-Sent Events. Types only, shared by the server (`web-console.ts`)
 * and the page (`web/dashboard.ts`). Times are ISO 8601 strings.
 */
import type { PresenceMember } from '../../core/protocol.js';
import type { EventStatus } from './activity.js';

/**
 * - `open`: its socket is open and its DynamoDB item is there;
 * - `stale`: the item is there but no socket is open (its `$disconnect` was lost): the sweep removes it;
 * - `unregistered`: a socket is open without an item (the sweep removed it; the close follows).
 */
export type ConnectionStatus = 'open' | 'stale' | 'unregistered';

export interface DashboardConnection {
  readonly connectionId: string;
  readonly status: ConnectionStatus;
  /** Absent for `unregistered` connections (their identity was in the item). */
  readonly userId?: string;
  readonly email?: string;
  readonly roles: readonly string[];
  readonly tenant?: string;
  readonly anonymous: boolean;
  readonly connectedAt: string;
  readonly tokenExpiresAt?: string;
  /** The last client message (open connections only). */
  readonly lastActiveAt?: string;
  readonly sourceIp?: string;
  /** Subscribed channels, sorted. */
  readonly channels: readonly string[];
}

export interface DashboardChannel {
  readonly tenant?: string;
  readonly channel: string;
  /** Open connections subscribed to it. */
  readonly subscribers: number;
  /**
   * On a presence channel (PROTOCOL §8): its members as the `presence` action answers, the first
   * `DASHBOARD_PRESENCE_MEMBERS` by user id, and how many there are.
   */
  readonly presence?: { readonly count: number; readonly members: readonly PresenceMember[] };
}

/** Members listed per presence channel on the dashboard (the count is exact). */
export const DASHBOARD_PRESENCE_MEMBERS = 20;

export interface DashboardEvent {
  readonly id: string;
  readonly receivedAt: string;
  readonly source: string;
  readonly detailType: string;
  readonly eventType: string;
  readonly channels: readonly string[];
  readonly tenant?: string;
  readonly dataPreview: string;
  readonly status: EventStatus;
  /** `event` frames posted to connections for this id (one per connection and channel). */
  readonly deliveries: number;
  /** Frames refused with 410 Gone. */
  readonly gone: number;
}

export interface DashboardState {
  readonly generatedAt: string;
  /** Who is looking, and what they see: an admin inside a tenant sees that tenant only. */
  readonly viewer: { readonly userId: string; readonly tenant?: string; readonly expiresAt: string };
  readonly totals: {
    readonly connections: number;
    readonly subscriptions: number;
    readonly channels: number;
    readonly events: number;
  };
  /** Open connections first, newest first. */
  readonly connections: readonly DashboardConnection[];
  /** Most subscribers first. */
  readonly channels: readonly DashboardChannel[];
  /** Newest first; the last `MAX_RECORDED_EVENTS` PutEvents entries. */
  readonly events: readonly DashboardEvent[];
}

/** The body of every refusal of the console's JSON routes (the token exchange's shape). */
export interface ConsoleErrorBody {
  readonly success: false;
  readonly error: { readonly code: string; readonly message: string };
}
