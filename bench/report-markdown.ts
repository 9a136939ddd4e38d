/** `bench/results.md`: the results as Markdown tables, ready to paste into bench/README.md. */
import type { BigChannelResult } from './big-channel.js';
import type { BurstName, BurstResult } from './burst.js';
import type { ClientPublishResult } from './client-publish.js';
import type { FanoutSimResult } from './fanout-sim.js';
import { presenceSection } from './presence-cost.js';
import type { BenchResults } from './results.js';
import type { SmallChannelSize, SmallChannelsResult } from './small-channels.js';
import type { StatsCostResult, StatsRead } from './stats-cost.js';
import type { PublishCost, WildcardCostResult } from './wildcard-cost.js';

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const ms = (n: number) => {
  if (!Number.isFinite(n)) return '–';
  return n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n).toLocaleString('en-US')} ms`;
};
const times = (n: number) => {
  if (!Number.isFinite(n)) return '–';
  return n >= 10 ? `${Math.round(n).toLocaleString('en-US')}×` : `${n.toFixed(2)}×`;
};
const units = (n: number | undefined) =>
  n === undefined ? 'not reported' : n.toLocaleString('en-US', { maximumFractionDigits: 1 });

/** A Markdown table, padded and aligned the way Biome formats Markdown (so `npm run lint` passes). */
function table(
  header: readonly string[],
  align: readonly ('l' | 'r')[],
  rows: readonly (readonly string[])[],
): string {
  const width = (text: string) => [...text].length;
  const widths = header.map((h, i) => Math.max(3, width(h), ...rows.map((row) => width(row[i] ?? ''))));
  const pad = (text: string, i: number) => {
    const fill = ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(text)));
    return align[i] === 'r' ? `${fill}${text}` : `${text}${fill}`;
  };
  const line = (cells: readonly string[]) => `| ${cells.map((cell, i) => pad(cell, i)).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w - 1)}:` : `:${'-'.repeat(w - 1)}`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function renderMarkdown(results: BenchResults): string {
  const { machine } = results;
  const out: string[] = [];
  out.push(`### Benchmarks`);
  out.push('');
  out.push(
    `\`npm run bench\`${results.mode === 'quick' ? ' `--quick`' : ''}, ${results.startedAt.slice(0, 10)}, ` +
      `${Math.round(results.durationSeconds)} s. One machine: ${machine.cpuModel} (${machine.cores} cores), ` +
      `${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, ${machine.java}; ` +
      `load average ${machine.loadAverageAtStart[0]} at the start, ${machine.loadAverageAtEnd[0]} at the end. ` +
      `The local stack (\`startLocalStack\`: the real handlers, gateway emulator and EventBridge endpoint in one ` +
      `Node process), DynamoDB Local (Java) and ${results.method.clientWorkers} client processes with real \`ws\` ` +
      `clients all share it, so absolute numbers are the local stack's, not AWS's; ratios were measured in the same run.`,
  );

  const fan = results.fanOut;
  if (fan) {
    out.push('');
    out.push('#### Fan-out: from `PutEvents` accepted to received, every subscriber');
    out.push('');
    out.push(
      table(
        [
          'subscribers',
          'events',
          'p50',
          'p95',
          'p99',
          'all received, p50 (floor)',
          'deliveries/s (floor)',
          'Switchboard / floor',
          'Query read units',
        ],
        ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
        fan.sizes.map((s) => [
          int(s.subscribers),
          int(s.rounds),
          ms(s.switchboard.latencyMs.p50),
          ms(s.switchboard.latencyMs.p95),
          ms(s.switchboard.latencyMs.p99),
          `${ms(s.switchboard.timeToAllMs.p50)} (${ms(s.floor.timeToAllMs.p50)})`,
          `${int(s.switchboard.deliveriesPerSecond)} (${int(s.floor.deliveriesPerSecond)})`,
          times(s.ratio.deliveriesPerSecond),
          units(s.queryReadUnits),
        ]),
      ),
    );
    out.push('');
    out.push(
      `Switchboard: \`PutEvents\` (real EventBridge client) → local bus and rule → publish handler (history append, ` +
        `one strongly consistent Query, \`PostToConnection\` × N at concurrency ${fan.publishConcurrency}) → \`ws\` client; ` +
        `latency runs from the SDK call resolving to the client's receipt (one monotonic clock for all processes). ` +
        `Events are paced: one at a time, each measured on an idle stack, after warm-up. ` +
        `Floor: a bare \`PostToConnection\` loop with the same SDK client, concurrency and connections, from the same ` +
        `process, alternating with the Switchboard events. deliveries/s = N / time until the last client received it ` +
        `(median of the rounds); p50/p95/p99 are over every delivery of every measured event.`,
    );
    const memory = fan.stackMemoryMiB;
    out.push('');
    out.push(
      `Stack process with the ${int(fan.clients)} fan-out connections open: ${Math.round(memory.openRss)} MiB RSS, ` +
        `${Math.round(memory.openHeap)} MiB JS heap after a full GC (${Math.round(memory.closedHeap)} MiB once they left: ` +
        `≈ ${memory.heapKiBPerConnection} KiB per connection)` +
        (results.stack ? `; ${Math.round(results.stack.rssMiBAfterStart)} MiB RSS right after start.` : '.'),
    );
  }

  if (results.smallChannels) out.push('', ...smallChannelsSection(results.smallChannels));

  const burst = results.burst;
  if (burst) out.push('', ...burstSection(burst));
  if (results.clientPublish) out.push('', ...clientPublishSection(results.clientPublish));
  if (results.bigChannel) out.push('', ...bigChannelSection(results.bigChannel));
  if (results.fanoutSim) out.push('', ...fanoutSimSection(results.fanoutSim));

  const cost = results.dynamoCost;
  if (cost) {
    out.push('');
    out.push(
      `#### DynamoDB reads per fan-out: ${int(cost.connections)} connections, ${int(cost.subscribers)} subscribed to the channel`,
    );
    out.push('');
    const row = (name: string, c: typeof cost.query) => [
      name,
      units(cost.source === 'reported' ? c.reported : c.estimated),
      units(c.estimated),
      int(c.itemsRead),
      int(c.pages),
    ];
    out.push(
      table(
        ['read', 'read units', 'documented-rule estimate', 'items read', 'pages'],
        ['l', 'r', 'r', 'r', 'r'],
        [
          row(`Switchboard: Query \`chan#${cost.tenant}#${cost.channel}\` (strongly consistent)`, cost.query),
          row('scan-all, as the AWS sample (`Scan`, eventually consistent)', cost.scan),
          row('scan-all, strongly consistent', cost.scanConsistent),
        ],
      ),
    );
    out.push('');
    out.push(
      `A scan-all reads **${times(cost.ratio)}** what the Query reads (${times(cost.ratioConsistent)} at equal consistency), ` +
        `and grows with every connection rather than with the channel's subscribers. ` +
        (cost.source === 'reported'
          ? 'Read units as DynamoDB Local reports them (`ReturnConsumedCapacity: TOTAL`); '
          : 'DynamoDB Local reported no consumed capacity: read units computed from the stored item sizes; ') +
        `the estimate applies DynamoDB's documented rules to the stored items (connection item ≈ ${cost.itemBytes.connection} B, ` +
        `subscription item ≈ ${cost.itemBytes.subscription} B; 4 KB per unit per page, half for eventually consistent reads). ` +
        `Items were written in the real shapes (one connection through \`DynamoConnectionStore\`, the rest copies).`,
    );
    const h = cost.history;
    out.push('');
    out.push(
      `#### History and recovery: request units, as DynamoDB Local reports them (event message ${h.payloadBytes} B)`,
    );
    out.push('');
    out.push(
      table(
        ['operation', 'read units', 'write units'],
        ['l', 'r', 'r'],
        [
          [
            'publish: a new event on a channel (seq, stored event, id marker)',
            units(h.append.read),
            units(h.append.write),
          ],
          [
            'publish: the same event redelivered',
            units(h.redeliveredAppend.read),
            units(h.redeliveredAppend.write),
          ],
          ...h.recovery.map((r) => [
            `recovery: subscribe with \`since\`, ${int(r.events)} event${r.events === 1 ? '' : 's'} replayed`,
            units(r.read),
            units(r.write),
          ]),
        ],
      ),
    );
    out.push('');
    out.push(
      'A new event is two strongly consistent reads (its id marker, the counter) and one transaction writing three small ' +
        "items. DynamoDB's documented rule bills a transactional write at two units per item per KB, i.e. 6 write units " +
        'here; DynamoDB Local reports fewer, so budget with the documented figure. A recovery is one read of the counter ' +
        'plus a strongly consistent Query of the replayed events (4 KB per unit).',
    );
  }

  const statsCost = results.statsCost;
  if (statsCost) out.push('', ...statsSection(statsCost));
  if (results.wildcardCost) out.push('', ...wildcardSection(results.wildcardCost));
  if (results.presenceCost) out.push('', ...presenceSection(results.presenceCost));

  const soak = results.soak;
  if (soak) {
    out.push('');
    out.push(
      `#### Soak: ${int(soak.clients)} connections, ${soak.tenants.length} tenant groups, ${Math.round(soak.publishSeconds)} s of publishing`,
    );
    out.push('');
    const mem = soak.memoryMiB;
    out.push(
      table(
        [
          'events',
          'offered deliveries/s',
          'expected deliveries',
          'lost',
          'duplicated',
          'unexpected',
          'p50',
          'p95',
          'p99',
        ],
        ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
        [
          [
            `${int(soak.eventsPublished)} (${soak.eventsPerSecond}/s)`,
            int(soak.offeredDeliveriesPerSecond),
            int(soak.expectedDeliveries),
            int(soak.lost),
            int(soak.duplicated),
            int(soak.unexpected),
            ms(soak.latencyMs.p50),
            ms(soak.latencyMs.p95),
            ms(soak.latencyMs.p99),
          ],
        ],
      ),
    );
    out.push('');
    out.push(
      table(
        ['MiB', 'clients connected', 'peak (publishing)', 'end'],
        ['l', 'r', 'r', 'r'],
        [
          ['stack process RSS (Node: gateway, handlers, bus)', ...fig(mem.stack)],
          ['… its JS heap in use (after a full GC; peak: as sampled)', ...fig(mem.stackHeap)],
          [`client processes RSS (${soak.clientWorkers}, together)`, ...fig(mem.clients)],
          ...(mem.jvm ? [['DynamoDB Local (JVM) RSS', ...fig(mem.jvm)]] : []),
        ],
      ),
    );
    out.push('');
    const peak = Math.max(
      0,
      ...(results.fanOut?.sizes.map((size) => size.switchboard.deliveriesPerSecond) ?? []),
    );
    out.push(
      (peak > 0
        ? `Offered load: ${int(soak.offeredDeliveriesPerSecond)} deliveries/s, ${Math.round((100 * soak.offeredDeliveriesPerSecond) / peak)}% of the fan-out peak above (${int(peak)}/s). `
        : '') +
        `Tenants ${soak.tenants.join(', ')}; every tenant has the same ${soak.roomsPerTenant} room names and each ` +
        `connection subscribes to two; each event goes to one tenant and one room. Lost: an expected (event, client) ` +
        `never arrived; duplicated: the same id and channel twice; unexpected: another tenant's event, an unsubscribed ` +
        `channel, or an event that was not published.`,
    );
  }

  const cold = results.coldStart;
  if (cold) {
    out.push('');
    out.push(`#### Handler cold start: module init of the bundled handler`);
    out.push('');
    out.push(
      table(
        ['handler', 'minified', 'gzip', `init (median of ${cold.runsPerHandler})`, 'range'],
        ['l', 'r', 'r', 'r', 'r'],
        cold.handlers.map((h) => [
          `\`${h.handler}\``,
          `${h.minifiedKB.toFixed(1)} KB`,
          `${h.gzipKB.toFixed(1)} KB`,
          ms(h.initMedianMs),
          `${Math.round(h.initMinMs)}–${Math.round(h.initMaxMs)} ms`,
        ]),
      ),
    );
    out.push('');
    out.push(`From \`bin/bundle-report.ts\`: ${cold.method.replace(/^esbuild:\s*/, 'esbuild, ')}`);
  }
  if (results.warnings.length > 0) {
    out.push('');
    out.push('Notes from this run:');
    out.push('');
    for (const warning of results.warnings) out.push(`- ${warning}`);
  }
  out.push('');
  return out.join('\n');
}

