// Preloaded into the Agents Playground (node -r): its server calls listen(port) without a host, which would
// bind every interface. This rewrites such calls to 127.0.0.1 so the sandbox never listens beyond loopback.
'use strict';
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackListen(...args) {
  const first = args[0];
  const isPort = typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first));
  if (isPort) {
    if (typeof args[1] === 'function' || args[1] === undefined) args.splice(1, 0, '127.0.0.1');
    else if (args[1] === null || args[1] === '0.0.0.0' || args[1] === '::') args[1] = '127.0.0.1';
  } else if (first && typeof first === 'object' && 'port' in first && !first.path) {
    args[0] = { ...first, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
