// A Redis of a test's own (see extra-service.ts): fault tests stop or freeze it, never the shared one.
import { ExtraService } from './extra-service';

export class ExtraRedis extends ExtraService {
  constructor(name: string, port: number) {
    super('redis', name, { port });
  }
}
