// One Socket.IO client — the web front end's own library, socket.io-client 3.1.1 — driven by a test
// over stdin/stdout, one JSON object per line.
//
// argv: <url of the namespace> <options as JSON>
//   options: {"token": "<jwt>" | null, "transports": ["polling", "websocket"] | ["websocket"]}
//   The token goes in the `token` header of the polling requests, as the front end sends it
//   (transportOptions.polling.extraHeaders); a websocket-only client sends it on the upgrade request.
// stdin:  {"emit": "<event>", "args": [...]}   |   {"close": true}
// stdout: {"event": "open", "transport": "polling"} (Engine.IO's session) | {"event": "upgrade", "transport": "websocket"}
//         {"event": "connect", "transport": "polling"} | {"event": "connect_error", "message": ..., "data": ...}
//         {"event": "server_response", "data": {...}}
//         {"event": "disconnect", "reason": "..."}
'use strict';
const { io } = require('socket.io-client');
const readline = require('readline');

const [url, rawOptions] = process.argv.slice(2);
const options = JSON.parse(rawOptions || '{}');
const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');

const settings = { reconnection: false, transports: options.transports || ['polling', 'websocket'] };
if (options.token !== null && options.token !== undefined) {
  // As the front end: on the polling requests only, so the upgraded websocket carries no token.
  settings.transportOptions = { polling: { extraHeaders: { token: options.token } } };
  if (!settings.transports.includes('polling')) settings.extraHeaders = { token: options.token };
}
const socket = io(url, settings);

socket.io.on('open', () => {
  say({ event: 'open', transport: socket.io.engine.transport.name });
  socket.io.engine.on('upgrade', (transport) => say({ event: 'upgrade', transport: transport.name }));
});
socket.on('connect', () => say({ event: 'connect', transport: socket.io.engine.transport.name }));
socket.on('connect_error', (error) => say({ event: 'connect_error', message: error.message, data: error.data === undefined ? null : error.data }));
socket.on('server_response', (data) => say({ event: 'server_response', data }));
socket.on('disconnect', (reason) => say({ event: 'disconnect', reason }));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  const command = JSON.parse(line);
  if (command.close) {
    socket.close();
    setTimeout(() => process.exit(0), 50);
  } else if (command.emit) {
    socket.emit(command.emit, ...(command.args || []));
  }
}).on('close', () => process.exit(0));
