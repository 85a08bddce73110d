import { API_KEY_CHALLENGE, httpAnswerFor, KeywardError, noteAuditError } from '@keyward/core';
import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/**
 * Answers Keyward errors with a fitting status and a fixed public message per code
 * (`{ error: { code, message } }`), on Express or Fastify. Secret names and paths stay in your logs.
 * API key failures (401) carry `WWW-Authenticate: ApiKey realm="keyward"`. With the audit trail
 * on, the code is noted for the request's record (`error.code`).
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
    const response = host.switchToHttp().getResponse<unknown>();
    const { status, headers, body } = httpAnswerFor(error);
    for (const [name, value] of Object.entries(headers)) httpAdapter.setHeader(response, name, value);
    if (status === 401) httpAdapter.setHeader(response, 'WWW-Authenticate', API_KEY_CHALLENGE);
    httpAdapter.reply(response, body, status);
  }
}
