import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ClientRegistryError } from '../../../oidc/errors.js';
import type { ClientInput, ClientView } from '../../../oidc/clients/client-registry.js';
import { cliActor, configFrom, printJsonOr, withService } from '../cli-support.js';
import { withReadOnlyStores } from '../read-only.js';

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(/[\s,]+/).filter(Boolean)];

function describeClient(c: ClientView): string {
  const m = c.metadata;
  return [
    `${c.clientId}  ${c.name}${c.firstParty ? '  (first party)' : ''}`,
    `  auth method     ${String(m.token_endpoint_auth_method)}`,
    `  grant types     ${(m.grant_types as string[]).join(' ')}`,
    `  scopes          ${[m.scope, m.api_scopes].filter(Boolean).join(' ')}`,
    `  redirect URIs   ${((m.redirect_uris as string[]) ?? []).join(' ') || '-'}`,
    `  logout URIs     ${((m.post_logout_redirect_uris as string[]) ?? []).join(' ') || '-'}`,
    ...(m.backchannel_logout_uri ? [`  back-channel    ${String(m.backchannel_logout_uri)}`] : []),
    ...(m.jwks_uri ? [`  jwks_uri        ${String(m.jwks_uri)}`] : []),
    ...(m.jwks ? [`  jwks            ${(m.jwks as { keys: unknown[] }).keys.length} key(s) inline`] : []),
    ...(m.require_pushed_authorization_requests ? ['  PAR             required (RFC 9126)'] : []),
    ...(m.acr_values_essential ? ['  acr_values      essential (docs/identity.md)'] : []),
  ].join('\n');
}

/** The JWK Set of --jwks: the registry checks its shape; here only that the file is JSON. */
function readJwks(file: string): ClientInput['jwks'] {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClientInput['jwks'];
  } catch (err) {
    throw new ClientRegistryError('invalid-metadata', `jwks: ${file} is not a readable JSON file (${(err as Error).message})`);
  }
}

export function registerClient(program: Command): void {
  const client = program.command('client').description('the registry of relying parties (portals, services)');

  client
    .command('add')
    .description('register a client; prints its secret ONCE')
    .requiredOption('--id <clientId>', 'client id (3–64 of A–Z a–z 0–9 . _ -)')
    .requiredOption('--name <name>', 'display name shown on the login and consent pages')
    .option('--description <text>', 'free text for administrators')
    .option('--redirect-uri <uri>', 'exact redirect URI (repeatable)', collect)
    .option('--post-logout-uri <uri>', 'exact post-logout redirect URI (repeatable)', collect)
    .option('--backchannel-logout-uri <uri>', 'back-channel logout endpoint')
    .option('--grant <type>', 'authorization_code, refresh_token, client_credentials (repeatable)', collect)
    .option('--auth-method <method>', 'client_secret_basic | client_secret_post | private_key_jwt | none', 'client_secret_basic')
    .option('--scope <scope>', 'allowed scope, OIDC or API (repeatable or space-separated)', collect)
    .option('--jwks-uri <uri>', 'the client\'s JWKS for private_key_jwt')
    .option('--jwks <file>', 'a JSON file with the client\'s JWK Set (instead of --jwks-uri)')
    .option('--require-par', 'authorization requests only through PAR (require_pushed_authorization_requests)')
    .option('--acr-values-essential', 'treat the client\'s acr_values as essential (step-up or unmet_authentication_requirements)')
    .option('--first-party', 'a portal of the province itself: skips the consent page')
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, unknown>, command: Command) => {
      const input: ClientInput = {
        clientId: String(opts.id),
        name: String(opts.name),
        description: opts.description as string | undefined,
        redirectUris: opts.redirectUri as string[] | undefined,
        postLogoutRedirectUris: opts.postLogoutUri as string[] | undefined,
        backchannelLogoutUri: opts.backchannelLogoutUri as string | undefined,
        grantTypes: opts.grant as ClientInput['grantTypes'],
        authMethod: opts.authMethod as ClientInput['authMethod'],
        scopes: opts.scope as string[] | undefined,
        jwksUri: opts.jwksUri as string | undefined,
        jwks: opts.jwks ? readJwks(String(opts.jwks)) : undefined,
        requirePushedAuthorizationRequests: !!opts.requirePar,
        acrValuesEssential: !!opts.acrValuesEssential,
        firstParty: !!opts.firstParty,
      };
      const result = await withService(await configFrom(command), 'client add', (s) => s.clients.add(cliActor(), input));
      printJsonOr(!!opts.json, result, () =>
        [describeClient(result.client), result.secret ? `\n  client secret   ${result.secret}\n  (shown once: store it now; \`tinnhiem client rotate-secret\` makes a new one)` : ''].join('\n'),
      );
    });

  client
    .command('list')
    .description('list registered clients')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const clients = await withReadOnlyStores(await configFrom(command), 'client list', (s) => s.clients.list());
      printJsonOr(!!opts.json, clients, () => clients.map((c) => `${c.clientId.padEnd(28)} ${c.name}`).join('\n') || 'no clients');
    });

  client
    .command('show <clientId>')
    .description('show one client (never its secret)')
    .option('--json', 'machine-readable output')
    .action(async (clientId: string, opts: { json?: boolean }, command: Command) => {
      const c = await withReadOnlyStores(await configFrom(command), 'client show', (s) => s.clients.show(clientId));
      printJsonOr(!!opts.json, c, () => describeClient(c));
    });

  client
    .command('remove <clientId>')
    .description('remove a client: its tokens stop working at their next use')
    .option('--json', 'machine-readable output')
    .action(async (clientId: string, opts: { json?: boolean }, command: Command) => {
      await withService(await configFrom(command), 'client remove', (s) => s.clients.remove(cliActor(), clientId));
      printJsonOr(!!opts.json, { removed: clientId }, () => `removed ${clientId}`);
    });

  client
    .command('rotate-secret <clientId>')
    .description('replace a client\'s secret; prints the new one ONCE (the old one stops working at once)')
    .option('--json', 'machine-readable output')
    .action(async (clientId: string, opts: { json?: boolean }, command: Command) => {
      const secret = await withService(await configFrom(command), 'client rotate-secret', (s) => s.clients.rotateSecret(cliActor(), clientId));
      printJsonOr(!!opts.json, { clientId, secret }, () => `new secret for ${clientId}: ${secret}\n(shown once: store it now)`);
    });
}
