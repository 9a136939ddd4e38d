/**
 * The local stack's HS256 secret: generated once and kept under `.switchboard/`, so tokens minted
 * with `npm run token` keep working across restarts of `npm start`.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCAL_STATE_DIR = '.switchboard';

/** Returns `SWITCHBOARD_AUTH_SECRET` when set, else the kept local secret (creating it on first use). */
export function localAuthSecret(env: NodeJS.ProcessEnv = process.env, dir = LOCAL_STATE_DIR): string {
  const fromEnv = env.SWITCHBOARD_AUTH_SECRET?.trim();
  if (fromEnv) return fromEnv;
  const file = join(dir, 'auth-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}
