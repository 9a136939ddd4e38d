/**
 * The few DOM helpers the two pages share. Every value from the network becomes a text node
 * (`el` never sets `innerHTML`), so event data cannot inject markup into the page.
 */

type Child = Node | string | number | null | undefined | false;

export interface ElementProps {
  readonly class?: string;
  readonly title?: string;
  /** `data-*` attributes, by their name without the prefix. */
  readonly data?: Readonly<Record<string, string>>;
  /** Other attributes, as is. */
  readonly attrs?: Readonly<Record<string, string>>;
}

/** Creates an element with text or element children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  if (props.title) element.title = props.title;
  for (const [name, value] of Object.entries(props.data ?? {})) element.dataset[name] = value;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** The element the page's HTML promises; a missing one is a bug in the page, said loudly. */
export function $<T extends HTMLElement = HTMLElement>(selector: string): T {
  const element = document.querySelector<T>(selector);
  if (!element) throw new Error(`the page has no ${selector}`);
  return element;
}

/** `14:03:07` in the browser's time zone. */
export function clockTime(iso: string | number): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString([], { hour12: false });
}

/** `just now`, `42 s ago`, `5 min ago`, `2 h ago`, `3 d ago`. */
export function relativeTime(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** The first and last characters of a long id, for narrow columns (the full id is the title). */
export function shortId(id: string, keep = 8): string {
  return id.length <= keep * 2 + 1 ? id : `${id.slice(0, keep)}…${id.slice(-4)}`;
}

/** A message for anything thrown. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** The `{"success":false,"error":{…}}` message of a refused console request, or its status. */
export async function refusalOf(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return `${response.status}: ${body.error.message}`;
  } catch {
    // Not JSON: the status says enough.
  }
  return `HTTP ${response.status}`;
}

/** Asks the local stack for a token signed with its secret (`POST /local/token`, local only). */
export async function mintLocalToken(request: {
  readonly sub: string;
  readonly roles: readonly string[];
  readonly tenant?: string;
  readonly ttlSeconds?: number;
}): Promise<{ readonly token: string; readonly expiresIn: number }> {
  const response = await fetch('/local/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  if (!response.ok) throw new Error(await refusalOf(response));
  const body = (await response.json()) as { data: { token: string; expires_in: number } };
  return { token: body.data.token, expiresIn: body.data.expires_in };
}

/** Splits `a, b ,c` into `['a', 'b', 'c']`. */
export function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
