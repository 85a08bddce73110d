import { apiKeyChallenge, httpAnswerFor, KeywardError, noteAuditError, presentedApiKey, type PresentedApiKey } from '@keyward/core';
import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/**
 * Answers Keyward errors with a fitting status and a fixed public message per code
 * (`{ error: { code, message } }`), on Express or Fastify. Secret names and paths stay in your logs.
 * API key failures (401) carry `WWW-Authenticate: ApiKey realm="keyward"`, plus a
 * `Bearer … error="invalid_token"` challenge when the key came as a bearer token: the same header
 * as Express's `requireApiKey` for the same request. With the audit trail on, the code is noted
 * for the request's record (`error.code`).
 *
 * @example
 * providers: [{ provide: APP_FILTER, useClass: KeywardExceptionFilter }]
 */
@Catch(KeywardError)
export class KeywardExceptionFilter implements ExceptionFilter<KeywardError> {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: KeywardError, host: ArgumentsHost): void {
    noteAuditError(error.code);
    const { httpAdapter } = this.adapterHost;
    const http = host.switchToHttp();
    const response = http.getResponse<unknown>();
    const { status, headers, body } = httpAnswerFor(error);
    for (const [name, value] of Object.entries(headers)) httpAdapter.setHeader(response, name, value);
    if (status === 401) httpAdapter.setHeader(response, 'WWW-Authenticate', challengeFor(http.getRequest<HttpRequest | undefined>()));
    httpAdapter.reply(response, body, status);
  }
}

interface HttpRequest {
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

/** The challenge for how the request presented its key, read as `ApiKeyGuard` read it (Express or Fastify headers). */
function challengeFor(request: HttpRequest | undefined): string {
  let presented: PresentedApiKey = { key: undefined, scheme: 'none' };
  try {
    presented = presentedApiKey(request?.headers ?? {});
  } catch {
    // A header over the length limit was refused unread: no scheme is claimed for it, as in Express.
  }
  return apiKeyChallenge(presented);
}
