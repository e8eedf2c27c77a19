import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { invalidSetting } from '../config/check.ts';

/** What a caller may do: `read` sees everything, `admin` also retries, discards and replays. */
export type Role = 'read' | 'admin';

export interface AdminAuthOptions {
  /** Bearer tokens of the admin role; default `HERALD_ADMIN_TOKEN`. */
  adminToken?: string | readonly string[];
  /** Bearer tokens of the read-only role; default `HERALD_READ_TOKEN`. */
  readToken?: string | readonly string[];
  /** Basic-auth users, each with a role. */
  users?: readonly { user: string; password: string; role: Role }[];
  /**
   * No credentials at all, every caller an admin: only for a server on a loopback address
   * (answered to loopback clients only). Without credentials and without this, the API is off.
   */
  open?: boolean;
}

export type Authorization =
  | { ok: true; role: Role }
  | { ok: false; status: 401 | 403 | 404; reason: string; challenge?: boolean };

// Compared as SHA-256 digests with timingSafeEqual: equal lengths whatever was sent, so neither a
// token's content nor its length shows in the time a refusal takes.
const digest = (text: string) => createHash('sha256').update(text).digest();
const matches = (candidate: Buffer, secrets: readonly Buffer[]) => {
  let found = false;
  // Every secret is compared, so the position of the matching one does not show either.
  for (const s of secrets) found = timingSafeEqual(candidate, s) || found;
  return found;
};

const listOf = (value: string | readonly string[] | undefined, setting: string): string[] => {
  const list = value === undefined ? [] : typeof value === 'string' ? [value] : [...value];
  for (const t of list) {
    // The value is never shown: it is a secret.
    if (typeof t !== 'string' || t.length < 8)
      throw invalidSetting(setting, 'must be a string of 8 characters or more');
  }
  return list;
};

/** Whether an address is the machine itself: 127.0.0.0/8, ::1, or IPv4 loopback mapped to IPv6. */
export function isLoopback(address: string | null): boolean {
  if (!address) return false;
  const a = address.replace(/^\[|\]$/g, '').replace(/^::ffff:/i, '');
  if (a === 'localhost') return true;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

/**
 * The admin API's door: bearer tokens (admin and read-only roles) or basic auth, checked in
 * constant time; off when nothing is configured, unless explicitly open for loopback clients.
 */
export function createAuth(options: AdminAuthOptions, env: NodeJS.ProcessEnv = process.env) {
  const admin = listOf(options.adminToken ?? (env.HERALD_ADMIN_TOKEN || undefined), 'adminToken / HERALD_ADMIN_TOKEN');
  const read = listOf(options.readToken ?? (env.HERALD_READ_TOKEN || undefined), 'readToken / HERALD_READ_TOKEN');
  const users = (options.users ?? []).map((u, i) => {
    if (!u || typeof u.user !== 'string' || u.user === '' || u.user.includes(':')) {
      throw invalidSetting(`users[${i}].user`, 'must be a non-empty name without ":"');
    }
    if (typeof u.password !== 'string' || u.password.length < 8) {
      throw invalidSetting(`users[${i}].password`, 'must be a string of 8 characters or more');
    }
    if (u.role !== 'read' && u.role !== 'admin')
      throw invalidSetting(`users[${i}].role`, 'must be read or admin', u.role);
    return { credential: digest(`${u.user}:${u.password}`), role: u.role };
  });
  const adminDigests = admin.map(digest);
  const readDigests = read.map(digest);
  const configured = admin.length + read.length + users.length > 0;
  const open = options.open === true && !configured;

  return {
    /** Whether any credential is configured; false means the API is off or open. */
    configured,
    open,
    check(authorization: string | null, remoteAddress: string | null): Authorization {
      if (open) {
        if (!isLoopback(remoteAddress)) {
          return { ok: false, status: 403, reason: 'the admin API runs open for loopback clients only' };
        }
        return { ok: true, role: 'admin' };
      }
      if (!configured) {
        return {
          ok: false,
          status: 404,
          reason:
            'the admin API is off: no credentials are configured (HERALD_ADMIN_TOKEN, HERALD_READ_TOKEN, or users)',
        };
      }
      const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
      if (bearer) {
        const d = digest((bearer[1] as string).trim());
        if (matches(d, adminDigests)) return { ok: true, role: 'admin' };
        if (matches(d, readDigests)) return { ok: true, role: 'read' };
      }
      const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
      if (basic) {
        const d = digest(Buffer.from(basic[1] as string, 'base64').toString('utf8'));
        let role: Role | null = null;
        for (const u of users) if (timingSafeEqual(d, u.credential) && role !== 'admin') role = u.role;
        if (role) return { ok: true, role };
      }
      return {
        ok: false,
        status: 401,
        reason: authorization ? 'the credentials are not valid' : 'credentials are required (a bearer token)',
        challenge: true,
      };
    },
  };
}

export type Auth = ReturnType<typeof createAuth>;
