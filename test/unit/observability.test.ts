import { describe, expect, it } from 'vitest';
import { EmbeddedMetrics, JsonLogger } from '../../adapters/observability.js';

/** What was written to stdout and stderr while `act` ran, one entry per line. */
function written(act: () => void): { stream: 'stdout' | 'stderr'; line: string }[] {
  const lines: { stream: 'stdout' | 'stderr'; line: string }[] = [];
  const original = { stdout: process.stdout.write, stderr: process.stderr.write };
  for (const stream of ['stdout', 'stderr'] as const) {
    process[stream].write = ((chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) lines.push({ stream, line });
      return true;
    }) as typeof process.stdout.write;
  }
  try {
    act();
  } finally {
    process.stdout.write = original.stdout;
    process.stderr.write = original.stderr;
  }
  return lines;
}

const TRACE = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

describe('the JSON logger (Powertools Logger format)', () => {
  it('writes one Powertools-shaped line per entry: INFO to stdout, WARN and ERROR to stderr', () => {
    // Prepare
    const logger = new JsonLogger({ POWERTOOLS_SERVICE_NAME: 'realtime', _X_AMZN_TRACE_ID: TRACE });
    // Act
    const lines = written(() => {
      logger.info('events published', { eventIds: ['e1'], retried: 0, empty: '', none: null });
      logger.warn('event ignored', { eventId: 'e2' });
      logger.error('connect failed', { errorName: 'TypeError' });
    });
    // Assess
    expect(lines.map((l) => l.stream)).toEqual(['stdout', 'stderr', 'stderr']);
    const first = JSON.parse(lines[0]?.line ?? '{}') as Record<string, unknown>;
    expect(Object.keys(first)).toEqual([
      'level',
      'message',
      'timestamp',
      'service',
      'sampling_rate',
      'xray_trace_id',
      'eventIds',
      'retried',
    ]);
    expect(first).toMatchObject({
      level: 'INFO',
      message: 'events published',
      service: 'realtime',
      sampling_rate: 0,
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      eventIds: ['e1'],
      retried: 0,
    });
    expect(new Date(String(first.timestamp)).toISOString()).toBe(first.timestamp);
    expect(JSON.parse(lines[2]?.line ?? '{}')).toMatchObject({ level: 'ERROR', errorName: 'TypeError' });
  });

  it.each([
    [{}, ['INFO', 'WARN', 'ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: 'WARN' }, ['WARN', 'ERROR']],
    [{ LOG_LEVEL: 'ERROR' }, ['ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: 'ERROR', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' }, ['INFO', 'WARN', 'ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: 'INFO', AWS_LAMBDA_LOG_LEVEL: 'FATAL' }, []],
  ])('with %j logs %j (Lambda log level first, then POWERTOOLS_LOG_LEVEL, then LOG_LEVEL)', (env, levels) => {
    // Prepare
    const logger = new JsonLogger(env);
    // Act
    const lines = written(() => {
      logger.info('i', {});
      logger.warn('w', {});
      logger.error('e', {});
    });
    // Assess
    expect(lines.map((l) => (JSON.parse(l.line) as { level: string }).level)).toEqual(levels);
  });

  it('keeps its own keys and survives attributes that cannot be serialised', () => {
    // Prepare
    const logger = new JsonLogger({});
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    // Act
    const lines = written(() => {
      logger.info('refused', { level: 'ERROR', message: 'forged', status: 401 });
      logger.info('odd', { cycle, big: 1n });
    });
    // Assess
    expect(JSON.parse(lines[0]?.line ?? '{}')).toMatchObject({
      level: 'INFO',
      message: 'refused',
      status: 401,
    });
    expect(JSON.parse(lines[1]?.line ?? '{}')).toMatchObject({ level: 'INFO', message: 'odd' });
  });
});

describe('the metrics (CloudWatch Embedded Metric Format, as Powertools Metrics wrote it)', () => {
  it('prints one EMF record per publish, with the service dimension and repeated names as arrays', () => {
    // Prepare
    const metrics = new EmbeddedMetrics({ POWERTOOLS_SERVICE_NAME: 'realtime' });
    // Act
    const lines = written(() => {
      metrics.addMetric('EventsIn', 'Count', 3);
      metrics.addMetric('Deliveries', 'Count', 0);
      metrics.addMetric('FanoutLatency', 'Milliseconds', 12);
      metrics.addMetric('Deliveries', 'Count', 5);
      metrics.publishStoredMetrics();
      metrics.publishStoredMetrics();
    });
    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]?.stream).toBe('stdout');
    const record = JSON.parse(lines[0]?.line ?? '{}') as { _aws: { Timestamp: number } };
    expect(record._aws.Timestamp).toBeGreaterThan(0);
    expect(record).toEqual({
      _aws: {
        Timestamp: record._aws.Timestamp,
        CloudWatchMetrics: [
          {
            Namespace: 'Switchboard',
            Dimensions: [['service']],
            Metrics: [
              { Name: 'EventsIn', Unit: 'Count' },
              { Name: 'Deliveries', Unit: 'Count' },
              { Name: 'FanoutLatency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      service: 'realtime',
      EventsIn: 3,
      Deliveries: [0, 5],
      FanoutLatency: 12,
    });
  });

  it.each([{ POWERTOOLS_METRICS_DISABLED: 'true' }, { POWERTOOLS_DEV: '1' }])(
    'prints nothing with %j, and forgets what was added',
    (env) => {
      // Prepare
      const metrics = new EmbeddedMetrics(env);
      // Act
      const lines = written(() => {
        metrics.addMetric('Connections', 'Count', 1);
        metrics.publishStoredMetrics();
      });
      // Assess
      expect(lines).toEqual([]);
    },
  );
});
