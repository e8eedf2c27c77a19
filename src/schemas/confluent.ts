import { checkObject, integerSetting, invalidSetting, missingSetting, textSetting } from '../config/check.ts';
import { HeraldError } from '../errors.ts';
import {
  type CompatibilityMode,
  compatibilityModes,
  type RegisteredSchema,
  type SchemaFormat,
  type SchemaRegistry,
} from './registry.ts';

/**
 * A client of a Confluent-compatible schema registry (Confluent Schema Registry, Apicurio
 * Registry's `/apis/ccompat/v7`, Redpanda, Karapace), implementing Herald's SchemaRegistry port
 * over its REST API: subjects, versions, ids, lookup (`POST /subjects/{s}`) and the compatibility
 * mode per subject (`/config/{s}`).
 *
 * Errors: HERALD_REGISTRY_UNAVAILABLE (retriable, an outage) when the registry cannot be reached,
 * times out or answers 5xx; HERALD_AUTHENTICATION_FAILED (an outage too: an operator must fix the
 * credentials, no message is at fault) for 401 and 403; HERALD_UNKNOWN_SCHEMA for an id it does
 * not hold; HERALD_REGISTRY_FAILED for any other refusal (a schema it cannot parse). No error, log
 * or `describe()` holds the password: the URL's own user info is refused, credentials go in `auth`,
 * and a registry's message that repeats them (the password, the Authorization header) has them
 * replaced by `***`.
 */
export interface ConfluentRegistryOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:8081` (Confluent) or `http://host:8080/apis/ccompat/v7` (Apicurio). */
  url: string;
  /** HTTP basic authentication (Confluent Cloud's API key and secret). Never logged. */
  auth?: { username: string; password: string };
  /** Per request, in ms; default 5000. */
  timeoutMs?: number;
}

const contentType = 'application/vnd.schemaregistry.v1+json';

/** The registry's error codes Herald tells apart (Confluent's REST API). */
const subjectNotFound = 40401;
const versionNotFound = 40402;
const schemaNotFound = 40403;
const subjectConfigNotFound = 40408;

interface Answer {
  status: number;
  body: unknown;
}

export interface ConfluentRegistry extends SchemaRegistry {
  /** The base URL (no credentials): `dataschema` URIs start with it. */
  readonly url: string;
  /** Where the registry is, for logs: its URL, never the credentials. */
  describe(): string;
}