export function statsSection(cost: StatsCostResult): string[] {
  const tenants = Object.entries(cost.tenants);
  const row = (who: string, read: StatsRead) => [
    who,
    units(read.readUnits),
    int(read.queries),
    int(read.getItems),
    int(read.itemsRead),
  ];
  return [
    `#### Admin \`stats\`: ${int(cost.connections)} connections across ${tenants.length} tenants (${tenants
      .map(([tenant, n]) => `${tenant} ${int(n)}`)
      .join(', ')}), ${cost.channelsPerConnection} channels each`,
    '',
    table(
      ['who asks', 'read units', 'Queries', 'GetItems', 'items read'],
      ['l', 'r', 'r', 'r', 'r'],
      [
        ...tenants.map(([tenant]) =>
          row(`an admin of ${tenant}: its live index`, cost.now[tenant] as StatsRead),
        ),
        row('a platform admin: the tenant registry, then each live index', cost.now['*'] as StatsRead),
        row('anyone, before issue 10: sweep index, then a GetItem per connection', cost.before),
      ],
    ),
    '',
    `Live items of ≈ ${cost.itemBytes.live} B (the connection item is ≈ ${cost.itemBytes.connection} B), ` +
      'read eventually consistent, 16 shards per tenant, page by page; read units as DynamoDB Local reports them. ' +
      'A tenant admin now reads its own tenant only; before, every admin read every connection of the fleet.',
  ];
}

