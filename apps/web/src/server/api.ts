import { NextResponse, type NextRequest } from 'next/server';
import { z, ZodError, type ZodType } from 'zod';
import { can, isRole, type Permission } from '@strongbox/core';
import { ApiTokens, AppError, AuditTrail, prisma, type ErrorCode } from '@strongbox/db';
import { clientIp, currentUser, type Actor } from './auth';

/** One code → status map for every API error, so that a client branches on one shape whatever the route. */
const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export function errorResponse(code: ErrorCode, message: string, details?: unknown): NextResponse {
  return NextResponse.json({ error: { code, message, ...(details === undefined ? {} : { details }) } }, { status: STATUS[code] });
}

function fromZod(error: ZodError): NextResponse {
  const fields = error.issues.map((issue) => ({
    field: issue.path.join('.') || '(body)',
    message: issue.message,
  }));
  const message = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  // `field` as every other refusal has it (the first one), `fields` for a form showing each.
  return errorResponse('BAD_REQUEST', message, { field: fields[0]?.field ?? '(body)', fields });
}

async function authenticate(req: NextRequest): Promise<Actor | null> {
  const header = req.headers.get('authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return null;
    const row = await new ApiTokens(prisma()).authenticate(match[1]!);
    if (!row || !isRole(row.user.role)) return null;
    return {
      userId: row.user.id,
      email: row.user.email,
      name: row.user.name,
      role: row.user.role,
      via: 'token',
      tokenName: row.name,
    };
  }
  return currentUser();
}

export type RouteContext<B, P> = {
  req: NextRequest;
  actor: Actor;
  body: B;
  params: P;
  ip: string;
  audit(action: string, targetType: string, targetId: string | null, details?: object): Promise<unknown>;
};

type Params = Record<string, string>;

/**
 * Every /api/v1 route goes through here: authenticate (session cookie or Bearer token),
 * check the role, validate the body, map errors to one shape.
 */
export function apiRoute<S extends ZodType | undefined, P extends Params = Params>(
  spec: { permission: Permission; body?: S },
  handler: (ctx: RouteContext<S extends ZodType ? z.infer<S> : undefined, P>) => Promise<NextResponse | object>,
) {
  return async (req: NextRequest, context: { params: Promise<P> }): Promise<NextResponse> => {
    try {
      const actor = await authenticate(req);
      if (!actor) return errorResponse('UNAUTHORIZED', 'authentication required');
      if (!can(actor.role, spec.permission)) {
        return errorResponse('FORBIDDEN', `the ${actor.role} role may not do this`);
      }
      let body: unknown = undefined;
      if (spec.body) {
        let raw: unknown;
        try {
          raw = await req.json();
        } catch {
          return errorResponse('BAD_REQUEST', 'the body must be JSON');
        }
        body = spec.body.parse(raw);
      }
      const ip = clientIp(req.headers);
      const params = (await context.params) ?? ({} as P);
      const audit = (action: string, targetType: string, targetId: string | null, details?: object) =>
        new AuditTrail(prisma()).record({
          userId: actor.userId,
          actor: actor.via === 'token' ? `${actor.email} (token ${actor.tokenName})` : actor.email,
          action,
          targetType,
          targetId,
          ...(details ? { details: details as never } : {}),
          ip,
        });
      const result = await handler({
        req,
        actor,
        body: body as never,
        params,
        ip,
        audit,
      });
      return result instanceof NextResponse ? result : NextResponse.json(result);
    } catch (error) {
      if (error instanceof ZodError) return fromZod(error);
      if (error instanceof AppError) return errorResponse(error.code, error.message, error.details);
      console.error('[api] unhandled error', req.method, req.nextUrl.pathname, error);
      return errorResponse('INTERNAL', 'internal error; see the server log');
    }
  };
}
