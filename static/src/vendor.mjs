// Copies the browser builds of htmx and its WebSocket extension from
// node_modules into static/js. Run with `npm run vendor` from the repo root.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const files = [
  ['node_modules/htmx.org/dist/htmx.min.js', 'static/js/htmx.min.js'],
  ['node_modules/htmx-ext-ws/dist/ws.min.js', 'static/js/htmx-ext-ws.js'],
];

mkdirSync(join(root, 'static/js'), { recursive: true });
for (const [from, to] of files) {
  copyFileSync(join(root, from), join(root, to));
  console.log(`${from} -> ${to}`);
}