export function wildcardSection(cost: WildcardCostResult): string[] {
  const row = (what: string, c: PublishCost) => [
    what,
    int(c.queries),
    units(c.readUnits),
    units(c.writeUnits),
    int(c.deliveries),
    Object.entries(c.requests)
      .map(([name, n]) => `${name} ${n}`)
      .join(', '),
  ];
  return [
    `#### Wildcard fan-out: one event, ${int(cost.subscribers)} subscribers on each partition, ${int(cost.overlap)} on all three`,
    '',
    table(
      ['publish to', 'Queries', 'read units', 'write units', 'posts', 'DynamoDB requests'],
      ['l', 'r', 'r', 'r', 'r', 'l'],
      [
        row('`a:b.c`: exact, `a:*` and `a:b.*` subscribers', cost.wildcard),
        row('`x:y.z`: exact subscribers, two empty prefixes', cost.emptyPrefixes),
        row('`plain`: exact subscribers, no prefix', cost.noPrefix),
      ],
    ),
    '',
    'One strongly consistent Query per partition: the channel and each `:`/`.` prefix of its name, never a Scan; ' +
      'a connection subscribed several ways is posted once. Units as DynamoDB Local reports them; the writes are the ' +
      "channel's numbering and history, the same with or without wildcards.",
  ];
}

