import type { Role } from './auth.ts';
import { fieldSchema } from './input.ts';
import type { Route } from './route.ts';

const error = {
  type: 'object',
  properties: { error: { type: 'string' }, field: { type: 'string' } },
  required: ['error'],
};
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** The OpenAPI 3.1 document of the admin API, made from the routes that serve it: it cannot drift. */
export function openApiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters = [
      ...Object.entries(r.params ?? {}).map(([name, description]) => ({
        name,
        in: 'path',
        required: true,
        description,
        schema: { type: 'string' },
      })),
      ...Object.entries(r.query ?? {}).map(([name, field]) => ({
        name,
        in: 'query',
        required: field.required === true,
        ...(field.kind === 'strings' ? { style: 'form', explode: true } : {}),
        schema: fieldSchema(field, true),
      })),
    ];
    const bodyFields = Object.entries(r.body ?? {});
    const operation: Record<string, unknown> = {
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[{}]/g, '').replace(/(?:^|[/-])([a-z])/g, (_m, c: string) => c.toUpperCase())}`,
      summary: r.summary,
      description: `Role: ${roleText[r.role]}.`,
      security: [{ bearer: [] }, { basic: [] }],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: bodyFields.some(([, f]) => f.required),
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    additionalProperties: false,
                    properties: Object.fromEntries(bodyFields.map(([name, f]) => [name, fieldSchema(f, false)])),
                    required: bodyFields.filter(([, f]) => f.required).map(([name]) => name),
                  },
                },
              },
            },
          }
        : {}),
      responses: {
        [r.path === '/api/replays' && r.method === 'POST' ? '202' : '200']: {
          description: r.returns,
          content: { 'application/json': { schema: { type: 'object' } } },
        },
        '400': errorResponse('Bad input: the reason, and the field when one is at fault'),
        '401': errorResponse('No credentials, or not valid ones'),
        ...(r.role === 'admin' ? { '403': errorResponse('A read-only caller') } : {}),
        ...(r.params ? { '404': errorResponse('Nothing with that id') } : {}),
      },
    };
    paths[r.path] ??= {};
    (paths[r.path] as Record<string, unknown>)[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Herald admin API',
      version,
      description:
        'Status, dead letters, replays and event lookup of one Herald schema. Bearer tokens of the admin role (HERALD_ADMIN_TOKEN) may do everything; of the read role (HERALD_READ_TOKEN) only GET. Times are ISO 8601, ages seconds.',
    },
    servers: [{ url: '.' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } },
      schemas: { Error: error },
    },
    paths,
  };
}

const roleText: Record<Role, string> = { read: 'read (read-only and admin tokens)', admin: 'admin' };
