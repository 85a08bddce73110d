// API reports of the published packages: `pnpm api:update` writes packages/<name>/api/*.api.md
// from the built ESM declarations (run `pnpm build` first); `pnpm api:check` fails when a
// report differs from the committed one, so a change of public API is always a reviewed diff.
import { CompilerState, Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { publishedPackages } from './pack-packages.mjs';

const root = join(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const tempRoot = join(tmpdir(), `keyward-api-report-${process.pid}`);

/**
 * Every entry point the published packages export (`.` and subpaths such as
 * `@keyward/nestjs/terminus`), read from their `exports`, with the ESM declarations it resolves to.
 */
function entryPoints() {
  return publishedPackages().flatMap(({ folder, manifest }) =>
    Object.entries(manifest.exports)
      .filter(([subpath]) => subpath !== './package.json')
      .map(([subpath, conditions]) => {
        const short = manifest.name.replace('@keyward/', '');
        const sub = subpath === '.' ? '' : subpath.slice(2);
        return {
          folder,
          manifest: join(folder, 'package.json'),
          label: sub ? `${manifest.name}/${sub}` : manifest.name,
          dts: join(folder, conditions.import.types),
          report: sub ? `${short}-${sub}` : short,
        };
      }),
  );
}

/** One entry point's configuration: a report only (no .d.ts rollup, no doc model, no TSDoc metadata). */
function configFor(entry) {
  return ExtractorConfig.prepare({
    packageJsonFullPath: entry.manifest,
    configObjectFullPath: undefined,
    configObject: {
      projectFolder: entry.folder,
      mainEntryPointFilePath: entry.dts,
      compiler: {
        overrideTsconfig: {
          compilerOptions: { target: 'es2023', lib: ['es2023'], module: 'nodenext', moduleResolution: 'nodenext', types: ['node'], strict: true, skipLibCheck: true },
          files: [entry.dts],
        },
      },
      apiReport: {
        enabled: true,
        reportFileName: entry.report,
        reportFolder: join(entry.folder, 'api'),
        reportTempFolder: join(tempRoot, entry.report),
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'error' } },
        // What is left on is worth stopping for: every message is an error.
        extractorMessageReporting: {
          default: { logLevel: 'error' },
          // Release tags (@public, @beta) are not how we mark stability: a package's API is all public.
          'ae-missing-release-tag': { logLevel: 'none' },
          // Members (an option's fields, a class's properties) are read from their types; the
          // report marks them "(undocumented)" so that a reviewer sees them anyway.
          'ae-undocumented': { logLevel: 'none' },
          // A type the API uses but the package does not export: the reader could not name it.
          'ae-forgotten-export': { logLevel: 'error', addToApiReportFile: false },
        },
        // Our comments are prose (`{ a: 1 }`, `=>`), not TSDoc markup.
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
  });
}

const entries = entryPoints();
const missing = entries.filter((e) => !existsSync(e.dts));
if (missing.length > 0) {
  console.error(`api-report: no declarations for ${missing.map((e) => `${e.label} (${relative(root, e.dts)})`).join(', ')}; run \`pnpm build\` first`);
  process.exit(1);
}

const configs = entries.map(configFor);
// One TypeScript program for every entry point: the packages' declarations import each other.
const compilerState = CompilerState.create(configs[0], { additionalEntryPoints: entries.map((e) => e.dts) });
const failures = [];
for (const [i, entry] of entries.entries()) {
  const reportPath = join(entry.folder, 'api', `${entry.report}.api.md`);
  if (!check) mkdirSync(join(entry.folder, 'api'), { recursive: true });
  const messages = [];
  let diff = '';
  const result = Extractor.invoke(configs[i], {
    localBuild: !check,
    compilerState,
    printApiReportDiff: check,
    messageCallback(message) {
      message.handled = true;
      if (message.messageId === 'console-api-report-diff') diff = message.text;
      else if (message.logLevel === ExtractorLogLevel.Error || (message.logLevel === ExtractorLogLevel.Warning && !message.messageId.startsWith('console-'))) {
        messages.push(`  ${message.formatMessageWithLocation(root)}`);
      }
    },
  });
  if (messages.length > 0) {
    console.error(`${entry.label}:\n${messages.join('\n')}`);
    failures.push(`${entry.label}: ${messages.length} problem(s) in its declarations`);
  }
  if (result.apiReportChanged && check) {
    console.error(`${entry.label}: the public API differs from ${relative(root, reportPath)}${existsSync(reportPath) ? `:\n${diff}` : ' (no report committed)'}`);
    failures.push(`${entry.label}: ${relative(root, reportPath)} is out of date`);
  } else if (result.apiReportChanged) {
    console.log(`${entry.label}: updated ${relative(root, reportPath)}`);
  }
}
rmSync(tempRoot, { recursive: true, force: true });

if (failures.length > 0) {
  console.error(`\napi-report failed:\n  ${failures.join('\n  ')}`);
  if (check) console.error('If the API change is intended, run `pnpm build && pnpm api:update` and commit the reports.');
  process.exit(1);
}
console.log(`api-report: ${entries.length} entry points ${check ? 'match their reports' : 'reported'}`);
