import { z } from 'zod';
import { OpenAPIRegistry, OpenApiGeneratorV31, extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';

extendZodWithOpenApi(z);

/**
 * The API's OpenAPI 3.1 document, generated from the same zod schemas the routers validate with,
 * so the two cannot drift. Routers register their operations at module load.
 */
export const openApi = new OpenAPIRegistry();

openApi.registerComponent('securitySchemes', 'bearer', {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT (RFC 9068) from this provider, audience <PUBLIC_URL>/api',
  description:
    'An access token of this provider for the API. A token bound to a key (DPoP, RFC 9449: it carries cnf.jkt) is sent as `Authorization: DPoP <token>` with a `DPoP` proof header instead; sent as Bearer it is refused. A revoked token (revocation endpoint, its grant or refresh token revoked, its client removed, its account disabled) is refused on every node within 2 s.',
});

export const ProblemSchema = openApi.register(
  'Problem',
  z
    .object({
      type: z.string().meta({ example: 'urn:tinnhiem:problem:bad-csr' }),
      title: z.string(),
      status: z.number().int(),
      detail: z.string().optional(),
      instance: z.string().optional(),
      requestId: z.string().optional(),
    })
    .passthrough()
    .meta({ description: 'RFC 7807 problem details' }),
);

export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [String(s), { description: `problem (${s})`, content: { 'application/problem+json': { schema: ProblemSchema } } }]),
  );

let cached: object | null = null;

export function openApiDocument(serverUrl: string): object {
  cached ??= new OpenApiGeneratorV31(openApi.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'tinnhiem API',
      version: '1',
      description: 'Certificate registry, certificate requests and revocation, audit log. Authenticate with an access token of this provider for the API resource (client credentials or a login with resource=<PUBLIC_URL>/api). Any endpoint may answer 503 problem+json (type urn:tinnhiem:problem:unavailable) with Retry-After while the database restarts or fails over: retry then.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
  });
  return cached;
}
