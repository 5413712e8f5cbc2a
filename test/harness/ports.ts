import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * The first port the kernel hands out for outgoing connections (Linux: net.ipv4.ip_local_port_range). A port for
 * a server the tests start later is taken below it: one inside that range can be given to some connection between
 * the check and the server's listen.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 1024) return low;
  } catch {
    // not Linux: the IANA dynamic range
  }
  return 49152;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `count` neighbouring ports free on 127.0.0.1, below the ephemeral range; returns the first. */
export async function freePorts(count = 1): Promise<number> {
  const high = Math.max(ephemeralLow(), 12000) - count;
  const low = Math.min(10000, high - 1000);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} free neighbouring ports found between ${low} and ${high + count}`);
}
