/** The README's cost tables are the model's output (`npm run cost -- --markdown` writes them). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { benchFacts, readBenchResults } from '../../cost/bench-facts.js';
import { DEPLOYED_STACK } from '../../cost/model.js';
import { currentBlocks, readmeBlocks } from '../../cost/report.js';

describe("the README's cost tables", () => {
  it('are what npm run cost -- --markdown generates (run it after changing the model)', () => {
    // Prepare
    const expected = readmeBlocks(benchFacts(readBenchResults()), DEPLOYED_STACK);
    // Act
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    // Assess
    expect(currentBlocks(readme, Object.keys(expected))).toEqual(expected);
  });
});
