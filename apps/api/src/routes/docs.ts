import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { notFound } from '../api-error.ts';
import { buildOpenApiDocument } from '../openapi.ts';
import { defineRoute, type Route } from '../route.ts';

const TAG = 'Operations';
const VERSION = '0.1.0';

/** swagger-ui-dist files the page needs, served by the API itself (works offline). */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Herald API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/herald-initializer.js"></script>
</body>
</html>
`;

let assetDir: string | undefined;
const cache = new Map<string, Buffer>();

function readAsset(name: string): Buffer {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  assetDir ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const data = readFileSync(join(assetDir, name));
  cache.set(name, data);
  return data;
}

/** /openapi.json, /docs and the docs page's assets. `allRoutes` is read lazily (it includes these). */
export function createDocsRoutes(allRoutes: () => readonly Route[]): Route[] {
  let doc: string | undefined;
  return [
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This OpenAPI 3.1 document',
      tag: TAG,
      auth: 'public',
      responses: { 200: { description: 'OpenAPI 3.1', schema: z.record(z.string(), z.unknown()) } },
      handler({ c }) {
        doc ??= JSON.stringify(buildOpenApiDocument(allRoutes(), { version: VERSION }));
        return c.body(doc, 200, { 'content-type': 'application/json; charset=utf-8' });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/docs',
      operationId: 'docsPage',
      summary: 'Interactive API documentation (works offline)',
      tag: TAG,
      auth: 'public',
      responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
      handler: ({ c }) => c.html(PAGE),
    }),
    defineRoute({
      method: 'GET',
      path: '/docs/:asset',
      operationId: 'docsAsset',
      summary: 'Assets of the docs page',
      tag: TAG,
      auth: 'public',
      params: z.object({ asset: z.string() }),
      responses: { 200: { description: 'A static asset' }, 404: { description: 'Unknown asset' } },
      handler({ c, params }) {
        if (params.asset === 'herald-initializer.js') {
          return c.body(INITIALIZER, 200, { 'content-type': 'text/javascript; charset=utf-8' });
        }
        const type = ASSETS[params.asset];
        if (type === undefined) throw notFound('asset');
        return c.body(new Uint8Array(readAsset(params.asset)), 200, {
          'content-type': type,
          'cache-control': 'public, max-age=86400',
        });
      },
    }),
  ];
}