function fig(f: { connected: number; peak: number; end: number }): string[] {
  return [f.connected, f.peak, f.end].map((n) => (Number.isFinite(n) ? String(Math.round(n)) : '–'));
}

const BURST_LABEL: Record<BurstName, string> = {
  spread: 'spread: one subscriber per channel',
  hot: 'hot: one channel',
  'hot-large': 'hot, large: one channel',
  'one-connection': 'one connection on every channel',
};

/** Per-event figures: two decimals below 10. */
const perEvent = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? '–' : n < 10 ? n.toFixed(2) : String(Math.round(n));

function clientPublishSection(cp: ClientPublishResult): string[] {
  const rt = cp.roundTrip;
  const refused = (r: Readonly<Record<string, number>>) =>
    Object.entries(r)
      .map(([code, n]) => `${int(n)} ${code}`)
      .join(', ') || '0';
  return [
    `#### Client publish: ${rt.rounds} paced round trips (after ${rt.warmupRounds} of warm-up), beside a service publish`,
    '',
    table(
      ['publish → own receipt', 'p50', 'p95', 'p99'],
      ['l', 'r', 'r', 'r'],
      [
        ['client `publish`', ms(rt.client.p50), ms(rt.client.p95), ms(rt.client.p99)],
        ['service `PutEvents`', ms(rt.service.p50), ms(rt.service.p95), ms(rt.service.p99)],
        ['client / service', times(rt.ratio.p50), times(rt.ratio.p95), times(rt.ratio.p99)],
      ],
    ),
    '',
    `One client publishes to a room it subscribes to, from just before the request is sent to its own receipt of the ` +
      `event; a service puts an event on the same room, from just before the \`PutEvents\` call to the same receipt; ` +
      `alternating, one at a time, ${rt.pauseMs} ms apart, on the machine-wide monotonic clock.`,
    '',
    `#### Client publish under load: ${int(cp.clients)} clients, rate limit ${int(cp.rateLimit.burst)} at once and ${int(cp.rateLimit.perSecond)}/s ` +
      `(one-connection: ${int(cp.oneConnectionRateLimit.burst)} and ${int(cp.oneConnectionRateLimit.perSecond)}/s, a stack of its own)`,
    '',
    table(
      [
        'scenario',
        'sent',
        'accepted',
        'refused',
        'deliveries',
        'deliveries/s',
        'p50',
        'p99',
        'lost',
        'duplicated',
        'refused delivered',
        'dead-lettered',
        'seq exact',
      ],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      cp.scenarios.map((s) => [
        `${s.name} (${s.publishers} → ${s.channels} room${s.channels === 1 ? '' : 's'})`,
        int(s.sent),
        int(s.accepted),
        refused(s.refused),
        int(s.delivered),
        int(s.eventsPerSecond),
        ms(s.latencyMs.p50),
        ms(s.latencyMs.p99),
        int(s.lost),
        int(s.duplicated),
        int(s.refusedDelivered),
        int(s.deadLettered),
        `${s.seqCheck.exact}/${s.seqCheck.channels}`,
      ]),
    ),
    '',
    'Every publish of a scenario is sent at once (all in flight). spread: each client to its own room; hot: every ' +
      'client to one room they all subscribe to (each event reaches every client); one-connection: one client ' +
      'publishing twice its burst, on a stack of its own with the default per-connection limit. Latency: request sent → receipt; deliveries/s: (client, ' +
      'event) pairs delivered / first request sent → last receipt; refused delivered: events received that no ' +
      '`published` reply named; dead-lettered: the publish queue dead-letter queue grew by.',
  ];
}

