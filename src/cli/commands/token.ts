import { Option, type Command } from 'commander';
import { basicCredentials } from '../../protocol/index.js';
import { clientAssertion, readPrivateJwk } from '../assertion.js';
import { Context, type Io } from '../context.js';
import { UsageError } from '../errors.js';
import { send } from '../http.js';
import { collect } from '../parse.js';

interface TokenOptions {
  clientId: string;
  clientSecret?: string;
  scope?: string;
  resource?: string[];
  auth: 'basic' | 'post';
  key?: string;
  alg?: string;
}

export function tokenCommand(program: Command, io: Io): void {
  program
    .command('token')
    .description('get an access token for a client (client-credentials grant), for testing')
    .requiredOption('--client-id <client_id>', 'the client')
    .option('--client-secret <secret>', 'its secret, or - to read it from stdin (or set TOKENMILL_CLIENT_SECRET); either keeps it out of `ps`')
    .option('--scope <scopes>', 'scopes to ask for, space-separated (default: the client default)')
    .option('--resource <url>', 'audience to ask for (RFC 8707), repeatable', collect)
    .addOption(new Option('--auth <method>', 'how to send the credentials: basic (client_secret_basic) or post (client_secret_post)').choices(['basic', 'post']).default('basic'))
    .option('--key <file>', "private_key_jwt: the client's private key (a JWK, JSON); signs an RFC 7523 assertion (iss = sub = client_id, aud = the issuer, 60 s)")
    .addOption(
      new Option('--alg <alg>', "the assertion's algorithm, with --key (default: the JWK's alg, else from its key type)").choices([
        'ES256',
        'ES384',
        'ES512',
        'RS256',
        'RS384',
        'RS512',
        'PS256',
        'PS384',
        'PS512',
        'EdDSA',
      ]),
    )
    .action(async (opts: TokenOptions, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const form = new URLSearchParams({ grant_type: 'client_credentials' });
      if (opts.scope !== undefined) form.set('scope', opts.scope);
      for (const r of opts.resource ?? []) form.append('resource', r);
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
      const secret = opts.key === undefined ? (opts.clientSecret ?? (io.env.TOKENMILL_CLIENT_SECRET || undefined)) : undefined;
      if (opts.key !== undefined) {
        if (opts.clientSecret !== undefined) throw new UsageError('pass either --key (private_key_jwt) or --client-secret, not both');
        if (cmd.getOptionValueSource('auth') === 'cli') throw new UsageError('--auth is for secrets: --key always sends a client assertion (private_key_jwt)');
        const key = readPrivateJwk(opts.key);
        form.set('client_id', opts.clientId);
        form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
        form.set('client_assertion', await clientAssertion(key, opts.clientId, ctx.issuer, opts.alg));
      } else if (!secret) {
        throw new UsageError('pass --client-secret (or set TOKENMILL_CLIENT_SECRET), or --key for private_key_jwt');
      } else if (opts.auth === 'post') {
        form.set('client_id', opts.clientId);
        form.set('client_secret', secret);
      } else {
        headers.authorization = basicCredentials(opts.clientId, secret);
      }
      const res = await send(`${ctx.issuer}/oauth2/token`, { method: 'POST', headers, body: form.toString() });
      const body = res.body as { access_token?: unknown } | null;
      if (ctx.json) return ctx.printJson(body);
      if (typeof body?.access_token !== 'string') throw new Error('the token response has no access_token');
      ctx.print(body.access_token);
    });
}
