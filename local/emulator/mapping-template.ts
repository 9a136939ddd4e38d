/**
 * The part of API Gateway's mapping templates (Velocity) that the local gateway evaluates for
 * `MOCK` integrations: the WebSocket API's variables `$context.*` and `$input.body`,
 * `$input.json('$.a.b')` and `$input.path('$.a.b')` ("WebSocket API mapping template reference",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html).
 * Templates that use more of Velocity (directives, `$util`, other variables) are refused when the
 * gateway is built, so the emulator never answers differently from AWS without saying so.
 */

export class MappingTemplateError extends Error {
  override readonly name = 'MappingTemplateError';
}

/** What a template can read while one message is handled. */
export interface TemplateInput {
  /** `$context.*`: `connectionId`, `requestId`, `requestTimeEpoch`, `routeKey`, … */
  readonly context: Readonly<Record<string, string | number>>;
  /** The message, as received. */
  readonly body: string;
}

const REFERENCE = /\$(?:context\.([A-Za-z]+)|input\.body|input\.(json|path)\('\$((?:\.[A-Za-z0-9_]+)*)'\))/g;
const CONTEXT_VARIABLES = new Set([
  'apiId',
  'connectedAt',
  'connectionId',
  'domainName',
  'eventType',
  'extendedRequestId',
  'messageId',
  'requestId',
  'requestTime',
  'requestTimeEpoch',
  'routeKey',
  'stage',
]);

/** Throws `MappingTemplateError` when `template` uses anything this evaluator does not emulate. */
export function checkTemplate(template: string): void {
  if (/#(?:set|if|foreach|else|end|macro|include|parse|define)\b/.test(template)) {
    throw new MappingTemplateError(`mapping template directives are not emulated locally: ${template}`);
  }
  for (const match of template.matchAll(REFERENCE)) {
    if (match[1] !== undefined && !CONTEXT_VARIABLES.has(match[1])) {
      throw new MappingTemplateError(`$context.${match[1]} is not emulated locally`);
    }
  }
  const rest = template.replace(REFERENCE, '');
  if (/\$[A-Za-z{]/.test(rest)) {
    throw new MappingTemplateError(`mapping template references not emulated locally: ${template}`);
  }
}

function select(json: unknown, path: string): unknown {
  let value = json;
  for (const key of path.split('.').slice(1)) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The template's output for one message. */
export function renderTemplate(template: string, input: TemplateInput): string {
  let parsed: unknown;
  let parsedOnce = false;
  const json = () => {
    if (!parsedOnce) {
      parsedOnce = true;
      try {
        parsed = JSON.parse(input.body);
      } catch {
        parsed = undefined;
      }
    }
    return parsed;
  };
  return template.replace(REFERENCE, (_all, contextName?: string, fn?: string, path?: string) => {
    if (contextName !== undefined) return String(input.context[contextName] ?? '');
    if (fn === undefined) return input.body;
    const value = select(json(), path ?? '');
    // `json` writes JSON; `path` writes the value as Velocity prints it (strings bare).
    if (fn === 'json') return JSON.stringify(value ?? null);
    return value === undefined || value === null
      ? ''
      : typeof value === 'string'
        ? value
        : JSON.stringify(value);
  });
}

/**
 * A mock integration's request: the template's output must be JSON with an integer `statusCode`,
 * the status the mock answers with. Otherwise API Gateway fails the integration ("statusCode
 * should be an integer which defined in request template"), which this reports as a throw.
 */
export function mockStatusCode(template: string, input: TemplateInput): number {
  const output = renderTemplate(template, input);
  let json: unknown;
  try {
    json = JSON.parse(output);
  } catch {
    throw new MappingTemplateError(`mock request template did not produce JSON: ${output}`);
  }
  const statusCode = (json as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode)) {
    throw new MappingTemplateError('statusCode should be an integer which defined in request template');
  }
  return statusCode;
}