function burstSection(burst: BurstResult): string[] {
  const out: string[] = [];
  const spread = burst.scenarios.find((s) => s.name === 'spread');
  out.push(
    `#### Bursts: events put at once, ${burst.entriesPerPut} a \`PutEvents\` call, ${burst.putsInFlight} calls in flight`,
  );
  out.push('');
  out.push(
    table(
      [
        'burst',
        'events',
        'channels → connections',
        'put in',
        'events/s',
        'p50',
        'p99',
        'lost',
        'duplicated',
        'out of order',
        'seq 1..n exact',
        'dead-lettered',
        'DynamoDB requests/event',
      ],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      [
        ...burst.scenarios.map((s) => [
          BURST_LABEL[s.name],
          int(s.events),
          `${int(s.channels)} → ${int(s.connections)}`,
          ms(s.putSeconds * 1000),
          int(s.eventsPerSecond),
          ms(s.latencyMs.p50),
          ms(s.latencyMs.p99),
          int(s.lost),
          int(s.duplicated),
          int(s.outOfOrder),
          `${s.seqCheck.exact}/${s.seqCheck.channels}`,
          int(s.deadLettered),
          perEvent(s.dynamodb?.requestsPerEvent),
        ]),
        [
          `floor: bare \`PostToConnection\` (${burst.floor.rounds.length} rounds)`,
          int(burst.floor.rounds[0]?.messages ?? Number.NaN),
          `– → ${int(spread?.connections ?? Number.NaN)}`,
          '–',
          int(burst.floor.messagesPerSecond),
          ...Array.from({ length: 8 }, () => '–'),
        ],
      ],
    ),
  );
  out.push('');
  const ratio = (name: string, g: BurstResult['ratios']['hotOverSpread']) =>
    `${name} **${times(g.value)}** (goal ≥ ${g.goal}: ${g.met ? 'met' : 'not met'})`;
  out.push(
    `${ratio('Hot / spread events/s', burst.ratios.hotOverSpread)}; ` +
      `${ratio('spread events/s / floor', burst.ratios.spreadOverFloor)}. ` +
      `Every event travels the whole publish path: the local bus and rule, the publish queue, the event source mapping ` +
      `(batches of ${burst.pipeline.batchSize}, up to ${burst.pipeline.reservedConcurrency} at once), the publish function ` +
      `(posts at concurrency ${burst.publishConcurrency}), real \`ws\` clients. events/s = events delivered / time from the ` +
      `first \`PutEvents\` call to the last receipt; latency runs from the carrying call resolving to receipt; out of order ` +
      `counts receipts whose seq is below one the connection already had on that channel; seq 1..n exact: channels whose ` +
      `received seqs are exactly 1..n with one event each. The floor posts the spread's number of messages round-robin to ` +
      `the spread's ${int(spread?.connections ?? Number.NaN)} connections with the publish handler's SDK client and concurrency, ` +
      `from the same process, right before and right after the spread burst (mean of the two).`,
  );
  const operations = [...new Set(burst.scenarios.flatMap((s) => Object.keys(s.dynamodb.byOperation)))];
  out.push('');
  out.push('DynamoDB per event put:');
  out.push('');
  out.push(
    table(
      ['per event', ...burst.scenarios.map((s) => BURST_LABEL[s.name])],
      ['l', ...burst.scenarios.map(() => 'r' as const)],
      [
        ...operations.map((operation) => [
          `\`${operation}\` requests`,
          ...burst.scenarios.map((s) => perEvent(s.dynamodb.byOperation[operation]?.requestsPerEvent ?? 0)),
        ]),
        ['all requests', ...burst.scenarios.map((s) => perEvent(s.dynamodb.requestsPerEvent))],
        ['read units', ...burst.scenarios.map((s) => perEvent(s.dynamodb.units.readUnitsPerEvent))],
        ['write units', ...burst.scenarios.map((s) => perEvent(s.dynamodb.units.writeUnitsPerEvent))],
      ],
    ),
  );
  out.push('');
  out.push(
    "Requests: the handlers' own during each burst, counted by `X-Amz-Target` as they left the process (Node's " +
      '`http.client.request.start` diagnostics channel: nothing in their path), from the first `PutEvents` call until the ' +
      "publish queue drained; the sweep, had it run meanwhile, would add a few `Query`s. Units: each burst's shape " +
      `(${int(burst.scenarios[0]?.dynamodb.units.events ?? Number.NaN)} events in full batches) published again through ` +
      "core's `publishBatch` and the real DynamoDB adapters on a client that asks for `ReturnConsumedCapacity: TOTAL`, as " +
      'DynamoDB Local reports them (it reports no read units for a `BatchGetItem` that finds nothing, where DynamoDB bills ' +
      'every key read, found or not: one unit per strongly consistent key).',
  );
  return out;
}