export function confluentRegistry(options: ConfluentRegistryOptions): ConfluentRegistry {
  checkObject(options);
  const urlText = textSetting('url', options.url);
  if (urlText === undefined) throw missingSetting('url', "the registry's base URL, e.g. http://127.0.0.1:8081");
  let base: URL;
  try {
    base = new URL(urlText);
  } catch {
    throw invalidSetting('url', 'must be an http(s) URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw invalidSetting('url', 'must be an http(s) URL');
  if (base.username || base.password) throw invalidSetting('url', 'must not hold credentials: give them as auth');
  const root = base.href.replace(/\/+$/, '');
  const timeoutMs = integerSetting('timeoutMs', options.timeoutMs, 1, 600_000, 5000);
  let authorization: string | undefined;
  /** What a registry's message must not carry into an error: the password and the header made of it. */
  const secrets: string[] = [];
  if (options.auth !== undefined) {
    checkObject(options.auth, 'auth');
    const username = textSetting('auth.username', options.auth.username);
    const password = textSetting('auth.password', options.auth.password, { secret: true });
    if (username === undefined || password === undefined)
      throw missingSetting('auth', 'both auth.username and auth.password');
    const token = Buffer.from(`${username}:${password}`).toString('base64');
    authorization = `Basic ${token}`;
    secrets.push(token, password, encodeURIComponent(password));
  }
  /** The registry's own message, without the credentials if it repeats them. */
  const said = (body: unknown) => secrets.reduce((text, secret) => text.split(secret).join('***'), messageOf(body));

  /** Ids are immutable: a schema read once is kept. */
  const byIdCache = new Map<number, Promise<RegisteredSchema>>();
  /** Registered (subject, schema) pairs do not change either. */
  const lookupCache = new Map<string, RegisteredSchema>();

  const unavailable = (what: string, cause: unknown) =>
    new HeraldError('HERALD_REGISTRY_UNAVAILABLE', `schema registry at ${root}: ${what}`, {
      cause,
      retriable: true,
      details: { registry: root },
    });

  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { accept: `${contentType}, application/json` };
    if (authorization) headers.authorization = authorization;
    if (body !== undefined) headers['content-type'] = contentType;
    let res: Response;
    try {
      res = await fetch(`${root}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      const why = timedOut ? `no answer in ${timeoutMs} ms` : `cannot be reached (${causeText(error)})`;
      throw unavailable(`${method} ${path}: ${why}`, timedOut ? undefined : error);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      throw unavailable(`${method} ${path}: the answer broke off`, error);
    }
    let parsed: unknown = null;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
    if (res.status >= 500 || res.status === 429) {
      throw unavailable(`${method} ${path}: HTTP ${res.status} ${said(parsed)}`, undefined);
    }
    return { status: res.status, body: parsed };
  }

  const failed = (method: string, path: string, a: Answer) =>
    new HeraldError(
      a.status === 401 || a.status === 403 ? 'HERALD_AUTHENTICATION_FAILED' : 'HERALD_REGISTRY_FAILED',
      `schema registry at ${root}: ${method} ${path}: HTTP ${a.status} ${said(a.body)}`,
      { details: { registry: root, status: a.status, errorCode: errorCodeOf(a.body) } },
    );

  const ok = (method: string, path: string, a: Answer): unknown => {
    if (a.status >= 200 && a.status < 300) return a.body;
    throw failed(method, path, a);
  };

  const subjectPath = (subject: string) => `/subjects/${encodeURIComponent(subject)}`;

  const request = (format: SchemaFormat, schema: string) =>
    format === 'AVRO' ? { schema } : { schemaType: format, schema };

  /** A registry's schema entry as RegisteredSchema. */
  function entry(body: unknown, fallback: Partial<RegisteredSchema>): RegisteredSchema {
    const b = (body ?? {}) as Record<string, unknown>;
    const type = typeof b.schemaType === 'string' ? b.schemaType : (fallback.format ?? 'AVRO');
    return {
      subject: typeof b.subject === 'string' ? b.subject : (fallback.subject ?? ''),
      version: typeof b.version === 'number' ? b.version : (fallback.version ?? 0),
      id: typeof b.id === 'number' ? b.id : (fallback.id ?? 0),
      format: type === 'JSON' ? 'JSON' : 'AVRO',
      schema: typeof b.schema === 'string' ? b.schema : (fallback.schema ?? ''),
    };
  }

  async function lookup(subject: string, format: SchemaFormat, schema: string) {
    const key = `${subject}\0${format}\0${schema}`;
    const cached = lookupCache.get(key);
    if (cached) return cached;
    const path = subjectPath(subject);
    const a = await call('POST', path, request(format, schema));
    const code = errorCodeOf(a.body);
    if (a.status === 404 && (code === subjectNotFound || code === schemaNotFound)) return undefined;
    const found = entry(ok('POST', path, a), { subject, format, schema });
    lookupCache.set(key, found);
    return found;
  }

  async function byId(id: number): Promise<RegisteredSchema> {
    if (!Number.isInteger(id) || id < 0) throw unknownSchema(id);
    let pending = byIdCache.get(id);
    if (!pending) {
      pending = readById(id);
      byIdCache.set(id, pending);
      // A failure is not kept: the next call asks again (the registry may be back).
      pending.catch(() => byIdCache.delete(id));
    }
    return pending;
  }

  async function readById(id: number): Promise<RegisteredSchema> {
    const path = `/schemas/ids/${id}`;
    const a = await call('GET', path);
    if (a.status === 404) throw unknownSchema(id);
    const schema = entry(ok('GET', path, a), { id });
    // Where the schema is registered (the first subject and version holding it).
    const where = await call('GET', `${path}/versions`);
    if (where.status === 200 && Array.isArray(where.body) && where.body.length > 0) {
      const first = where.body[0] as { subject?: unknown; version?: unknown };
      if (typeof first.subject === 'string') schema.subject = first.subject;
      if (typeof first.version === 'number') schema.version = first.version;
    }
    schema.id = id;
    return schema;
  }

  return {
    url: root,
    describe: () => `schema registry at ${root}`,

    async register(subject, format, schema) {
      const known = await lookup(subject, format, schema);
      if (known) return known;
      const path = `${subjectPath(subject)}/versions`;
      ok('POST', path, await call('POST', path, request(format, schema)));
      // The answer holds the id only; the lookup gives the version too.
      const registered = await lookup(subject, format, schema);
      if (!registered) throw failed('POST', path, { status: 500, body: { message: 'registered but not found' } });
      return registered;
    },

    lookup,

    async subjects() {
      const body = ok('GET', '/subjects', await call('GET', '/subjects'));
      return Array.isArray(body) ? body.filter((s): s is string => typeof s === 'string') : [];
    },

    async versions(subject) {
      const path = `${subjectPath(subject)}/versions`;
      const a = await call('GET', path);
      if (a.status === 404 && errorCodeOf(a.body) === subjectNotFound) return [];
      const numbers = ok('GET', path, a);
      const out: RegisteredSchema[] = [];
      for (const v of Array.isArray(numbers) ? numbers : []) {
        const one = `${path}/${Number(v)}`;
        const b = await call('GET', one);
        if (b.status === 404 && errorCodeOf(b.body) === versionNotFound) continue; // deleted meanwhile
        out.push(entry(ok('GET', one, b), { subject, version: Number(v) }));
      }
      return out.sort((x, y) => x.version - y.version);
    },

    byId,

    async getCompatibility(subject) {
      const path = `/config/${encodeURIComponent(subject)}`;
      const a = await call('GET', path);
      const code = errorCodeOf(a.body);
      if (a.status === 404 && (code === subjectNotFound || code === subjectConfigNotFound)) return undefined;
      const body = ok('GET', path, a) as { compatibilityLevel?: unknown; compatibility?: unknown };
      const level = body?.compatibilityLevel ?? body?.compatibility;
      return compatibilityModes.find((m) => m === level);
    },

    async setCompatibility(subject, mode: CompatibilityMode) {
      if (!compatibilityModes.includes(mode))
        throw invalidSetting('compatibility', `must be one of ${compatibilityModes.join(', ')}`, mode);
      const path = `/config/${encodeURIComponent(subject)}`;
      ok('PUT', path, await call('PUT', path, { compatibility: mode }));
    },

    async close() {
      byIdCache.clear();
      lookupCache.clear();
    },
  };
}

export function unknownSchema(id: number): HeraldError {
  return new HeraldError('HERALD_UNKNOWN_SCHEMA', `the schema registry has no schema with id ${id}`, {
    details: { id },
  });
}

function messageOf(body: unknown): string {
  const m = (body as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m.slice(0, 500) : '';
}

function errorCodeOf(body: unknown): number | undefined {
  const c = (body as { error_code?: unknown } | null)?.error_code;
  return typeof c === 'number' ? c : undefined;
}

function causeText(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  return (error as Error).message;
}
