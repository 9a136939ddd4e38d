/** The cost model's facts about the deployed stack (`cost/model.ts`) are the template's. */
import { describe, expect, it } from 'vitest';
import { HANDLER_SETTINGS } from '../../adapters/handler-settings.js';
import { DEPLOYED_STACK, DESIGN } from '../../cost/model.js';
import { HANDLERS } from '../../lambdas/handlers.js';
import { resourcesOfType, synthStack } from './synth.js';

describe('the cost model', () => {
  it('counts the alarms, alarm metrics, dashboards, secrets and queue pollers the stack deploys', () => {
    // Prepare
    const { template } = synthStack();
    // Act
    const alarms = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')) as {
      Properties: { MetricName?: string; Metrics?: { MetricStat?: unknown }[] };
    }[];
    const alarmMetrics = alarms.reduce(
      (sum, { Properties: p }) =>
        sum + (p.MetricName ? 1 : (p.Metrics ?? []).filter((m) => m.MetricStat).length),
      0,
    );
    // Assess
    expect({
      alarms: alarms.length,
      alarmMetrics,
      dashboards: Object.keys(resourcesOfType(template, 'AWS::CloudWatch::Dashboard')).length,
      secrets: Object.keys(resourcesOfType(template, 'AWS::SecretsManager::Secret')).length,
      eventSourceMappings: Object.keys(resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')).length,
    }).toEqual({
      alarms: DEPLOYED_STACK.alarms,
      alarmMetrics: DEPLOYED_STACK.alarmMetrics,
      dashboards: DEPLOYED_STACK.dashboards,
      secrets: DEPLOYED_STACK.secrets,
      eventSourceMappings: DEPLOYED_STACK.eventSourceMappings,
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `rate(${DESIGN.sweepPeriodMinutes} minute)`,
    });
  });

  it('prices each function at the memory it is deployed with', () => {
    expect(HANDLERS.ping.memorySize).toBe(DESIGN.routeMemoryMb);
    expect(HANDLERS.connect.memorySize).toBe(DESIGN.routeMemoryMb);
    expect(HANDLERS.publish.memorySize).toBe(DESIGN.publishMemoryMb);
    expect(HANDLERS.fanout.memorySize).toBe(DESIGN.fanoutMemoryMb);
    expect(HANDLERS.sweep.memorySize).toBe(DESIGN.sweepMemoryMb);
  });

  it("prices the sweep's budget writes at the default callback budget", () => {
    expect(DESIGN.callbacksPerSecond).toBe(HANDLER_SETTINGS.callbacksPerSecond.default);
  });
});
