// Copies the browser builds of htmx, its WebSocket extension and Swagger UI
// (the API reference page) from node_modules into static/. Run with `npm run vendor` from the repo root.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const files = [
  ['node_modules/htmx.org/dist/htmx.min.js', 'static/js/htmx.min.js'],
  ['node_modules/htmx-ext-ws/dist/ws.min.js', 'static/js/htmx-ext-ws.js'],
  ['node_modules/swagger-ui-dist/swagger-ui-bundle.js', 'static/js/swagger-ui-bundle.js'],
  ['node_modules/swagger-ui-dist/swagger-ui.css', 'static/css/swagger-ui.css'],
];

mkdirSync(join(root, 'static/js'), { recursive: true });
for (const [from, to] of files) {
  copyFileSync(join(root, from), join(root, to));
  console.log(`${from} -> ${to}`);
}