const seconds = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} s` : '–');
const percent = (n: number) => {
  const whole = Math.round(n * 100);
  return whole === 0 ? '0 %' : `${whole > 0 ? '+' : '−'}${Math.abs(whole)} %`;
};

function smallChannelsSection(small: SmallChannelsResult): string[] {
  const base = small.baseline.commit.slice(0, 7);
  const now = `${small.current.commit.slice(0, 7)}${small.current.uncommittedFiles > 0 ? ' + uncommitted changes' : ''}`;
  const lostOrDuplicated = (s: SmallChannelSize) =>
    [s.baseline, s.current].map((side) => `${side.lost}/${side.duplicated}`).join(' · ');
  return [
    `#### Small channels since big channels: ${base} (before) against ${now}, same run`,
    '',
    table(
      [
        'subscribers',
        'rounds',
        'all received p50, before',
        'now',
        'change',
        'latency p50, before',
        'now',
        'change',
        'p95 before / now',
        'p99 before / now',
        'lost/dup. before · now',
        `within ${Math.round(small.goal * 100)} %`,
      ],
      ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      small.sizes.map((s) => [
        int(s.subscribers),
        int(s.rounds),
        ms(s.baseline.timeToAllMs.p50),
        ms(s.current.timeToAllMs.p50),
        percent(s.change.timeToAllP50),
        ms(s.baseline.latencyMs.p50),
        ms(s.current.latencyMs.p50),
        percent(s.change.latencyP50),
        `${ms(s.baseline.latencyMs.p95)} / ${ms(s.current.latencyMs.p95)}`,
        `${ms(s.baseline.latencyMs.p99)} / ${ms(s.current.latencyMs.p99)}`,
        lostOrDuplicated(s),
        s.goalMet ? 'yes' : 'no',
      ]),
    ),
    '',
    `Both versions run at once, each as its own \`local/main.ts\` process with its own DynamoDB Local, ${int(small.clientsPerStack)} ` +
      `clients each in the same client workers; rounds alternate before, now, now, before (one event each, ` +
      `${small.pauseMs} ms apart, after ${small.warmupRounds} warm-up rounds), so the machine's load hits both alike. ` +
      'From the `PutEvents` call resolving to each receipt; "all received" is the last subscriber of a round.',
  ];
}

