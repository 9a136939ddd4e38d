/** The cost tables of `docs/cost.md` are the model's output (`npm run cost -- --markdown` writes them). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { benchFacts, readBenchResults } from '../../cost/bench-facts.js';
import { DEPLOYED_STACK } from '../../cost/model.js';
import { costDocBlocks, currentBlocks } from '../../cost/report.js';

describe('the cost tables of docs/cost.md', () => {
  it('are what npm run cost -- --markdown generates (run it after changing the model)', () => {
    // Prepare
    const expected = costDocBlocks(benchFacts(readBenchResults()), DEPLOYED_STACK);
    // Act
    const doc = readFileSync(new URL('../../docs/cost.md', import.meta.url), 'utf8');
    // Assess
    expect(currentBlocks(doc, Object.keys(expected))).toEqual(expected);
  });
});
