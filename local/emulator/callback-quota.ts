/**
 * The account's API Gateway request quota, as `@connections` feels it: a token bucket refilled at
 * `perSecond`, holding at most `burst` ("Amazon API Gateway quotas": 10,000 requests per second
 * per account and Region, with a burst of 5,000, shared by every API). A call without a token is
 * answered 429 (`LimitExceededException`). Off unless `SWITCHBOARD_LOCAL_CALLBACK_RPS` is set
 * (PROTOCOL §1).
 */
export class CallbackQuota {
  private tokens: number;
  private at: number;
  /** Calls answered and calls throttled since the start (the bench reads them). */
  readonly counts = { allowed: 0, throttled: 0 };

  constructor(
    readonly perSecond: number,
    readonly burst: number = Math.max(1, Math.floor(perSecond / 2)),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Takes one call's token; false when the quota is spent for now. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) {
      this.counts.throttled += 1;
      return false;
    }
    this.tokens -= 1;
    this.counts.allowed += 1;
    return true;
  }
}
