import { Public } from '@keyward/nestjs';
import { Controller, Get, Inject, NotFoundException } from '@nestjs/common';
import { HttpsService } from './https.service.js';

/** `GET /tls`: the served certificate's public facts (serial, notAfter, version), to see which one a client got. */
@Controller('tls')
export class TlsController {
  constructor(@Inject(HttpsService) private readonly service: HttpsService) {}

  @Public()
  @Get()
  info() {
    const https = this.service.https;
    if (https === undefined) throw new NotFoundException({ error: { code: 'NOT_CONFIGURED', message: 'This demo serves no HTTPS (Vault backend only).' } });
    return https.info();
  }
}
