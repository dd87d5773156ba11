import type { Command } from 'commander';
import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import { Context, fromStdinIfDash, type Io } from '../context.js';
import { CliError, HttpError, networkReason } from '../errors.js';
import { ACCESS_TOKEN_TYP } from '../../protocol/index.js';
import { send } from '../http.js';
import { details, shortEpoch } from '../table.js';

/** RFC 8414 §3: the metadata URL of an issuer, with the well-known segment inserted before any path. */
export function metadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}/.well-known/oauth-authorization-server${path}`;
}

/** `expires in Ns` / `expired Ns ago` for an exp claim. */
export function remaining(exp: number | undefined, now = Math.floor(Date.now() / 1000)): string {
  if (typeof exp !== 'number') return 'no exp claim';
  const left = exp - now;
  return left > 0 ? `expires in ${left}s` : `expired ${-left}s ago`;
}

function claimLines(claims: JWTPayload): string {
  return details(
    Object.entries(claims).map(([k, v]): [string, unknown] => {
      if ((k === 'exp' || k === 'iat' || k === 'nbf') && typeof v === 'number') return [k, `${v} (${shortEpoch(v)} UTC)`];
      if (Array.isArray(v)) return [k, v.join(' ')];
      if (v !== null && typeof v === 'object') return [k, JSON.stringify(v)];
      return [k, v];
    }),
  );
}

function headerLines(header: ProtectedHeaderParameters): string {
  return details(Object.entries(header).map(([k, v]): [string, unknown] => [k, typeof v === 'object' ? JSON.stringify(v) : v]));
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}

/** `invalid token: <why>`; with --json, `{"error": "invalid_token", …}`. */
function invalidToken(why: string): CliError {
  const err = new CliError(`invalid token: ${why}`);
  err.code = 'invalid_token';
  return err;
}

/** Why jose refused a token, as a reason a person can act on. */
function reason(errors: typeof import('jose').errors, err: unknown, jwksUri: string): string {
  if (err instanceof errors.JWTExpired) return `the token ${remaining(typeof err.payload.exp === 'number' ? err.payload.exp : undefined)}`;
  if (err instanceof errors.JWTClaimValidationFailed) return `claim ${err.claim}: ${err.message}`;
  if (err instanceof errors.JWKSNoMatchingKey) return `no key in ${jwksUri} matches the token's kid and alg`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (err instanceof errors.JOSEError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whether the issuer still considers the token active: RFC 7662 introspection with the admin token
 * (the server accepts `Authorization: Bearer <ADMIN_TOKEN>` there). `unchecked` says why not.
 */
async function introspect(endpoint: string, token: string, adminToken: string | undefined): Promise<{ active: boolean } | { unchecked: string }> {
  if (!adminToken) return { unchecked: 'no admin token (log in, or set TOKENMILL_ADMIN_TOKEN)' };
  try {
    const res = await send(endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token }).toString(),
    });
    const body = res.body as { active?: unknown } | null;
    if (typeof body?.active !== 'boolean') return { unchecked: `${endpoint} answered without "active"` };
    return { active: body.active };
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) return { unchecked: `${endpoint} does not accept this admin credential (introspection takes ADMIN_TOKEN itself)` };
    return { unchecked: err instanceof Error ? err.message : String(err) };
  }
}

export function inspectCommand(program: Command, io: Io): void {
  program
    .command('inspect')
    .description(
      "decode a token, verify it against the issuer's JWKS and ask the issuer whether it is revoked (introspection with the admin token): header, claims, remaining lifetime. --issuer (or TOKENMILL_ISSUER, or the profile's issuer) names the public URL when it differs from the admin URL",
    )
    .argument('<token>', 'an access token, or - to read it from stdin')
    .action(async (tokenArg: string, _opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const token = await fromStdinIfDash(io, tokenArg, '<token> -');
      const issuer = ctx.issuer;
      // jose loads only for this command: the others start faster without it.
      const { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } = await import('jose');
      const meta = (await send(metadataUrl(issuer), { headers: { accept: 'application/json' } })).body as Record<string, unknown> | null;
      if (!meta || typeof meta.jwks_uri !== 'string') throw new CliError(`the metadata at ${metadataUrl(issuer)} has no jwks_uri`);
      // RFC 8414 §3.3: the metadata must be about the issuer we asked for.
      if (meta.issuer !== issuer) throw new CliError(`the metadata at ${metadataUrl(issuer)} is for issuer ${JSON.stringify(meta.issuer)}, not ${issuer}`);
      const jwksUri = meta.jwks_uri;
      const algs = Array.isArray(meta.access_token_signing_alg_values_supported) ? (meta.access_token_signing_alg_values_supported as string[]) : undefined;

      let header: ProtectedHeaderParameters;
      try {
        header = decodeProtectedHeader(token);
      } catch (err) {
        throw invalidToken(`${reason(errors, err, jwksUri)}`);
      }
      const jwks = createRemoteJWKSet(new URL(jwksUri));
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(token, jwks, { issuer, typ: ACCESS_TOKEN_TYP, ...(algs ? { algorithms: algs } : {}) }));
      } catch (err) {
        if (err instanceof TypeError || err instanceof errors.JWKSTimeout) throw new CliError(`cannot reach ${jwksUri}: ${networkReason(err)}`);
        // An expired token whose signature verified: show what it was, then refuse it.
        if (err instanceof errors.JWTExpired && !ctx.json) ctx.print(`header:\n${indent(headerLines(header))}claims:\n${indent(claimLines(err.payload))}${remaining(err.payload.exp)}`);
        throw invalidToken(`${reason(errors, err, jwksUri)}`);
      }
      // A good signature is not enough: the token may have been revoked (or its client disabled).
      const endpoint = typeof meta.introspection_endpoint === 'string' ? meta.introspection_endpoint : `${issuer}/oauth2/introspect`;
      const state = await introspect(endpoint, token, ctx.adminToken);
      const expiresIn = typeof claims.exp === 'number' ? claims.exp - Math.floor(Date.now() / 1000) : null;
      const shown = `header:\n${indent(headerLines(header))}claims:\n${indent(claimLines(claims))}`;
      if ('active' in state && !state.active) {
        if (!ctx.json) ctx.print(`${shown}signature verified against ${jwksUri}; ${remaining(claims.exp)}`);
        throw invalidToken('the issuer says it is not active (revoked, or its client disabled or deleted)');
      }
      if ('unchecked' in state) {
        if (ctx.json) return ctx.printJson({ valid: null, signature_verified: true, revocation_checked: false, revocation_unchecked_reason: state.unchecked, header, claims, expires_in: expiresIn });
        ctx.print(`${shown}signature verified against ${jwksUri}; ${remaining(claims.exp)}\nrevocation not checked: ${state.unchecked}`);
        return;
      }
      if (ctx.json) return ctx.printJson({ valid: true, signature_verified: true, revocation_checked: true, header, claims, expires_in: expiresIn });
      ctx.print(`${shown}valid: signature verified against ${jwksUri}; not revoked (introspection); ${remaining(claims.exp)}`);
    });
}
