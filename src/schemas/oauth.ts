import { Type } from '@sinclair/typebox';

/** RFC 6749 §5.1 token response. The schema is also the fast serializer. */
export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
});

/** RFC 6749 §5.2 error body, as every public endpoint answers a refusal (documented in the OpenAPI document). */
export const ErrorResponse = Type.Object({
  error: Type.String(),
  error_description: Type.Optional(Type.String()),
});

/** The revocation feed served to offline verifiers. */
export const RevocationFeed = Type.Object({
  tokens: Type.Array(Type.Object({ jti: Type.String(), exp: Type.Integer() })),
  clients: Type.Array(Type.Object({ client_id: Type.String(), revoked_before: Type.Integer(), exp: Type.Integer() })),
  next_cursor: Type.String(),
  snapshot: Type.Boolean(),
  has_more: Type.Boolean(),
});

export const RevocationFeedQuery = Type.Object({
  since: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
});
