/** The local gateway's mapping templates: the subset a MOCK integration uses, evaluated as API Gateway does. */
import { describe, expect, it } from 'vitest';
import {
  checkTemplate,
  MappingTemplateError,
  mockStatusCode,
  renderTemplate,
} from '../../local/emulator/mapping-template.js';

const input = {
  context: { connectionId: 'abc=', requestTimeEpoch: 1764417600123, routeKey: 'ping' },
  body: '{"action":"ping","id":"x-1","n":{"deep":[1,2]}}',
};

describe('mapping templates', () => {
  it('write $context variables and the message through $input', () => {
    // Act
    const output = renderTemplate(
      '{"c":"$context.connectionId","t":$context.requestTimeEpoch,"id":$input.json(\'$.id\'),"p":"$input.path(\'$.id\')","deep":$input.json(\'$.n.deep\'),"none":$input.json(\'$.nope\')}',
      input,
    );
    // Assess
    expect(JSON.parse(output)).toEqual({
      c: 'abc=',
      t: 1764417600123,
      id: 'x-1',
      p: 'x-1',
      deep: [1, 2],
      none: null,
    });
    expect(renderTemplate('$input.body', input)).toBe(input.body);
  });

  it('take a mock integration status code from the request template, or fail as API Gateway does', () => {
    expect(mockStatusCode('{"statusCode": 200}', input)).toBe(200);
    expect(() => mockStatusCode('{"statusCode": "200"}', input)).toThrow(
      'statusCode should be an integer which defined in request template',
    );
    expect(() => mockStatusCode('not json', input)).toThrow(MappingTemplateError);
  });

  it('refuse what the local evaluator does not emulate, rather than answer differently from AWS', () => {
    expect(() => checkTemplate('{"statusCode": 200}')).not.toThrow();
    expect(() => checkTemplate('#set($x = 1){"statusCode": 200}')).toThrow(/directives/);
    expect(() => checkTemplate('{"u":"$util.escapeJavaScript($input.body)"}')).toThrow(/not emulated/);
    expect(() => checkTemplate('{"s":"$stageVariables.x"}')).toThrow(/not emulated/);
    expect(() => checkTemplate('{"s":"$context.authorizer.principalId"}')).toThrow(/not emulated/);
  });
});
