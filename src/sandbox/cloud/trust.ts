/**
 * The cloud emulator's clients trust its CA the same way Mailroom's production clients trust any extra CA:
 * see src/cloud/https.ts.
 */
export { graphMiddlewareTrusting, NodeHttpsMessageHandler } from '../../cloud/https';
