import { checkDestination } from '../config/names.ts';
import { HeraldError } from '../errors.ts';
import type { EventOptions } from './define.ts';
import { isUuid } from './uuidv7.ts';

const headerNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const reservedHeader = /^(ce[_-]|content-type$)/i;
// W3C trace-context traceparent: version-traceid-parentid-flags, lower-case hex.
const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
// Printable, no line breaks: values travel as broker headers.
const headerValuePattern = /^[^\u0000-\u0008\u000a-\u001f\u007f]*$/;

function invalidHeader(type: string, field: string, value: unknown, rule: string): HeraldError {
  return new HeraldError('HERALD_INVALID_HEADER', `${type}: ${field} ${JSON.stringify(value)} ${rule}`, {
    details: { type, field },
  });
}

function checkText(type: string, field: string, value: unknown, max = 256): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !headerValuePattern.test(value)) {
    throw invalidHeader(type, field, value, `must be 1-${max} printable characters`);
  }
}

export function checkEventOptions(type: string, options: EventOptions): void {
  if (options.id !== undefined && (typeof options.id !== 'string' || !isUuid(options.id))) {
    throw invalidHeader(type, 'id', options.id, 'must be a UUID');
  }
  checkText(type, 'key', options.key, 1024);
  checkText(type, 'subject', options.subject, 1024);
  checkText(type, 'correlationId', options.correlationId);
  checkText(type, 'causationId', options.causationId);
  checkText(type, 'userId', options.userId);
  checkText(type, 'sessionId', options.sessionId);
  if (options.tags !== undefined) {
    if (!Array.isArray(options.tags) || options.tags.length > 64) {
      throw invalidHeader(type, 'tags', options.tags, 'must be a list of at most 64 tags');
    }
    for (const tag of options.tags) {
      checkText(type, 'tag', tag, 128);
      if ((tag as string).includes(',')) throw invalidHeader(type, 'tag', tag, 'must not contain a comma');
    }
  }
  checkText(type, 'tracestate', options.tracestate, 512);
  if (options.traceparent !== undefined && !traceparentPattern.test(String(options.traceparent))) {
    throw invalidHeader(type, 'traceparent', options.traceparent, 'is not a W3C traceparent');
  }
  if (options.aggregate !== undefined) {
    checkText(type, 'aggregate.type', options.aggregate.type);
    checkText(type, 'aggregate.id', options.aggregate.id, 1024);
  }
  if (options.time !== undefined && !(options.time instanceof Date && !Number.isNaN(options.time.getTime()))) {
    throw invalidHeader(type, 'time', options.time, 'must be a valid Date');
  }
  if (options.destination !== undefined) checkDestination(options.destination, `${type}: destination`);
  if (options.headers !== undefined) checkHeaders(type, options.headers);
}

export function checkHeaders(type: string, headers: unknown): asserts headers is Record<string, string> {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw invalidHeader(type, 'headers', headers, 'must be an object of string values');
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!headerNamePattern.test(name) || reservedHeader.test(name)) {
      throw invalidHeader(
        type,
        'header name',
        name,
        'must be 1-128 of A-Z a-z 0-9 . _ - and not start with ce_/ce- or be content-type',
      );
    }
    checkText(type, `header ${name}`, value, 4096);
  }
}