function bigChannelSection(big: BigChannelResult): string[] {
  const m = big.memory;
  const jvm = m.kibPerConnection.dynamodbLocalRss;
  return [
    `#### Big channels and broadcast: ${int(big.subscribers)} connections under a ${int(big.quotaPerSecond)}/s callback quota`,
    '',
    `A stack of its own: \`@connections\` answers 429 past ${int(big.quotaPerSecond)} calls/s (token bucket, burst ` +
      `${int(big.quotaBurst)}), Switchboard's budget ${int(big.callbacksPerSecond)}/s, fan-out timeout ` +
      `${big.fanoutTimeoutSeconds} s, ${big.fanoutShards} shards, at most ${big.fanoutReservedConcurrency} workers, ` +
      `the sweep (whose calls share the budget) every ${big.sweepIntervalSeconds} s. ` +
      `Time and rate from the \`PutEvents\` call to the last first receipt.` +
      (big.sizeLimit.capped
        ? ` ${int(big.subscribers)} rather than ${int(big.requestedSubscribers)}: the stack's process may hold ` +
          `${int(big.sizeLimit.openFiles)} open files (one per socket).`
        : ''),
    '',
    table(
      [
        'scenario',
        'delivered',
        'lost',
        'twice',
        'to others',
        'time',
        'deliveries/s',
        '× quota',
        '429s',
        'dead letters',
        'invocations (continued)',
        'goal',
      ],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      big.scenarios.map((s) => [
        s.name,
        `${int(s.delivered)} / ${int(s.expectedDeliveries)}`,
        int(s.lost),
        int(s.duplicated),
        int(s.unexpected),
        s.channels.length > 1
          ? Object.values(s.secondsByChannel).map(seconds).join(', ')
          : seconds(s.seconds),
        int(s.deliveriesPerSecond),
        times(s.ratioToQuota),
        int(s.quota.throttled),
        int(s.deadLettered),
        `${int(s.fanout.invocations)} (${int(s.fanout.continued)})`,
        s.goalMet ? 'met' : 'not met',
      ]),
    ),
    '',
    `${int(big.subscribers + big.outsiders)} connections (${int(big.outsiders)} of another tenant or none, subscribed ` +
      `to channels of the same names) opened in ${seconds(big.connectSeconds)}, subscribed twice each in ` +
      `${seconds(big.subscribeSeconds)}. Memory per connection with its two subscriptions: ` +
      `${m.kibPerConnection.stackHeap} KiB of the stack's JS heap, ${m.kibPerConnection.stackRss} KiB of its RSS ` +
      `(${Math.round(m.stackRssMiB.before)} → ${Math.round(m.stackRssMiB.open)} MiB)` +
      (jvm !== undefined && m.dynamodbLocalRssMiB
        ? `, ${jvm} KiB of DynamoDB Local's (${Math.round(m.dynamodbLocalRssMiB.before)} → ${Math.round(m.dynamodbLocalRssMiB.open)} MiB).`
        : '.'),
  ];
}

function fanoutSimSection(sim: FanoutSimResult): string[] {
  return [
    "#### Fan-out at a million, simulated: core's workers against fakes, on simulated time",
    '',
    table(
      [
        'scenario',
        'subscribers',
        'budget / quota',
        'time to all (budget floor)',
        '× budget',
        'invocations',
        'continuations',
        'retries',
        'lost / twice',
        '429s',
        'budget item writes/s, peak',
        'per event',
      ],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      sim.runs.map((r) => [
        r.scenario.name,
        int(r.scenario.subscribers),
        `${int(r.scenario.callbacksPerSecond)} / ${int(r.scenario.quotaPerSecond)}`,
        `${seconds(r.secondsToAll)} (${seconds(r.budgetSeconds)})`,
        times(r.ratioToBudget),
        int(r.invocations),
        int(r.continuations),
        int(r.retryTasks),
        `${int(r.lost)} / ${int(r.duplicated)}`,
        int(r.throttled),
        int(r.budget.peakWritesPerSecond),
        `$${r.costUsd.total.toFixed(3)}`,
      ]),
    ),
    '',
    `Per event: API Gateway messages, Lambda requests and GB-seconds (512 MB), SQS requests, DynamoDB read and ` +
      `write units, at the prices of the cost model. Latencies of the fakes: ${sim.latencyMs.post} ms a post, ` +
      `${sim.latencyMs.query} ms a page, ${sim.latencyMs.budget} ms a budget take.`,
  ];
}
