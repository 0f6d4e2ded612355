// Builds the dashboard into dist/ui: the page's TypeScript (src/ui/web, with uPlot from
// node_modules) bundled and minified by esbuild into app.js, and the HTML, CSS and uPlot's
// stylesheet copied beside it. Runs in `npm run build` (and so at `npm ci`, via prepare).
// UI_OUT builds it elsewhere (bench/tree.sh, into a benchmark's own tree).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const out = process.env.UI_OUT || 'dist/ui';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ['src/ui/web/app.ts'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outfile: join(out, 'app.js'),
  legalComments: 'none',
  logLevel: 'warning',
});
const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
copyFileSync(join(uplot, 'dist/uPlot.min.css'), join(out, 'uPlot.min.css'));
for (const f of ['index.html', 'login.html', 'app.css']) copyFileSync(join('src/ui', f), join(out, f));
