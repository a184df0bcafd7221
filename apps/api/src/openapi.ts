import { z } from 'zod';
import type { Route } from './route.ts';

const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT from POST /api/v1/herald/tokens, carrying the ApplicationId',
  },
  apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
  apiSecret: { type: 'apiKey', in: 'header', name: 'x-api-secret' },
} as const;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete out['$schema'];
  return out;
}

function security(route: Route): unknown[] {
  switch (route.auth) {
    case 'public':
      return [];
    case 'key':
      return [{ apiKey: [], apiSecret: [] }];
    default:
      return [{ bearer: [], apiKey: [], apiSecret: [] }];
  }
}

/** `/a/:id/b` → `/a/{id}/b` */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The OpenAPI 3.1 document of `routes`, generated from their zod schemas. */
export function buildOpenApiDocument(routes: readonly Route[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters: unknown[] = [];
    if (route.params !== undefined) {
      const s = jsonSchema(route.params, 'input');
      for (const [name, schema] of Object.entries((s['properties'] ?? {}) as Record<string, unknown>)) {
        parameters.push({ name, in: 'path', required: true, schema });
      }
    }
    if (route.query !== undefined) {
      const s = jsonSchema(route.query, 'input');
      const required = new Set((s['required'] ?? []) as string[]);
      for (const [name, schema] of Object.entries((s['properties'] ?? {}) as Record<string, unknown>)) {
        parameters.push({
          name,
          in: 'query',
          required: required.has(name),
          schema,
          description: 'Parameter names match case-insensitively.',
        });
      }
    }
    for (const h of route.headers) {
      parameters.push({
        name: h.name,
        in: 'header',
        required: h.required ?? false,
        description: h.description,
        schema: { type: 'string' },
      });
    }
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      security: security(route),
      parameters,
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, r]) => {
          const contentType =
            r.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json');
          const content =
            r.schema === undefined
              ? { [contentType]: {} }
              : { [contentType]: { schema: jsonSchema(r.schema, 'output') } };
          return [status, { description: r.description, content }];
        }),
      ),
    };
    if (route.description !== undefined) operation['description'] = route.description;
    if (route.body !== undefined) {
      const schema = route.openapiBody ?? jsonSchema(route.body, 'input');
      const content: Record<string, unknown> = {};
      if (route.bodyKinds.includes('json')) content['application/json'] = { schema };
      if (route.bodyKinds.includes('form')) {
        content['multipart/form-data'] = { schema };
        content['application/x-www-form-urlencoded'] = { schema };
      }
      operation['requestBody'] = { required: true, content };
    }
    const path = toOpenApiPath(route.path);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Herald API',
      version: info.version,
      description:
        'Herald serves the documented notification channel configuration API wire-compatibly (paths matched case-insensitively, form-data or JSON bodies) and adds publishing, the delivery log and operator endpoints under /api/v1/herald. ' +
        'Secrets (broker passwords, webhook secrets, keys) are never returned: the RabbitMQ Password in notificationChannelConfigurationJSON is always "********". Errors are RFC 9457 problem details in the documents’ shape.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    components: { securitySchemes: SECURITY_SCHEMES },
    paths,
  };
}
