/**
 * The commands of cli/ read their settings from the settings table's rows: the table's defaults,
 * its ranges, and a bad value refused with the variable named, never a NaN or a second default.
 */
import { describe, expect, it } from 'vitest';
import { CLI_ENV, SETTINGS } from '../../adapters/settings-table.js';
import { cliSettings, localEndpoint } from '../../cli/settings.js';
import { LocalStackError } from '../../local/errors.js';

describe('cliSettings', () => {
  it("takes the table's defaults when nothing is set", () => {
    // Act
    const settings = cliSettings({});
    // Assess
    expect(settings).toEqual({
      port: SETTINGS.port.default,
      eventBusName: SETTINGS.eventBusName.default,
      issuer: undefined,
      audience: undefined,
      maxTokenLifetimeSeconds: SETTINGS.authMaxTokenLifetimeSeconds.default,
      token: undefined,
    });
    expect(localEndpoint(settings)).toBe(`http://127.0.0.1:${SETTINGS.port.default}`);
  });

  it('reads each variable the table names', () => {
    // Act
    const settings = cliSettings({
      [CLI_ENV.port]: '9090',
      [CLI_ENV.eventBusName]: 'orders',
      [CLI_ENV.authIssuer]: 'https://id.example.com',
      [CLI_ENV.authAudience]: 'switchboard',
      [CLI_ENV.authMaxTokenLifetimeSeconds]: '600',
      [CLI_ENV.cliToken]: ' eyJ.token ',
    });
    // Assess
    expect(settings).toEqual({
      port: 9090,
      eventBusName: 'orders',
      issuer: 'https://id.example.com',
      audience: 'switchboard',
      maxTokenLifetimeSeconds: 600,
      token: 'eyJ.token',
    });
  });

  it("refuses a value outside the table's range or not a number, naming the variable", () => {
    const { min, max } = SETTINGS.authMaxTokenLifetimeSeconds;
    for (const raw of ['garbage', String(min - 1), String(max + 1), '1.5']) {
      const env = { [CLI_ENV.authMaxTokenLifetimeSeconds]: raw };
      expect(() => cliSettings(env), raw).toThrow(LocalStackError);
      expect(() => cliSettings(env), raw).toThrow(
        `SWITCHBOARD_AUTH_MAX_TOKEN_LIFETIME_SECONDS must be a whole number from ${min} to ${max} (got "${raw}")`,
      );
    }
    expect(() => cliSettings({ [CLI_ENV.port]: '80a' })).toThrow(
      `SWITCHBOARD_PORT must be a whole number from ${SETTINGS.port.min} to ${SETTINGS.port.max} (got "80a")`,
    );
  });
});
